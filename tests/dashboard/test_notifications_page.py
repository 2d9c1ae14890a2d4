"""/notifications (通知): in-app rows made by the scan without any SMTP server, each user's
own only, marked read one by one or all at once (POST with CSRF), with the other channels'
delivery status and the nav bar's unread count."""

import re
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select, update

from huiying.models import Department, Notification
from huiying.notify import scan

from .admin_helpers import post_form
from .conftest import PASSWORD, csrf_token

NOW = datetime(2024, 9, 2, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai: the briefing is due


def badge(html):
    match = re.search(r'nav-notifications[^>]*>[^<]*<span class="badge[^"]*">(\d+)', html)
    return int(match.group(1)) if match else 0


def inapp(db, username):
    db.expire_all()
    return list(db.scalars(select(Notification).where(
        Notification.channel == "inapp", Notification.recipient == username).order_by(Notification.id)))


def scanned(app, db, **settings):
    db.execute(update(Department).where(Department.name == "基础教育股").values(email="jichu@edu.example.cn"))
    db.commit()
    configured = replace(app.config["HUIYING_SETTINGS"], **settings)
    assert configured.smtp_host is None  # no mail server at all
    scan(db, configured, now=NOW)
    db.commit()


def test_without_smtp_each_user_sees_their_own_notifications(app, client, auth, db, users, cases):
    scanned(app, db)
    mine, theirs = inapp(db, "jichu"), inapp(db, "anquan")
    assert mine and theirs and {n.kind for n in mine} == {"assign"}
    assert {n.status for n in mine} == {"sent"} and all(n.read_at is None for n in mine)

    auth.login("jichu", PASSWORD)
    page = client.get("/notifications/").text
    assert "通知" in page and "派单通知" in page
    assert all(n.subject in page for n in mine)
    assert not any(n.subject in page for n in theirs)  # another department's: not shown
    assert "【回应】舆情日报" not in page  # the press office's briefing: not theirs
    assert badge(page) == len(mine) and badge(client.get("/cases/").text) == len(mine)
    # The department's own address has an email row for the same fact, waiting (no SMTP).
    assert "邮件：等待" in page

    # Someone else's row, with a valid token: nothing changes, and the page says so.
    response = post_form(client, "/notifications/read", "/notifications/", notification_id=str(theirs[0].id))
    assert response.status_code == 302
    assert "没有找到这条未读通知。" in client.get(response.location).text
    assert all(n.read_at is None for n in inapp(db, "anquan"))
    assert all(n.read_at is None for n in inapp(db, "jichu"))


def test_marking_read_needs_the_csrf_token_and_the_unread_filter_follows(app, client, auth, db, users, cases):
    scanned(app, db)
    auth.login("press", PASSWORD)
    rows = inapp(db, "press")
    assert {"brief"} <= {n.kind for n in rows}
    first = rows[0]

    refused = client.post("/notifications/read", data={"notification_id": str(first.id)})
    assert refused.status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    assert all(n.read_at is None for n in inapp(db, "press"))

    assert post_form(client, "/notifications/read", "/notifications/",
                     notification_id=str(first.id)).status_code == 302
    after = inapp(db, "press")
    assert after[0].read_at is not None and all(n.read_at is None for n in after[1:])
    unread_page = client.get("/notifications/?unread=1").text
    assert badge(unread_page) == len(rows) - 1
    assert f'name="notification_id" value="{first.id}"' not in unread_page
    assert f'name="notification_id" value="{after[1].id}"' in unread_page
    assert f'name="notification_id" value="{first.id}"' not in client.get("/notifications/").text  # read

    response = post_form(client, "/notifications/read-all", "/notifications/")
    assert response.status_code == 302
    assert all(n.read_at is not None for n in inapp(db, "press"))
    page = client.get("/notifications/", follow_redirects=True).text
    assert badge(page) == 0 and "没有未读通知" in client.get("/notifications/?unread=1").text


def test_the_group_robots_delivery_shows_beside_the_briefing(app, client, auth, db, users, cases):
    scanned(app, db, wecom_webhook="https://qyapi.example.cn/cgi-bin/webhook/send?key=secret-token")
    robot = db.scalars(select(Notification).where(Notification.channel == "wecom")).all()
    kinds = {n.kind for n in robot}
    assert kinds <= {"alert", "spike", "brief", "crawl"} and "brief" in kinds
    assert {n.recipient for n in robot} == {"group"} and len({n.fact for n in robot}) == len(robot)
    (brief,) = [n for n in robot if n.kind == "brief"]
    brief.status = "failed"
    db.commit()
    auth.login()  # the admin is in the press office's audience
    page = client.get("/notifications/").text
    assert "企业微信：失败" in page
    assert "secret-token" not in page


def test_every_role_has_the_page_and_a_visitor_is_sent_to_log_in(client, auth, db, users):
    assert client.get("/notifications/").status_code == 302
    for username, password in (("jichu", PASSWORD), ("press", PASSWORD)):
        auth.login(username, password)
        page = client.get("/notifications/")
        assert page.status_code == 200 and "还没有通知" in page.text
        csrf_token(page.text)  # the read-all form carries the token
        auth.logout()
