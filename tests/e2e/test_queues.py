"""Real workers on PostgreSQL + Redis, one per queue: a long crawl holds no slot analysis needs."""

import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import clean_env, empty_database, huiying, serve_in_thread, wait_until, write_demo_source
from tests.core.test_import import HEADER, ROWS, write_csv
from tests.e2e.test_production import start, stop

pytestmark = pytest.mark.integration
TICK = re.compile(r"Task worker\.tasks\.crawl_due_sources\[[^\]]+\] succeeded in [\d.]+s: (.*)")


@pytest.fixture
def slow_site():
    """A board that answers nothing until released: a crawl that takes as long as we like."""
    release, asked = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.set()
            release.wait(120)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_address[1]}", release, asked
    release.set()
    server.shutdown()
    server.server_close()  # the listening socket, and the handler threads' sockets once done


def send(env, task):
    code = ("from huiying import settings; from huiying.queue import producer; "
            f"producer(settings.load()).send_task({task!r})")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_analysis_goes_on_while_a_crawl_holds_the_crawl_worker(tmp_path, pg_url, redis_url, slow_site):
    url, release, asked = slow_site
    write_demo_source(tmp_path / "sources", url)
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_url,
                    HUIYING_BROKER_URL=redis_url, HUIYING_SOURCES_DIR=str(tmp_path / "sources"),
                    HUIYING_ADMIN_PASSWORD="admin-password-1", HUIYING_SECRET_KEY="x" * 32,
                    HUIYING_CRAWL_TIMEOUT="100")
    huiying("db", "upgrade", env=env)
    subprocess.run([sys.executable, "-c", "from huiying import settings; from huiying.cli.runner "
                    "import sync_sources; sync_sources(settings.load())"], env=env, check=True)
    engine = create_engine(pg_url)

    def value(sql):
        with engine.connect() as db:
            return db.execute(text(sql)).scalar()

    logs = {queue: tmp_path / f"worker-{queue}.log" for queue in ("analysis", "crawl", "mail")}
    workers = []
    try:
        for queue, path in logs.items():
            with open(path, "wb") as log:
                workers.append(start(env, "worker", "--queues", queue, "--concurrency", "1", log=log))
        # The scheduler's tick (on the analysis queue) claims the demo source, then queues its crawl.
        send(env, "worker.tasks.crawl_due_sources")
        assert asked.wait(90), "the crawl worker did not start the crawl"
        assert value("SELECT crawl_started_at IS NOT NULL FROM source WHERE name = 'demo'")

        # The crawl hangs; an import's comments are analysed all the same, by the analysis worker.
        imported = huiying("import", str(write_csv(tmp_path / "h.csv", HEADER, ROWS)), env=env).stdout
        assert "2 new" in imported
        wait_until(lambda: value("SELECT count(*) FROM comment WHERE processed_at IS NULL") == 0,
                   timeout=90, message="analysis waited for the crawl")
        assert not release.is_set() and value("SELECT count(*) FROM \"case\"") >= 1

        # The source is being crawled: neither a second tick nor `huiying crawl` starts it again.
        manual = huiying("crawl", "demo", env=env)
        assert manual.stdout.strip() == "{}"
        assert "demo: another crawl of this source is running; skipped." in manual.stderr
        send(env, "worker.tasks.crawl_due_sources")
        ticks = wait_until(lambda: (found := TICK.findall(logs["analysis"].read_text())) and len(found) == 2
                           and found, timeout=60, message="the second tick did not run")
        assert ticks == ["['demo']", "[]"]
        assert logs["crawl"].read_text().count("] received") == 1  # one crawl, however many ticks

        release.set()
        wait_until(lambda: value("SELECT crawl_started_at IS NULL AND last_crawled_at IS NOT NULL "
                                 "FROM source WHERE name = 'demo'"),
                   timeout=120, message="the claim was not released after the crawl")
    finally:
        release.set()
        stop(*workers)
        engine.dispose()  # no pooled connection outlives the test (warnings are errors)
        empty_database(pg_url)
    # jieba is warmed by the worker whose tasks segment text (processing counts the hot-word
    # terms; the briefing reads the counts): once before its pool forks, and its one pool
    # process finds it ready; the mail worker never builds it.
    assert logs["analysis"].read_text().count("jieba segmenter and analysis models ready") == 2
    assert "jieba segmenter" not in logs["mail"].read_text()
