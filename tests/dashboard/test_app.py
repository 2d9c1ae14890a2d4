"""Factory, security headers, health check."""

import socket
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from werkzeug.serving import make_server

from dashboard import create_app
from dashboard.warmup import warm
from tests.conftest import serve_in_thread

from .conftest import ADMIN_PASSWORD, PG_URL, csrf_token


def test_postgresql_run_configured():
    if not PG_URL:
        pytest.skip("app tests ran on SQLite only; set HUIYING_TEST_DATABASE_URL for PostgreSQL")


def test_factory_reads_settings_and_overrides(app, database_url):
    assert app.config["DATABASE_URL"] == database_url
    assert app.config["TIMEZONE"] == "Asia/Shanghai"
    assert app.config["BOOTSTRAP_SERVE_LOCAL"] is True
    assert app.config["SECRET_KEY"]
    assert create_app({"TESTING": True, "CASES_PER_PAGE": 5}).config["CASES_PER_PAGE"] == 5


def test_a_warmed_app_serves_its_first_pages_without_compiling(app, client, auth):
    """`huiying web` and dashboard.wsgi warm the app: no visitor waits for Jinja's compiler."""
    count = warm(app)
    cached = {template.name for template in app.jinja_env.cache.values()}
    assert count == len(cached) >= 30
    assert {"base.html", "overview/bureau.html", "cases/list.html", "reports/monthly.html"} <= cached
    compiled = []
    compile_source = app.jinja_env.compile
    app.jinja_env.compile = lambda *args, **kw: compiled.append(args[1]) or compile_source(*args, **kw)
    auth.login()
    for path in ("/", "/cases/", "/reports/monthly"):
        assert client.get(path).status_code == 200
    assert compiled == []


def test_security_headers(client, auth):
    for path in ("/auth/login", "/healthz"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers


def test_session_cookie_flags(client, auth):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # not production


def test_https_address_makes_cookies_secure(database_url, monkeypatch):
    monkeypatch.setenv("HUIYING_ENV", "production")
    monkeypatch.setenv("HUIYING_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("HUIYING_BASE_URL", "https://yq.example.gov.cn")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers
    secure = app.test_client().get("/healthz", base_url="https://huiying.example")
    assert "Strict-Transport-Security" in secure.headers


def _non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: this only picks the outgoing interface
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


def test_production_login_over_plain_http_on_an_intranet_address(database_url, monkeypatch):
    """A county intranet serving production over http://: a Secure cookie would never come back."""
    address = _non_loopback_address()
    monkeypatch.setenv("HUIYING_ENV", "production")
    monkeypatch.setenv("HUIYING_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("HUIYING_BASE_URL", f"http://{address}")
    server = make_server(address, 0, create_app(), threaded=True)
    base = f"http://{address}:{server.server_port}"
    serve_in_thread(server)
    try:
        # http.cookiejar is a real client: it never sends a Secure cookie over plain HTTP.
        browser = build_opener(HTTPCookieProcessor(CookieJar()))
        with browser.open(f"{base}/auth/login") as response:
            token = csrf_token(response.read().decode())
        form = urlencode({"csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD})
        with browser.open(f"{base}/auth/login", data=form.encode()) as response:
            assert "Secure" not in (response.headers.get("Set-Cookie") or "")
        with browser.open(f"{base}/cases/") as response:
            assert response.url == f"{base}/cases/"  # not sent back to the login page
            assert 'action="/auth/logout"' in response.read().decode()
    finally:
        server.shutdown()
        server.server_close()


def test_assets_are_local(client):
    html = client.get("/auth/login").text
    assert "cdn.jsdelivr.net" not in html and "//cdn" not in html
    assert "/bootstrap/static/css/bootstrap.min.css" in html
    assert "/static/app.css" in html
    for asset in ("/bootstrap/static/css/bootstrap.min.css", "/static/app.css"):
        with client.get(asset) as response:  # closes the file it streams
            assert response.status_code == 200


def test_healthz_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "broker": "ok", "waiting_comments": 0,
                             "pending_notifications": 0, "failed_notifications": 0}


def test_healthz_reports_unreachable_database(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        (tmp_path / "a-directory").mkdir()
        bad = f"sqlite:///{tmp_path / 'a-directory'}"  # sqlite cannot open a directory
    else:
        bad = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    app = create_app({"TESTING": True, "DATABASE_URL": bad})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error" and response.json["database"] == "unreachable"


def test_healthz_reports_unreachable_broker_and_analysis_backlog(app, database_url):
    from dataclasses import replace
    from datetime import UTC, datetime

    from huiying.db import session_scope
    from huiying.models import Comment, Source

    with session_scope(database_url) as session:
        source = Source(name="h")
        session.add(source)
        session.flush()
        session.add(Comment(source_id=source.id, external_id="1", title="t", content_hash="x",
                            fetched_at=datetime(2026, 1, 1, tzinfo=UTC)))
    degraded = app.test_client().get("/healthz")
    assert degraded.status_code == 200
    assert degraded.json["status"] == "degraded" and degraded.json["waiting_comments"] == 1

    broken = replace(app.config["HUIYING_SETTINGS"], broker_url="redis://127.0.0.1:1/0")
    response = create_app({"TESTING": True, "HUIYING_SETTINGS": broken}).test_client().get("/healthz")
    assert response.status_code == 503 and response.json["broker"] == "unreachable"


def test_login_attempts_are_rate_limited(client, auth):
    for _ in range(10):
        assert auth.login("admin", "wrong-password").status_code == 200
    blocked = auth.login("admin", "wrong-password")
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.text
    assert client.get("/auth/login").status_code == 200  # reading the form is not limited
