"""The one scheduler (`huiying scheduler`, celery beat) beats a heartbeat from its loop; /readyz
is ready while it runs and says it stopped once the beats are older than STALE_AFTER."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

from huiying.db import session_scope
from huiying.heartbeat import SCHEDULER, STALE_AFTER, last_beat
from huiying.models import utcnow


def test_a_running_scheduler_keeps_the_installation_ready(migrated_env, tmp_path, monkeypatch):
    for name, value in migrated_env.items():
        if name.startswith("HUIYING_"):
            monkeypatch.setenv(name, value)
    url = f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}"
    from dashboard import create_app

    client = create_app({"TESTING": True}).test_client()
    assert client.get("/readyz").json["scheduler"] == "never started"
    with open(tmp_path / "scheduler.log", "wb") as log:
        scheduler = subprocess.Popen([sys.executable, "-m", "huiying", "scheduler"], env=migrated_env,
                                     stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                with session_scope(url) as session:
                    heartbeat = last_beat(session, SCHEDULER)
                    if heartbeat is not None:
                        break
                assert scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
                assert time.monotonic() < deadline, "the scheduler beat no heartbeat in 60 s"
                time.sleep(0.5)
            assert utcnow() - heartbeat.at < timedelta(seconds=60)
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.json
        finally:
            scheduler.terminate()
            scheduler.wait(timeout=30)
    # Stopped: once its last beat is older than STALE_AFTER, /readyz says so.
    with session_scope(url) as session:
        last_beat(session, SCHEDULER).at = utcnow() - STALE_AFTER - timedelta(seconds=1)
    stopped = client.get("/readyz")
    assert stopped.status_code == 503 and stopped.json["scheduler"] == "stopped"
