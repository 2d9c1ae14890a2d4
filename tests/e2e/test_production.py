"""PostgreSQL + Redis + a real Celery worker process + the dashboard over HTTP."""

import http.cookiejar
import re
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import (
    clean_env,
    free_port,
    huiying,
    last_json,
    wait_until,
    write_demo_source,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def production_env(tmp_path, pg_url, redis_url, demo_site):
    write_demo_source(tmp_path / "sources", demo_site.url)
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_url,
                    HUIYING_BROKER_URL=redis_url, HUIYING_SOURCES_DIR=str(tmp_path / "sources"),
                    HUIYING_ADMIN_PASSWORD="admin-password-1", HUIYING_SECRET_KEY="x" * 32)
    huiying("db", "upgrade", env=env)
    yield env
    engine = create_engine(pg_url)
    with engine.begin() as db:  # leave the shared test database empty
        db.execute(text('TRUNCATE comment, "case", case_event, source, crawl_error, '
                        '"user", department, routing_rule, notification CASCADE'))
    engine.dispose()


@pytest.fixture
def engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()  # an engine dropped with open connections warns when collected


def start(env, *args, log):
    return subprocess.Popen([sys.executable, "-m", "huiying", *args], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def stop(*processes):
    """SIGTERM to every process first, then wait for each: a Celery worker's warm shutdown
    takes a few seconds, which several workers spend at the same time, not one after another."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_crawl_worker_cases_and_dashboard(production_env, engine, tmp_path):
    env = production_env

    def count(sql):
        with engine.connect() as db:
            return db.execute(text(sql)).scalar()

    with open(tmp_path / "worker.log", "wb") as worker_log:
        worker = start(env, "worker", "--concurrency", "2", log=worker_log)
        try:
            stats = last_json(huiying("crawl", env=env).stdout)["demo"]
            assert stats["new"] >= 150 and stats["errors"] == []
            wait_until(lambda: count("SELECT count(*) FROM comment WHERE processed_at IS NULL") == 0,
                       timeout=180, message="the worker did not process every crawled comment")
            cases = count('SELECT count(*) FROM "case"')
            assert 100 < cases < stats["new"]
            assert count('SELECT count(DISTINCT department_id) FROM "case"') >= 6

            # A comment whose message was lost ten minutes ago: the periodic sweep finds it
            # (one stored within the grace period, HUIYING_SWEEP_GRACE, would be left alone).
            with engine.begin() as db:
                db.execute(text(
                    "INSERT INTO comment (source_id, external_id, title, body, content_hash, "
                    "fetched_at) SELECT id, 'lost-1', '城关三小课后服务收费不透明', "
                    "'每月收费三百元，没有明细。', 'lost', now() - interval '10 minutes' "
                    "FROM source WHERE name = 'demo'"))
            huiying_send_sweep(env)
            wait_until(lambda: count("SELECT count(*) FROM comment WHERE processed_at IS NULL") == 0,
                       timeout=60, message="the sweep did not re-enqueue the lost comment")
            assert count("SELECT count(*) FROM comment c JOIN \"case\" k ON c.case_id = k.id "
                         "WHERE c.external_id = 'lost-1'") == 1

            again = last_json(huiying("crawl", env=env).stdout)["demo"]
            assert again["new"] == 0 and again["updated"] == 0
            assert count('SELECT count(*) FROM "case"') == cases + 1
        finally:
            stop(worker)

    port = free_port()
    with open(tmp_path / "web.log", "wb") as web_log:
        web = start(env, "web", "--port", str(port), log=web_log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: web.poll() is not None or _get_ok(base + "/healthz"), timeout=60,
                       message="web did not start")
            assert web.poll() is None, (tmp_path / "web.log").read_text()
            opener = urllib.request.build_opener(
                urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            login_page = opener.open(base + "/auth/login").read().decode()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
            form = urllib.parse.urlencode({"csrf_token": token, "username": "admin",
                                           "password": "admin-password-1"}).encode()
            listing = opener.open(base + "/auth/login", data=form).read().decode()
            assert "案件" in listing or "舆情" in listing
            page = opener.open(base + "/cases/?q=" + urllib.parse.quote("课后服务收费")).read().decode()
            assert "城关三小课后服务收费不透明" in page
        finally:
            stop(web)


def huiying_send_sweep(env):
    code = ("from huiying import settings; from huiying.queue import producer; "
            "producer(settings.load()).send_task('worker.tasks.sweep_unprocessed')")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def _get_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
