"""/admin/sources: configured sources listed with their health, YAML added and edited with
validation, `sources check` run from the page (bounded in time), enable and disable."""

import html
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import select

from huiying.cli.runner import demo_config
from huiying.models import CrawlError, CrawlRun, Source
from tests.e2e.test_crawl_outcomes import outcome_site  # noqa: F401 (a fixture)

from .admin_helpers import audit_events, post_form


def demo_yaml(url: str, name: str = "yunxi", **changes) -> str:
    config = {**demo_config(url).as_dict(), "name": name, "title": "云溪县局长信箱", **changes}
    return "# 云溪县教育体育局 局长信箱\n" + yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def source(db, name):
    db.expire_all()
    return db.scalar(select(Source).where(Source.name == name))


@pytest.fixture
def sources_dir(app):
    return app.config["HUIYING_SETTINGS"].sources_dir


def test_admin_adds_a_source_from_yaml(client, auth, db, sources_dir):
    auth.login()
    assert "name: county-board" in client.get("/admin/sources/new").text  # an example to start from
    response = post_form(client, "/admin/sources/new", text="", save="保存")
    assert "请填写来源配置" in response.text and not sources_dir.exists()
    response = post_form(client, "/admin/sources/new", text=demo_yaml("http://127.0.0.1:9"), save="保存")
    assert response.status_code == 302 and response.location == "/admin/sources/"
    path = sources_dir / "yunxi.yml"
    assert path.read_text("utf-8").startswith("# 云溪县教育体育局 局长信箱\n")
    row = source(db, "yunxi")
    assert row.enabled and row.title == "云溪县局长信箱" and row.config["start_urls"] == ["http://127.0.0.1:9/board?page=1"]
    listing = client.get("/admin/sources/").text
    assert "已保存来源“yunxi”" in listing and "配置文件 yunxi.yml" in listing and "从未" in listing
    [event] = audit_events(db, "source")
    assert event.action == "source.add" and event.target_id == str(row.id) and event.actor.username == "admin"


