"""Where one process's time goes when it processes comments: `huiying.cases.process_comments`
on PostgreSQL, in batches of 100, the pipeline bench's texts (huiying/bench_pipeline.py), no
worker and no broker — the CPU per comment of this process, the statements and their time, and
the analysis and hot-word segmentation alone on the same texts.

    .venv/bin/python research/processing_cost.py [COMMENTS] [DATABASE_URL]

The database (default huiying_research_processing on 127.0.0.1) is dropped and made again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/huiying_research_processing"


def main(count: int, url: str) -> None:
    os.environ.update(HUIYING_DATABASE_URL=url, HUIYING_DATA_DIR=tempfile.mkdtemp(),
                      HUIYING_ADMIN_PASSWORD="research-admin-password")  # noqa: S106 - a throwaway database
    from huiying.bench_pipeline import _recreate, _texts

    _recreate(url)
    subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], check=True, capture_output=True)
    from sqlalchemy import event

    from analysis import analyse_many
    from analysis.hotwords import terms
    from huiying.cases import process_comments, unprocessed_ids
    from huiying.db import engine_for, session_scope
    from huiying.models import Source
    from huiying.store import CommentData, upsert_comments

    texts = _texts(count)
    with session_scope(url) as session:
        source = Source(name="research-board", title="研究留言板", kind="board")
        session.add(source)
        session.flush()
        upsert_comments(session, source.id, [CommentData(external_id=str(n), title=title, body=body)
                                             for n, (title, body) in enumerate(texts)])
    with session_scope(url) as session:
        ids = unprocessed_ids(session, limit=count)
    analyse_many(["学校"])  # models and the jieba dictionary loaded before timing
    terms("学校")

    seconds: Counter[str] = Counter()
    calls: Counter[str] = Counter()

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        kind = " ".join(statement.split()[:3])[:60]
        seconds[kind] += time.perf_counter() - conn.info["started"]
        calls[kind] += 1

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    wall, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(ids), 100):
        with session_scope(url) as session:
            process_comments(session, ids[first:first + 100])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"process_comments: {count / wall:.1f} comments/s, {cpu / count * 1000:.2f} ms CPU per comment "
          f"in this process, {sum(calls.values())} statements "
          f"({sum(seconds.values()):.1f} s of {wall:.1f} s)")
    for kind, spent in seconds.most_common(8):
        print(f"  {spent:6.2f} s {calls[kind]:5d}× {kind}")

    results = analyse_many(texts)
    start = time.perf_counter()
    analyse_many(texts)
    analysed = time.perf_counter() - start
    relevant = [r.text_norm for r in results if r.relevant]
    start = time.perf_counter()
    for text in relevant:
        terms(text)
    segmented = time.perf_counter() - start
    print(f"analyse_many alone: {count / analysed:.0f} texts/s; hot-word segmentation (jieba) of the "
          f"{len(relevant)} relevant: {len(relevant) / segmented:.0f} texts/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, sys.argv[2] if len(sys.argv) > 2 else URL)
