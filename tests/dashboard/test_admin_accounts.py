"""/admin/users, /auth/password and /admin/audit: accounts are changed by admins only, every
change is in the audit log, and the rules (password length, the last admin) hold."""

import re

import pytest
from sqlalchemy import select

from huiying.models import Role, User
from huiying.users import create_user

from .admin_helpers import audit_events, post_form
from .conftest import ADMIN_PASSWORD, PASSWORD

ADMIN_PAGES = ["/admin/users/", "/admin/users/new", "/admin/users/1", "/admin/departments",
               "/admin/departments/1", "/admin/rules", "/admin/rules/1", "/admin/sources/",
               "/admin/sources/new", "/admin/audit/"]


def user(db, name):
    db.expire_all()
    return db.scalar(select(User).where(User.username == name))


def test_admin_pages_are_for_admins_only(client, auth, users):
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 302, path  # anonymous: to the login page
    for name in ("press", "jichu"):
        auth.login(name, PASSWORD)
        for path in ADMIN_PAGES:
            assert client.get(path).status_code == 403, (name, path)
        assert "管理</a>" not in client.get("/cases/").text
        auth.logout()
    auth.login()
    menu = client.get("/cases/").text
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path
    for link in ("/admin/users/", "/admin/departments", "/admin/rules", "/admin/topics",
                 "/admin/sources/", "/admin/audit/"):
        assert f'href="{link}"' in menu, link


