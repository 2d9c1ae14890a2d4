"""`huiying run`: children start, cases appear within a minute, Ctrl-C stops everything."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import free_port, wait_until


def test_run_serves_the_demo_and_stops_cleanly(embedded_env, tmp_path):
    port = free_port()
    env = {**embedded_env, "HUIYING_WEB_PORT": str(port)}
    with open(tmp_path / "run.log", "w+b") as log:  # read back while and after the process runs
        process = subprocess.Popen([sys.executable, "-m", "huiying", "run"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        database = Path(embedded_env["HUIYING_DATA_DIR"]) / "huiying.sqlite3"

        def cases() -> int:
            if process.poll() is not None:
                raise AssertionError(_read(log))
            try:
                with create_engine(f"sqlite:///{database}").connect() as db:
                    return db.execute(text('SELECT count(*) FROM "case"')).scalar()
            except Exception:
                return 0

        try:
            wait_until(lambda: cases() > 100, timeout=90, message="no cases after 90 s")
            # The dashboard announces itself once it answers; under load that may come later.
            wait_until(lambda: f"open http://127.0.0.1:{port}/" in _read(log), timeout=90,
                       message="the dashboard address was never printed")
            output = _read(log)
            assert "admin" in output

            # One worker per queue (docs/operations.md, "Workers and queues").
            commands = {f"worker --queues {queue} --concurrency {n}" for queue, n in
                        (("analysis", 2), ("crawl", 1), ("mail", 1))}
            missing = [command for command in commands if not _child_pid(process.pid, command)]
            assert not missing, (missing, _children(process.pid), _read(log))
            # A child that dies is started again.
            analysis = "worker --queues analysis --concurrency 2"
            worker = _child_pid(process.pid, analysis)
            os.kill(worker, signal.SIGKILL)
            wait_until(lambda: "worker-analysis exited with -9; restarting it" in _read(log), timeout=30,
                       message="the killed worker was not restarted")
            wait_until(lambda: _child_pid(process.pid, analysis) not in (None, worker), timeout=30,
                       message="no new worker process")
        finally:
            # Ctrl-C in a terminal signals the whole process group.
            before_stop = len(_read(log))
            os.killpg(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
        output = _read(log)
        assert code == 0, output
        assert "Huiying stopped." in output
        assert "restarting" not in output[before_stop:]  # stopping on Ctrl-C is no crash
        # Nothing is left behind listening on the dashboard port.
        assert subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"],
                              capture_output=True).returncode != 0


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")


def _children(parent: int) -> str:
    return subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(parent)],
                          capture_output=True, text=True).stdout


def _child_pid(parent: int, command: str) -> int | None:
    for line in _children(parent).splitlines():
        pid, args = line.strip().split(" ", 1)
        if args.endswith(f"-m huiying {command}"):
            return int(pid)
    return None
