"""Login, logout, redirects, CSRF, disabled accounts."""

from urllib.parse import unquote

import pytest
from sqlalchemy import select

from huiying.models import User

from .conftest import csrf_token


def test_login_page_has_labelled_fields(client):
    page = client.get("/auth/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert '<label class="form-label" for="username">用户名</label>' in page.text
    assert '<label class="form-label" for="password">密码</label>' in page.text
    assert 'name="csrf_token"' in page.text


def test_login_success_goes_to_the_home_page(client, auth):
    response = auth.login()
    assert response.status_code == 302
    assert response.location == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "admin" in page.text and "退出" in page.text


@pytest.mark.parametrize(("username", "password"), [
    ("admin", "wrong-password-1"),
    ("nobody", "admin-password-123"),
    ("", ""),
])
def test_login_failure_is_generic(client, auth, username, password):
    response = auth.login(username, password)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.text
    assert client.get("/cases/").status_code == 302


def test_disabled_user_cannot_log_in(client, auth, db, users):
    user = db.scalar(select(User).where(User.username == "jichu"))
    user.active = False
    db.commit()
    response = auth.login("jichu", users["jichu"])
    assert "用户名或密码错误" in response.text
    assert client.get("/cases/").status_code == 302


def test_disabling_ends_open_sessions(client, auth, db, users):
    auth.login("jichu", users["jichu"])
    assert client.get("/cases/").status_code == 200
    user = db.scalar(select(User).where(User.username == "jichu"))
    user.active = False
    db.commit()
    assert client.get("/cases/").status_code == 302


@pytest.mark.parametrize("path", ["/", "/cases/", "/cases/1"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path, follow_redirects=True)
    assert response.request.path == "/auth/login"
    assert "请先登录" in response.text


def test_next_to_local_path_is_followed(auth):
    response = auth.login(next_url="/cases/?status=已派单")
    assert unquote(response.location) == "/cases/?status=已派单"


@pytest.mark.parametrize("evil", [
    "http://evil.example",
    "https://evil.example/cases/",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_next_to_other_host_is_refused(auth, evil):
    response = auth.login(next_url=evil)
    assert response.status_code == 302
    assert response.location == "/"


def test_post_without_csrf_token_is_rejected(client, app):
    assert app.config["WTF_CSRF_ENABLED"] is not False
    response = client.post("/auth/login", data={"username": "admin", "password": "admin-password-123"})
    assert response.status_code == 400
    assert "表单已失效" in response.text
    assert client.get("/cases/").status_code == 302


def test_logout_needs_post_with_token(client, auth):
    auth.login()
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/cases/").status_code == 200
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/cases/").status_code == 302


def test_csrf_token_from_another_session_is_rejected(app, client, auth):
    other = app.test_client()
    token = csrf_token(other.get("/auth/login").text)
    client.get("/auth/login")
    response = client.post("/auth/login", data={"csrf_token": token, "username": "admin",
                                                "password": "admin-password-123"})
    assert response.status_code == 400
