"""/admin/mail: the notifications waiting or given up, and resending them without SQL."""

from datetime import timedelta

from sqlalchemy import select

from huiying.models import Notification, utcnow

from .admin_helpers import audit_events, post_form
from .conftest import PASSWORD


def add_rows(db):
    later = utcnow() + timedelta(minutes=8)
    db.add_all([
        Notification(key="w", kind="assign", recipient="jichu@edu.example.cn", subject="派单", body="派单",
                     status="pending", attempts=3, last_error="SMTPDataError: 451 try later",
                     next_attempt_at=later),
        Notification(key="f", kind="alert", recipient="press@edu.example.cn", subject="预警", body="预警",
                     status="failed", attempts=6, last_error="ConnectionRefusedError: refused"),
        Notification(key="s", kind="brief", recipient="boss@edu.example.cn", subject="日报", body="日报",
                     status="sent", attempts=1),
    ])
    db.commit()


def statuses(db):
    db.expire_all()
    return {n.key: (n.status, n.attempts, n.next_attempt_at is not None and n.next_attempt_at > utcnow())
            for n in db.scalars(select(Notification))}


def test_admin_sees_waiting_and_failed_rows_and_resends_them(client, auth, db):
    add_rows(db)
    auth.login()
    page = client.get("/admin/mail/").text
    assert "邮件通知" in page and "派单通知" in page and "重大/较大预警" in page
    assert "ConnectionRefusedError" in page and "日报" not in page.split("mail-rows", 1)[1]

    assert post_form(client, "/admin/mail/retry", "/admin/mail/", waiting="1").status_code == 302
    assert statuses(db) == {"w": ("pending", 3, False), "f": ("failed", 6, False), "s": ("sent", 1, False)}
    assert "已安排重新发送 1 条通知" in client.get("/admin/mail/").text

    post_form(client, "/admin/mail/retry", "/admin/mail/", failed="1")
    assert statuses(db)["f"] == ("pending", 0, False)
    assert [(e.action, e.data) for e in audit_events(db, "notification")] == [
        ("notification.retry", {"waiting": 1}), ("notification.retry", {"waiting": 0, "failed": 1})]


def test_only_admins_see_or_resend(client, auth, db, users):
    add_rows(db)
    auth.login("press", PASSWORD)
    assert client.get("/admin/mail/").status_code == 403
    assert client.post("/admin/mail/retry", data={"failed": "1"}).status_code in (400, 403)
    assert statuses(db)["f"] == ("failed", 6, False)


def test_the_page_names_each_row_s_channel_and_an_outage(client, auth, db):
    db.add_all([
        Notification(channel="wecom", key="alert:1:重大:group", kind="alert", recipient="group",
                     subject="预警", body="预警", status="pending", attempts=1, outage=True,
                     last_error="ConnectionRefusedError: [Errno 111] Connection refused"),
        Notification(channel="inapp", key="alert:1:重大:user:1", kind="alert", recipient="admin", user_id=1,
                     subject="站内", body="站内", status="sent", attempts=0),
    ])
    db.commit()
    auth.login()
    rows = client.get("/admin/mail/").text.split("mail-rows", 1)[1]
    assert "企业微信" in rows and "群聊" in rows and "服务器无法连接：ConnectionRefusedError" in rows
    assert "站内" not in rows  # in-app rows are delivered when made: nothing to send