@pytest.mark.parametrize(("text", "message"), [
    ("name: [unclosed", "not valid YAML"),
    ("name: yunxi\nstart_urls: [http://x.example/]\ndetail: {title: h1, body: p}\n", "'list' is missing"),
    ("name: Bad Name\n", "must be lower-case letters"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_bad_yaml_is_refused_and_nothing_is_written(client, auth, db, sources_dir, text, message):
    auth.login()
    response = post_form(client, "/admin/sources/new", text=text, save="保存")
    assert response.status_code == 200
    assert "配置有误，未保存" in response.text and message in html.unescape(response.text)
    assert not sources_dir.exists() or list(sources_dir.iterdir()) == []
    assert audit_events(db, "source") == []


def test_edit_keeps_the_name_and_the_file_layout(client, auth, db, sources_dir):
    sources_dir.mkdir(parents=True, exist_ok=True)
    (sources_dir / "board.yaml").write_text(demo_yaml("http://127.0.0.1:9"), "utf-8")
    (sources_dir / "other.yml").write_text(demo_yaml("http://127.0.0.1:9", name="other"), "utf-8")
    auth.login()
    page = client.get("/admin/sources/file/board.yaml")
    assert page.status_code == 200 and "# 云溪县教育体育局 局长信箱" in page.text
    renamed = demo_yaml("http://127.0.0.1:9", name="renamed")
    response = post_form(client, "/admin/sources/file/board.yaml", text=renamed, save="保存")
    assert "来源名称不能修改" in response.text
    taken = demo_yaml("http://127.0.0.1:9", name="other")
    response = post_form(client, "/admin/sources/file/board.yaml", text=taken, save="保存")
    assert "来源名称“other”已被 other.yml 使用" in response.text
    assert "name: yunxi" in (sources_dir / "board.yaml").read_text("utf-8")

    edited = demo_yaml("http://127.0.0.1:9", max_pages=3)
    response = post_form(client, "/admin/sources/file/board.yaml", text=edited, save="保存")
    assert response.status_code == 302
    assert "max_pages: 3" in (sources_dir / "board.yaml").read_text("utf-8")
    assert source(db, "yunxi").config["max_pages"] == 3
    [event] = audit_events(db, "source")
    assert event.action == "source.edit" and event.data == {"file": "board.yaml", "changed": ["max_pages"]}
    assert client.get("/admin/sources/file/..%2Fsecret.yml").status_code == 404
    assert client.get("/admin/sources/file/missing.yml").status_code == 404


def test_disable_and_enable_write_the_file(client, auth, db, sources_dir):
    sources_dir.mkdir(parents=True, exist_ok=True)
    (sources_dir / "yunxi.yml").write_text(demo_yaml("http://127.0.0.1:9"), "utf-8")
    auth.login()
    client.get("/admin/sources/new")
    post_form(client, "/admin/sources/file/yunxi.yml", text=demo_yaml("http://127.0.0.1:9"), save="保存")
    row = source(db, "yunxi")
    response = post_form(client, f"/admin/sources/{row.id}/enabled", "/admin/sources/", enabled="0")
    assert response.status_code == 302
    text = (sources_dir / "yunxi.yml").read_text("utf-8")
    assert "enabled: false" in text and text.startswith("# 云溪县")  # comments kept
    assert source(db, "yunxi").enabled is False
    assert "已停用来源“yunxi”" in client.get("/admin/sources/").text
    post_form(client, f"/admin/sources/{row.id}/enabled", "/admin/sources/", enabled="1")
    assert "enabled: true" in (sources_dir / "yunxi.yml").read_text("utf-8") and source(db, "yunxi").enabled
    assert [e.action for e in audit_events(db, "source")][-2:] == ["source.disable", "source.enable"]


def test_a_source_without_a_file_cannot_be_switched(client, auth, db):
    db.add(Source(name="demo", title="演示", kind="board"))
    db.commit()
    auth.login()
    row = source(db, "demo")
    assert "配置真实来源后自动停用" in client.get("/admin/sources/").text
    response = post_form(client, f"/admin/sources/{row.id}/enabled", "/admin/sources/", enabled="0")
    assert "没有配置文件" in client.get(response.location).text
    assert source(db, "demo").enabled


def test_last_crawl_items_and_errors_are_shown(client, auth, db, sources_dir):
    sources_dir.mkdir(parents=True, exist_ok=True)
    (sources_dir / "yunxi.yml").write_text(demo_yaml("http://127.0.0.1:9"), "utf-8")
    (sources_dir / "broken.yml").write_text("name: [oops", "utf-8")
    row = Source(name="yunxi", title="云溪", kind="board",
                 last_crawled_at=datetime(2026, 3, 1, 2, 5, tzinfo=UTC), last_item_count=37)
    db.add(row)
    db.flush()
    db.add(CrawlError(source_id=row.id, url="http://127.0.0.1:9/list?page=2", error="Connection refused",
                      at=datetime(2026, 3, 1, 2, 6, tzinfo=UTC)))
    db.commit()
    auth.login()
    page = client.get("/admin/sources/").text
    assert "2026-03-01 10:05" in page and "<td class=\"text-end\">37</td>" in page
    assert "Connection refused" in page and "http://127.0.0.1:9/list?page=2" in page
    assert "配置文件 broken.yml 有误，未被使用" in page
    detail = client.get("/admin/sources/file/yunxi.yml").text
    assert "Connection refused" in detail and "37 条" in detail
    fixed = client.get("/admin/sources/file/broken.yml")
    assert fixed.status_code == 200 and "当前文件有误" in fixed.text


def test_crawl_health_and_incidents_are_shown(client, auth, db, sources_dir):
    sources_dir.mkdir(parents=True, exist_ok=True)
    (sources_dir / "yunxi.yml").write_text(demo_yaml("http://127.0.0.1:9"), "utf-8")
    row = Source(name="yunxi", title="云溪", kind="board")
    db.add(row)
    db.flush()
    start = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    for hour, items, errors in ((0, 30, 0), (1, 31, 0), (2, 29, 0), (3, 0, 1)):
        at = start + timedelta(hours=hour)
        db.add(CrawlRun(source_id=row.id, started_at=at, finished_at=at + timedelta(seconds=12.5),
                        pages=4 + hour, items=items, new=0, errors=errors, robots_refused=0))
    db.commit()
    auth.login()
    page = client.get("/admin/sources/").text
    assert "用时（秒）" in page and '<td class="text-end">12.5</td>' in page
    assert '<td class="text-end">7</td>' in page  # the last run's pages
    assert "crawl-incident" in page and "采到 0 条，可能改版" in page and 'class="table-warning"' in page


def test_check_runs_sources_check_on_the_text_without_saving(app, client, auth, db, demo_site, sources_dir):
    # What the check says is tested here, its time limit below: a loaded test machine gets room.
    app.config["SOURCE_CHECK_TIMEOUT"] = 90
    auth.login()
    response = post_form(client, "/admin/sources/new", text=demo_yaml(demo_site.url), check="检查")
    assert response.status_code == 200
    # the demo board's first page lists 20; the page's check stops at 5
    assert "配置有效：第一页列表已采到 5 条留言，检查到此为止" in response.text, response.text
    assert response.text.count("<li>[") == 5
    assert not (sources_dir / "yunxi.yml").exists() and source(db, "yunxi") is None
    response = post_form(client, "/admin/sources/new", text="name: x\n", check="检查")
    assert "检查未通过" in response.text and "'start_urls' is missing" in html.unescape(response.text)


def test_check_lists_the_pages_it_could_not_read(app, client, auth, outcome_site):  # noqa: F811
    app.config["SOURCE_CHECK_TIMEOUT"] = 90
    auth.login()
    text = demo_yaml(outcome_site, start_urls=[outcome_site + "/board"])
    response = post_form(client, "/admin/sources/new", text=text, check="检查")
    assert "配置有效：第一页列表采到 3 条留言" in response.text, response.text
    assert "有 5 个页面未能读取" in response.text
    page = html.unescape(response.text)
    assert f"{outcome_site}/msg/loop: redirect loop" in page
    assert "<script" not in page.split("page-errors", 1)[1].split("</ul>", 1)[0]


@pytest.fixture
def silent_server():
    """Accepts connections and never answers: a check against it must be cut short."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def test_check_is_stopped_after_the_timeout(app, client, auth, db, silent_server):
    app.config["SOURCE_CHECK_TIMEOUT"] = 4
    auth.login()
    started = time.monotonic()
    response = post_form(client, "/admin/sources/new", text=demo_yaml(silent_server), check="检查")
    elapsed = time.monotonic() - started
    assert "检查在 4 秒内没有完成，已停止" in response.text
    assert elapsed < 15  # the 4 s limit plus page rendering, not Scrapy's 180 s download timeout


def test_the_pages_example_is_a_valid_source_and_names_the_other_kinds(client, auth):
    from dashboard.sources import EXAMPLE
    from huiying.sources import parse_text

    assert parse_text(EXAMPLE, "example").detail["published_at"] == "span.time::text"
    auth.login()
    note = client.get("/admin/sources/new").text
    assert all(f"（{kind}）" in note for kind in ("feed", "json_api", "forum", "search"))
