"""Crawl health: each crawl leaves a crawl_run row; `huiying sources status` says how each
source is doing; a layout change, repeated failures or a robots.txt refusal is an incident
the administrators are emailed about once, cleared when the source recovers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from wsgiref.simple_server import make_server

import pytest
import yaml
from sqlalchemy import create_engine, select, text

from huiying.cli.runner import demo_config
from huiying.crawl_health import INCIDENT_TEXTS, health, incident_of
from huiying.db import session_scope
from huiying.models import CrawlRun, Source
from huiying.notify import scan
from huiying.settings import load as load_settings
from tests.conftest import huiying, last_json, serve_in_thread
from tests.e2e.test_crawl_failures import DETAIL, Quiet, ThreadingServer

ADMIN_MAIL = "it@edu.example.cn"


class Site:
    """A board whose behaviour the test changes between crawls."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | redesigned | broken | robots

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/robots.txt":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"User-agent: *\nDisallow: /\n" if self.mode == "robots" else b""]
        if self.mode == "broken":
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"down"]
        if path == "/board":
            item = "msg-item" if self.mode == "ok" else "post-row"  # the redesign renames the class
            links = "".join(f'<li class="{item}"><a class="msg-title" href="/msg/{n}.html">x</a></li>'
                            for n in range(1, 7))
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [f'<ul class="msg-list">{links}</ul>'.encode()]
        number = path.removeprefix("/msg/").removesuffix(".html")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [DETAIL.format(charset="utf-8", title=f"第{number}条留言",
                              body=f"<p>请问城关小学第{number}批报名什么时候开始？</p>").encode()]


def add_runs(url: str, runs: list[tuple[int, int, int]]) -> None:
    """(hours from now, comments, errors) runs of the test's one source."""
    with session_scope(url) as session:
        source_id = session.scalar(select(Source.id).where(Source.name == "county"))
        now = datetime.now(UTC)
        for hours, items, errors in runs:
            at = now + timedelta(hours=hours)
            session.add(CrawlRun(source_id=source_id, started_at=at, finished_at=at + timedelta(seconds=4),
                                 pages=7, items=items, new=0, errors=errors, robots_refused=0))


@pytest.fixture
def site():
    board = Site()
    server = make_server("127.0.0.1", 0, board, server_class=ThreadingServer, handler_class=Quiet)
    serve_in_thread(server)
    board.url = f"http://127.0.0.1:{server.server_port}"
    yield board
    server.shutdown()
    server.server_close()


def run(n: int, items: int, errors: int = 0, robots: int = 0) -> CrawlRun:
    at = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n)
    return CrawlRun(id=n, source_id=1, started_at=at, finished_at=at + timedelta(seconds=5), pages=3,
                    items=items, new=0, errors=errors, robots_refused=robots)


def test_what_counts_as_an_incident():
    ok = [run(3, 20), run(2, 20), run(1, 20)]
    assert incident_of(ok) is None and incident_of([]) is None
    empty = incident_of([run(5, 0), run(4, 0), *ok])
    assert (empty.kind, empty.since_run_id) == ("empty", 4)
    # the list page matched nothing (an error is recorded): a layout change, told at once
    assert incident_of([run(4, 0, errors=1), *ok]).kind == "empty"
    assert incident_of([run(4, 0), run(3, 3), run(2, 20), run(1, 20)]) is None  # few before: quiet
    assert incident_of([run(2, 0, errors=3), run(1, 3)]) is None  # one failed run is no incident yet
    failing = incident_of([run(5, 0, errors=3), run(4, 0, errors=1), *ok])
    assert (failing.kind, failing.since_run_id) == ("failing", 4)
    robots = incident_of([run(4, 0, robots=1), *ok])
    assert (robots.kind, robots.since_run_id) == ("robots", 4)
    assert incident_of([run(6, 20), run(5, 0, errors=3), run(4, 0, errors=1), *ok]) is None  # recovered


def test_incidents_are_told_once_and_clear_when_the_source_recovers(migrated_env, site, tmp_path,
                                                                    monkeypatch):
    config = demo_config(site.url).as_dict()
    config.update(name="county", title="县长信箱", start_urls=[site.url + "/board"])
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "county.yml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    env = {**migrated_env, "HUIYING_SOURCES_DIR": str(sources)}
    for name, value in env.items():
        if name.startswith("HUIYING_"):
            monkeypatch.setenv(name, value)
    settings = load_settings()
    database = create_engine(f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}")
    with database.begin() as db:
        db.execute(text("UPDATE \"user\" SET email = :mail WHERE username = 'admin'"), {"mail": ADMIN_MAIL})

    url = f"sqlite:///{tmp_path / 'data' / 'huiying.sqlite3'}"

    def crawl_and_status():
        huiying("crawl", env=env)
        with session_scope(url) as session:
            (source,) = health(session)
            return source.as_dict()

    def crawl_mails():
        with session_scope(url) as session:
            scan(session, settings)
        with database.connect() as db:
            return db.execute(text("SELECT recipient, subject FROM notification WHERE kind = 'crawl' "
                                   "AND channel = 'email' ORDER BY id")).all()

    healthy = crawl_and_status()
    assert healthy["incident"] is None and healthy["last_items"] == 6 and healthy["runs"] == 1
    assert healthy["last_pages"] >= 7 and healthy["last_seconds"] > 0  # the list and 6 messages
    # Two earlier healthy runs (crawling them too would only cost time): the history the
    # layout-change rule needs.
    add_runs(url, [(-2, 6, 0), (-1, 6, 0)])
    assert crawl_mails() == []

    site.mode = "redesigned"
    broken = crawl_and_status()
    assert broken["incident"]["kind"] == "empty" and broken["last_items"] == 0
    assert broken["last_errors"] == 1  # the list page matched no link
    assert crawl_mails() == [(ADMIN_MAIL, f"【回应】采集异常：县长信箱（{INCIDENT_TEXTS['empty']}）")]
    # Still broken at the next run: the same incident (it began with the same run), no new mail.
    add_runs(url, [(0, 0, 1)])
    with session_scope(url) as session:
        assert health(session)[0].incident.kind == "failing"
    assert len(crawl_mails()) == 1

    site.mode = "ok"
    assert crawl_and_status()["incident"] is None
    site.mode = "robots"
    refused = crawl_and_status()
    assert refused["incident"]["kind"] == "robots" and refused["last_items"] == 0
    mails = crawl_mails()
    assert len(mails) == 2 and "robots.txt" in mails[1][1]  # a new incident after the recovery
    with database.connect() as db:  # and each incident on the admin's 通知 page, once
        in_app = db.execute(text(
            "SELECT n.subject FROM notification n JOIN \"user\" u ON u.id = n.user_id "
            "WHERE n.kind = 'crawl' AND n.channel = 'inapp' AND u.username = 'admin' ORDER BY n.id"))
        in_app = in_app.scalars().all()
    assert in_app == [subject for _, subject in mails]
    with database.connect() as db:
        errors = [row[0] for row in db.execute(text("SELECT error FROM crawl_error"))]
    assert any("refused by the site's robots.txt" in error for error in errors)
    (as_json,) = last_json(huiying("sources", "status", "--json", env=env).stdout)
    assert as_json["incident"]["kind"] == "robots" and as_json["runs"] == 7
    text_status = huiying("sources", "status", env=env).stdout
    assert text_status.startswith("county: INCIDENT since") and "robots" in text_status
    database.dispose()
