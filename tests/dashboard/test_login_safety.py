"""Login that survives a Redis outage, a per-account lockout, and logout that ends the
session wherever its cookie was copied (also on password change and disable)."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from huiying.models import AuditEvent, User, utcnow
from huiying.users import LOCK_AFTER, reset_password
from tests.conftest import free_port, wait_until

from .conftest import PASSWORD, AuthActions, create_app_for_tests

LOCKED = "已暂时锁定"


@pytest.fixture
def private_redis():
    """A redis-server of the test's own, so stopping it touches no other test."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    wait_until(lambda: _answers(client), timeout=20, message="private redis-server did not start")
    yield port, process, client
    process.kill()
    process.wait()


def _answers(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


def test_login_works_while_redis_is_down(database_url, monkeypatch, private_redis):
    port, process, client = private_redis
    monkeypatch.setenv("HUIYING_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    app = create_app_for_tests()
    assert app.config["RATELIMIT_STORAGE_URI"] == f"redis://127.0.0.1:{port}/0"
    auth = AuthActions(app.test_client())
    assert auth.login("admin", "wrong-password-1").status_code == 200
    assert any(b"LIMITER" in key for key in client.keys("*")), "the counters are not in Redis"
    process.terminate()
    process.wait()

    response = auth.login()
    assert response.status_code == 302 and response.location == "/"
    assert auth.client.get("/cases/").status_code == 200
    # The per-address limit still holds, counted in this process's memory meanwhile; the
    # successful login above is not counted.
    other = AuthActions(app.test_client())
    codes = [other.login("admin", "wrong-password-1").status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_an_account_locks_after_repeated_failures(client, auth, db, users):
    for _ in range(LOCK_AFTER - 1):
        assert "用户名或密码错误" in auth.login("jichu", "wrong-password-1").text
    assert LOCKED in auth.login("jichu", "wrong-password-1").text
    # Locked: the right password is refused too, and says why.
    response = auth.login("jichu", PASSWORD)
    assert response.status_code == 200 and LOCKED in response.text
    assert client.get("/cases/").status_code == 302
    # Other accounts are not affected.
    assert auth.login("anquan", PASSWORD).status_code == 302
    db.expire_all()
    user = db.scalar(select(User).where(User.username == "jichu"))
    assert user.locked_until > utcnow()
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.locked",
                                              AuditEvent.target_id == str(user.id)))
    auth.logout()
    auth.login()
    assert "已锁定至" in client.get("/admin/users/").text  # the admin sees it, and can reset
    # After the lock runs out the right password works again.
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.commit()
    auth.logout()
    assert auth.login("jichu", PASSWORD).status_code == 302


def test_successful_logins_reset_the_count(client, auth, db, users):
    for _ in range(2):
        for _ in range(LOCK_AFTER - 1):
            auth.login("jichu", "wrong-password-1")
        assert auth.login("jichu", PASSWORD).status_code == 302
        auth.logout()
    db.expire_all()
    assert db.scalar(select(User.failed_logins).where(User.username == "jichu")) == 0


def test_a_password_reset_lifts_the_lock(client, auth, db, users):
    for _ in range(LOCK_AFTER):
        auth.login("jichu", "wrong-password-1")
    user = db.scalar(select(User).where(User.username == "jichu"))
    reset_password(db, user.id, "new-password-456")
    db.commit()
    assert auth.login("jichu", "new-password-456").status_code == 302


def test_a_copied_session_cookie_stops_working_after_logout(app, client, auth):
    auth.login()
    cookie = client.get_cookie("session").value
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/cases/").status_code == 200  # the copy works while the session lives
    auth.logout()
    assert copy.get("/cases/").status_code == 302
    assert client.get("/cases/").status_code == 302
    assert auth.login().status_code == 302  # a new login works as before


def test_password_change_and_disable_end_copied_sessions(app, client, auth, db, users):
    for end in ("password", "disable"):
        auth.login("jichu", PASSWORD)
        copy = app.test_client()
        copy.set_cookie("session", client.get_cookie("session").value)
        assert copy.get("/cases/").status_code == 200
        user = db.scalar(select(User).where(User.username == "jichu"))
        if end == "password":
            reset_password(db, user.id, PASSWORD)  # the same text, a new hash
        else:
            user.active = False
        db.commit()
        assert copy.get("/cases/").status_code == 302, end
        assert client.get("/cases/").status_code == 302, end


def test_logout_ends_the_other_devices_too(app, auth, users):
    """Documented in docs/admin.md: 退出登录 ends every session of the account."""
    other = AuthActions(app.test_client())
    other.login("press", PASSWORD)
    auth.login("press", PASSWORD)
    auth.logout()
    assert other.client.get("/cases/").status_code == 302
    assert other.login("press", PASSWORD).status_code == 302  # and logs in again as before


def test_successful_logins_do_not_count_against_the_address_limit(app, users):
    for _ in range(12):
        auth = AuthActions(app.test_client())
        assert auth.login("press", PASSWORD).status_code == 302
