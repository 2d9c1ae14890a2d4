"""Comments per second and CPU per comment when PROCESSES processes run
`huiying.cases.process_comments` side by side on PostgreSQL (batches of 100, dealt out in
turn), no worker and no broker: the CPU of the processes and of their PostgreSQL backends
(read from /proc, so run it as root or as the postgres user, on the database's machine).

    .venv/bin/python research/processing_processes.py [COMMENTS] [PROCESSES] [DATABASE_URL]

The database (default huiying_research_processing on 127.0.0.1) is dropped and made again and
filled with the pipeline bench's texts. To compare two trees, run it from each with
PYTHONPATH set to that tree (the script's folder comes first on sys.path, not the checkout).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/huiying_research_processing"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _work(url: str, batches: list[list[int]], ready, results) -> None:
    from sqlalchemy import text

    from analysis import analyse_many
    from analysis.hotwords import terms
    from huiying.cases import process_comments
    from huiying.db import dispose_all, engine_for, session_scope

    dispose_all()  # no connection of the parent's crosses the fork
    analyse_many(["学校"])  # models and the jieba dictionary loaded before timing
    terms("学校")
    with engine_for(url).connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    ready.wait()
    cpu, backend_cpu = time.process_time(), _cpu_seconds(backend)
    for batch in batches:
        with session_scope(url) as session:
            process_comments(session, batch)
    # The pool keeps the one connection, so the backend measured is the one that did the work.
    results.put((time.process_time() - cpu, _cpu_seconds(backend) - backend_cpu,
                 sum(map(len, batches))))


def main(count: int, processes: int, url: str) -> None:
    os.environ.update(HUIYING_DATABASE_URL=url, HUIYING_DATA_DIR=tempfile.mkdtemp(),
                      HUIYING_ADMIN_PASSWORD="research-admin-password")  # noqa: S106 - a throwaway database
    from huiying.bench_pipeline import _recreate, _texts

    _recreate(url)
    subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], check=True, capture_output=True)
    from huiying.cases import unprocessed_ids
    from huiying.db import dispose_all, session_scope
    from huiying.models import Source
    from huiying.store import CommentData, upsert_comments

    with session_scope(url) as session:
        source = Source(name="research-board", title="研究留言板", kind="board")
        session.add(source)
        session.flush()
        upsert_comments(session, source.id, [CommentData(external_id=str(n), title=title, body=body)
                                             for n, (title, body) in enumerate(_texts(count))])
    with session_scope(url) as session:
        ids = unprocessed_ids(session, limit=count)
    dispose_all()
    batches = [ids[first:first + 100] for first in range(0, len(ids), 100)]
    ready = multiprocessing.Barrier(processes + 1)
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_work, args=(url, batches[k::processes], ready, results))
               for k in range(processes)]
    for worker in workers:
        worker.start()
    ready.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    done = [results.get() for _ in workers]
    comments = sum(n for _, _, n in done)
    print(f"{processes} process(es): {comments / wall:.1f} comments/s; CPU per comment: "
          f"{sum(c for c, _, _ in done) / comments * 1000:.2f} ms in the processes, "
          f"{sum(b for _, b, _ in done) / comments * 1000:.2f} ms in their PostgreSQL backends")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6000, int(sys.argv[2]) if len(sys.argv) > 2 else 1,
         sys.argv[3] if len(sys.argv) > 3 else URL)