def test_leader_gets_403_on_posts_too(client, auth, db):
    create_user(db, "boss", PASSWORD, Role.LEADER)
    db.commit()
    auth.login("boss", PASSWORD)
    token_page = client.get("/auth/password").text
    from .conftest import csrf_token

    token = csrf_token(token_page)
    for path, data in (("/admin/users/new", {"username": "x", "role": "press", "password": "y" * 12}),
                       ("/admin/users/1/active", {"active": "0"}),
                       ("/admin/users/1/password", {"password": "z" * 12}),
                       ("/admin/departments", {"name": "新科室"}),
                       ("/admin/departments/1/delete", {}),
                       ("/admin/rules", {"keyword": "x", "department": "1", "priority": "0"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert user(db, "x") is None and user(db, "admin").active
    assert audit_events(db, "department") == []


def test_admin_adds_a_department_user(client, auth, db):
    auth.login()
    response = post_form(client, "/admin/users/new", username="wang", role="department",
                         department="基础教育股", email="wang@example.gov.cn", password="wang-password-1")
    assert response.status_code == 302 and response.location == "/admin/users/"
    wang = user(db, "wang")
    assert wang.role == "department" and wang.department.name == "基础教育股"
    assert wang.email == "wang@example.gov.cn" and wang.password_hash.startswith(("scrypt:", "pbkdf2:"))
    listing = client.get("/admin/users/").text
    assert "已新增账号 wang" in listing and "wang@example.gov.cn" in listing
    [event] = [e for e in audit_events(db, "user") if e.action == "user.add" and e.target_id == str(wang.id)]
    assert event.actor.username == "admin" and "wang" in event.summary
    assert "wang-password-1" not in str(event.data)
    auth.logout()
    assert auth.login("wang", "wang-password-1").location == "/"


@pytest.mark.parametrize(("fields", "message"), [
    ({"username": "li", "role": "press", "password": "short"}, "密码至少需要 10 个字符"),
    ({"username": "li", "role": "department", "password": "li-password-1"}, "科室用户必须选择所属科室"),
    ({"username": "li", "role": "press", "password": "li-password-1", "email": "not-an-email"},
     "邮箱地址格式不正确"),
    ({"username": "admin", "role": "press", "password": "li-password-1"}, "已有同名账号"),
    ({"username": "li li", "role": "press", "password": "li-password-1"}, "用户名只能包含"),
    ({"username": "li", "role": "press"}, "请填写密码，或勾选自动生成"),
])
def test_bad_account_input_says_why_and_changes_nothing(client, auth, db, fields, message):
    auth.login()
    before = len(audit_events(db))
    response = post_form(client, "/admin/users/new", **fields)
    assert response.status_code == 200
    assert message in response.text
    assert user(db, "li") is None and user(db, "li li") is None
    assert db.scalar(select(User).where(User.username == "admin")).role == "admin"
    assert len(audit_events(db)) == before


def test_generated_password_is_shown_once_and_works(client, auth, db):
    auth.login()
    response = post_form(client, "/admin/users/new", username="zhao", role="leader", generate="y")
    assert response.status_code == 200 and "账号 zhao 的新密码" in response.text
    match = re.search(r'generated-password">([^<]+)</p>', response.text)
    assert match, response.text
    password = match.group(1)
    assert len(password) >= 16 and response.headers["Cache-Control"] == "no-store"
    assert "已新增账号 zhao" in response.text
    with client.session_transaction() as session:
        assert password not in str(dict(session))  # not in the (client-side) session cookie
    assert password not in client.get("/admin/users/").text  # only once
    assert password not in str([e.data for e in audit_events(db)])
    auth.logout()
    assert auth.login("zhao", password).location == "/"


def test_admin_edits_role_department_and_email(client, auth, db, users):
    auth.login()
    jichu = user(db, "jichu")
    response = post_form(client, f"/admin/users/{jichu.id}", role="department", department="安全稳定股",
                         email="aq@example.gov.cn")
    assert response.status_code == 302
    jichu = user(db, "jichu")
    assert jichu.department.name == "安全稳定股" and jichu.email == "aq@example.gov.cn"
    [event] = [e for e in audit_events(db, "user") if e.action == "user.edit"]
    assert event.data["department"] == ["基础教育股", "安全稳定股"]
    assert event.data["email"] == [None, "aq@example.gov.cn"]
    # a department role without a department is refused, nothing changes
    response = post_form(client, f"/admin/users/{jichu.id}", role="department", department="", email="")
    assert response.status_code == 200 and "科室用户必须选择所属科室" in response.text
    assert user(db, "jichu").department.name == "安全稳定股"


def test_disable_ends_the_session_and_enable_restores_login(app, client, auth, db, users):
    other = app.test_client()
    from .conftest import AuthActions

    AuthActions(other).login("press", PASSWORD)
    assert other.get("/cases/").status_code == 200
    auth.login()
    press = user(db, "press")
    response = post_form(client, f"/admin/users/{press.id}/active", f"/admin/users/{press.id}", active="0")
    assert response.status_code == 302
    assert user(db, "press").active is False
    assert other.get("/cases/").status_code == 302  # its open session ended
    assert AuthActions(other).login("press", PASSWORD).status_code == 200  # refused
    post_form(client, f"/admin/users/{press.id}/active", f"/admin/users/{press.id}", active="1")
    assert user(db, "press").active is True
    assert [e.action for e in audit_events(db, "user")][-2:] == ["user.disable", "user.enable"]


def test_the_last_admin_and_oneself_cannot_be_locked_out(client, auth, db, users):
    auth.login()
    admin = user(db, "admin")
    response = post_form(client, f"/admin/users/{admin.id}/active", f"/admin/users/{admin.id}", active="0")
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "不能停用自己的账号" in page
    response = post_form(client, f"/admin/users/{admin.id}", role="press", department="", email="")
    assert "不能停用自己的账号或取消自己的管理员角色" in response.text
    assert user(db, "admin").active and user(db, "admin").role == "admin"

    # Another admin may demote the first; the last admin standing is kept, also from the CLI.
    create_user(db, "admin2", "admin2-password", Role.ADMIN)
    db.commit()
    auth.logout()
    auth.login("admin2", "admin2-password")
    response = post_form(client, f"/admin/users/{admin.id}", role="press", department="", email="")
    assert response.status_code == 302 and user(db, "admin").role == "press"
    admin2 = user(db, "admin2")
    from huiying.users import AccountError, set_active

    with pytest.raises(AccountError) as refused:
        set_active(db, admin2.id, False)  # from the command line: no actor, still the last admin
    assert refused.value.code == "last_admin"
    db.rollback()
    assert user(db, "admin2").active


def test_admin_resets_a_password(app, client, auth, db, users):
    other = app.test_client()
    from .conftest import AuthActions

    AuthActions(other).login("jichu", PASSWORD)
    auth.login()
    jichu = user(db, "jichu")
    response = post_form(client, f"/admin/users/{jichu.id}/password", f"/admin/users/{jichu.id}",
                         password="short")
    assert response.status_code == 200 and "密码至少需要 10 个字符" in response.text
    response = post_form(client, f"/admin/users/{jichu.id}/password", f"/admin/users/{jichu.id}",
                         password="jichu-new-password")
    assert response.status_code == 302
    assert other.get("/cases/").status_code == 302  # the session made with the old password ended
    assert AuthActions(other).login("jichu", PASSWORD).status_code == 200
    assert AuthActions(other).login("jichu", "jichu-new-password").location == "/"
    assert [e.action for e in audit_events(db, "user")][-1] == "user.reset_password"


def test_everyone_changes_their_own_password(app, client, auth, db, users):
    second = app.test_client()
    from .conftest import AuthActions

    AuthActions(second).login("jichu", PASSWORD)
    auth.login("jichu", PASSWORD)
    page = client.get("/auth/password")
    assert page.status_code == 200 and 'href="/auth/password"' in client.get("/cases/").text
    for fields, message in (
        ({"current": "wrong-password-9", "new": "jichu-password-2", "again": "jichu-password-2"},
         "当前密码不正确"),
        ({"current": PASSWORD, "new": "jichu-password-2", "again": "jichu-password-3"},
         "两次输入的新密码不一致"),
        ({"current": PASSWORD, "new": "short", "again": "short"}, "密码需要 10 到 200 个字符"),
        ({"current": PASSWORD, "new": PASSWORD, "again": PASSWORD}, "新密码不能与当前密码相同"),
    ):
        response = post_form(client, "/auth/password", **fields)
        assert response.status_code == 200 and message in response.text, message
    assert not [e for e in audit_events(db) if e.action == "user.change_password"]
    response = post_form(client, "/auth/password", current=PASSWORD, new="jichu-password-2",
                         again="jichu-password-2")
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/cases/").status_code == 200  # this session carries on
    assert second.get("/cases/").status_code == 302  # the other one ended
    [event] = [e for e in audit_events(db) if e.action == "user.change_password"]
    assert event.actor.username == "jichu"
    auth.logout()
    assert auth.login("jichu", PASSWORD).status_code == 200
    assert auth.login("jichu", "jichu-password-2").location == "/"


def test_login_page_points_to_the_password_page(client):
    page = client.get("/auth/login").text
    assert '<a href="/auth/password">修改密码</a>' in page


def test_audit_log_is_paged_newest_first_and_filtered(client, auth, db):
    from huiying.audit import PER_PAGE, record

    for number in range(PER_PAGE + 5):
        record(db, None, "department.edit", "department", number, f"第 {number} 次修改")
    record(db, None, "user.add", "user", 99, "新增账号 zhang")
    db.commit()
    auth.login()
    first = client.get("/admin/audit/").text
    newest_edit = f"第 {PER_PAGE + 4} 次修改"
    assert "新增账号 zhang" in first and newest_edit in first
    assert first.index("新增账号 zhang") < first.index(newest_edit)
    assert "第 1 / 2 页" in first
    second = client.get("/admin/audit/?page=2").text
    assert "第 0 次修改" in second and "新增账号 zhang" not in second
    users_only = client.get("/admin/audit/?kind=user").text
    assert "新增账号 zhang" in users_only and "第 0 次修改" not in users_only
    assert "新增账号 admin" in users_only  # the first admin, created at start (no actor)
    assert "系统 / 命令行" in users_only
    assert client.get("/admin/audit/?kind=nonsense&page=x").status_code == 200


def test_first_admin_password_message_points_to_the_page(client):
    from huiying.cli import _print_admin_password

    assert ADMIN_PASSWORD  # the fixture's admin exists; the CLI wording is checked here
    import click.testing

    runner = click.testing.CliRunner()
    result = runner.invoke(click.command()(lambda: _print_admin_password("pw-123")))
    assert "/auth/password" in result.output


def test_every_admin_form_needs_the_csrf_token(client, auth, db, users):
    auth.login()
    jichu = user(db, "jichu")
    for path, data in (("/admin/users/new", {"username": "x", "role": "press", "password": "y" * 12}),
                       (f"/admin/users/{jichu.id}", {"role": "press"}),
                       (f"/admin/users/{jichu.id}/active", {"active": "0"}),
                       (f"/admin/users/{jichu.id}/password", {"password": "z" * 12}),
                       ("/auth/password", {"current": PASSWORD, "new": "q" * 12, "again": "q" * 12}),
                       ("/admin/departments", {"name": "新科室"}),
                       ("/admin/departments/1", {"name": "改名"}),
                       ("/admin/departments/1/delete", {}),
                       ("/admin/rules", {"keyword": "x", "department": "1", "priority": "0"}),
                       ("/admin/rules/1", {"keyword": "x", "department": "1", "priority": "0"}),
                       ("/admin/rules/1/delete", {}),
                       ("/admin/sources/new", {"text": "name: x", "save": "保存"}),
                       ("/admin/sources/1/enabled", {"enabled": "0"})):
        response = client.post(path, data=data)
        assert response.status_code == 400 and "表单已失效" in response.text, path
    assert user(db, "x") is None and user(db, "jichu").role == "department" and user(db, "jichu").active
    assert [e for e in audit_events(db) if e.actor_id is not None] == []
