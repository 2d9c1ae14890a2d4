"""A department user changes its password in Chromium, logs out, and logs in with the new one."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PASSWORD
from .test_browser import CHROMIUM, browser, live_server, log_in, page, pytestmark  # noqa: F401 - fixtures

NEW_PASSWORD = "jichu-new-password-1"
assert CHROMIUM


def test_department_user_changes_password_and_logs_in_again(page, live_server, users, tmp_path):  # noqa: F811
    errors = log_in(page, live_server, "jichu", PASSWORD)
    page.get_by_role("button", name="jichu（基础教育股）").click()  # the user menu
    page.get_by_role("link", name="修改密码").click()
    page.wait_for_url("**/auth/password")
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_text("两次输入的新密码不一致。")).to_be_visible()
    page.screenshot(path=str(tmp_path / "password-mismatch.png"), full_page=True)

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_url(live_server + "/")
    expect(page.get_by_text("密码已修改；其他设备上的登录已失效。")).to_be_visible()

    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/auth/login")
    page.get_by_label("用户名").fill("jichu")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("用户名或密码错误")).to_be_visible()  # the old one is refused

    page.get_by_label("用户名").fill("jichu")
    page.get_by_label("密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(live_server + "/")
    expect(page.get_by_role("button", name="jichu（基础教育股）")).to_be_visible()
    assert errors == []
