"""Email notifications: the scan turns facts into rows once, a real SMTP server (aiosmtpd)
receives what is sent, failures back off and give up."""

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from huiying import notify
from huiying import settings as settings_module
from huiying.cases import process_comments
from huiying.db import session_scope
from huiying.errors import SettingsError
from huiying.models import Case, CaseEvent, CaseStatus, Comment, Department, Notification, User, utcnow
from huiying.notify import scan, send_pending
from huiying.users import create_user
from tests.conftest import clean_env, free_port, huiying, last_json
from tests.core.conftest import add_comments

ROUTINE = ("城关二小招生划片范围什么时候公布？", "孩子明年上一年级，家长电话13812345678，"
           "身份证号110101201001011234。")
MAJOR = ("城关二小门口聚集讨说法", "今天下午很多家长在城关二小门口，要求学校公开食堂账目。")
DEPARTMENT_MAIL = "jichu@edu.example.cn"
CLERK_MAIL = "clerk@edu.example.cn"
PRESS_MAIL = "press@edu.example.cn"


@pytest.fixture
def office(database, monkeypatch):
    """Settings, with a department address, a department clerk and press officers (one inactive)."""
    monkeypatch.setenv("HUIYING_BASE_URL", "https://yq.edu.example.cn/")
    with session_scope(database) as session:
        session.execute(update(Department).where(Department.name == "基础教育股")
                        .values(email=DEPARTMENT_MAIL))
        create_user(session, "clerk", "password-123", "department", "基础教育股", CLERK_MAIL)
        create_user(session, "press", "password-123", "press", email=PRESS_MAIL)
        create_user(session, "gone", "password-123", "press", email="gone@edu.example.cn").active = False
        create_user(session, "nomail", "password-123", "press")
    return settings_module.load()


def process(url, *texts):
    with session_scope(url) as session:
        process_comments(session, add_comments(url, *texts))
        return {c.title: c.id for c in session.scalars(select(Case))}


def rows(url, kind=None):
    with session_scope(url) as session:
        query = select(Notification).order_by(Notification.id)
        if kind:
            query = query.where(Notification.kind == kind)
        return list(session.scalars(query))


def run_scan(url, settings, now=None):
    with session_scope(url) as session:
        return scan(session, settings, now=now)


def run_send(url, settings, now=None):
    with session_scope(url) as session:
        return send_pending(session, settings, now=now)


def smtp(settings, port):
    return replace(settings, smtp_host="127.0.0.1", smtp_port=port)


def test_assignment_and_alert_are_created_once(database, office):
    ids = process(database, ROUTINE, MAJOR)
    created = run_scan(database, office)
    assert created["assign"] >= 2 and created["alert"] == 1
    assert created["spike"] == created["remind"] == created["overdue"] == 0

    assign = {(n.case_id, n.recipient) for n in rows(database, "assign")}
    assert {(ids[ROUTINE[0]], DEPARTMENT_MAIL), (ids[ROUTINE[0]], CLERK_MAIL)} <= assign
    alert = rows(database, "alert")
    assert [(n.case_id, n.recipient, n.key) for n in alert] == [
        (ids[MAJOR[0]], PRESS_MAIL, f"alert:{ids[MAJOR[0]]}:重大:{PRESS_MAIL}")]
    with session_scope(database) as session:
        event_id = session.scalar(select(CaseEvent.id).where(CaseEvent.action == "assign"))
    assert rows(database, "assign")[0].key == f"assign:{event_id}:{DEPARTMENT_MAIL}"

    assert set(run_scan(database, office).values()) == {0}  # nothing new: nothing created


def test_an_assignment_by_anyone_is_announced_and_an_escalation_alerts(database, office):
    ids = process(database, ("关于学校的一点建议", "希望教育局多听听家长的意见。"))
    case_id = ids["关于学校的一点建议"]
    assert run_scan(database, office)["assign"] == 0  # in triage: nobody to tell yet
    with session_scope(database) as session:
        case = session.get(Case, case_id)
        department = session.scalar(select(Department).where(Department.name == "基础教育股"))
        press = session.scalar(select(User).where(User.username == "press"))
        # What a press officer's action (any code) appends: the scan finds it all the same.
        case.department, case.status, case.severity = department, "已派单", "较大"
        session.add(CaseEvent(case=case, action="assign", actor_id=press.id, note="宣传办派单",
                              data={"department_id": department.id}))
        session.add(CaseEvent(case=case, action="escalate", data={"from": "一般", "to": "较大"}))
    created = run_scan(database, office)
    assert created["assign"] == 2 and created["alert"] == 1
    assert {n.recipient for n in rows(database, "assign")} == {DEPARTMENT_MAIL, CLERK_MAIL}
    assert rows(database, "alert")[0].key.startswith(f"alert:{case_id}:较大:")
    assert set(run_scan(database, office).values()) == {0}


def test_reminder_before_and_催办_after_the_deadline(database, office):
    ids = process(database, ROUTINE)
    with session_scope(database) as session:
        case = session.get(Case, ids[ROUTINE[0]])
        created, due = case.created_at, case.due_at
    clock = due - created
    assert run_scan(database, office, now=due - clock * 0.3)["remind"] == 0  # too early
    assert run_scan(database, office, now=due - clock * 0.1)["remind"] == 2
    assert run_scan(database, office, now=due - clock * 0.05)["remind"] == 0  # once per deadline
    overdue = run_scan(database, office, now=due + timedelta(hours=1))
    assert overdue["overdue"] == 3  # department, its clerk and the press office
    assert {n.recipient for n in rows(database, "overdue")} == {DEPARTMENT_MAIL, CLERK_MAIL, PRESS_MAIL}
    assert "催办" in rows(database, "overdue")[0].subject
    assert run_scan(database, office, now=due + timedelta(hours=2))["overdue"] == 0

    # An extension is a new deadline: a new reminder, and a new 催办 if it passes too.
    with session_scope(database) as session:
        session.get(Case, ids[ROUTINE[0]]).due_at = due + timedelta(hours=24)
    assert run_scan(database, office, now=due + timedelta(hours=23))["remind"] == 2
    # A case answered is left alone.
    with session_scope(database) as session:
        session.get(Case, ids[ROUTINE[0]]).status = "已回复"
    assert set(run_scan(database, office, now=due + timedelta(hours=30)).values()) == {0}


def test_negative_spike_alerts_the_press_office_once_an_hour(database, office):
    now = utcnow()

    def negative(count, start):
        with session_scope(database) as session:
            source_id = session.scalar(select(Comment.source_id).limit(1))
            session.add_all(Comment(source_id=source_id, external_id=f"neg-{start + n}", title="食堂太差",
                                    content_hash=f"neg-{start + n}", relevant=True,
                                    sentiment_label="negative", processed_at=now,
                                    fetched_at=now - timedelta(minutes=5)) for n in range(count))

    process(database, ROUTINE)
    negative(10, 0)
    assert run_scan(database, office, now=now)["spike"] == 0  # 10 is not more than 10
    negative(1, 10)
    assert run_scan(database, office, now=now)["spike"] == 1
    spike = rows(database, "spike")
    assert [n.recipient for n in spike] == [PRESS_MAIL] and "近1小时 11 条" in spike[0].subject
    assert run_scan(database, office, now=now + timedelta(minutes=1))["spike"] == 0
    assert run_scan(database, office, now=now + timedelta(hours=2))["spike"] == 0  # they are old now


def test_emails_arrive_in_chinese_with_personal_data_masked(database, office, smtp_server):
    mailbox, port = smtp_server
    ids = process(database, ROUTINE, MAJOR)
    run_scan(database, office)
    settings = smtp(office, port)
    sent = run_send(database, settings)
    assert sent == {"sent": len(rows(database)), "retrying": 0, "failed": 0, "skipped": 0}
    assert {n.status for n in rows(database)} == {"sent"}
    assert run_send(database, settings) == {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}  # sent once

    (mail,) = [m for m in mailbox.to(DEPARTMENT_MAIL) if ROUTINE[0] in m["Subject"]]
    assert mail["Subject"] == f"【回应】派单通知：{ROUTINE[0]}（一般）"
    assert mail["From"] == office.smtp_from and mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_content()
    assert body.startswith("基础教育股：")
    assert f"https://yq.edu.example.cn/cases/{ids[ROUTINE[0]]}" in body
    assert "等级：一般" in body and "办理时限：20" in body
    assert "138****5678" in body and "13812345678" not in body
    assert "110101********1234" in body and "110101201001011234" not in body
    with session_scope(database) as session:
        due = session.get(Case, ids[ROUTINE[0]]).due_at
    from zoneinfo import ZoneInfo

    assert due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") in body

    (alert,) = mailbox.to(PRESS_MAIL)
    assert alert["Subject"] == f"【回应】重大舆情预警：{MAJOR[0]}"
    assert "请立即研判处置" in alert.get_content()
    assert not mailbox.to("gone@edu.example.cn")


def test_a_request_to_act_on_a_case_done_meanwhile_is_skipped(database, office, smtp_server):
    mailbox, port = smtp_server
    ids = process(database, ROUTINE, MAJOR)
    run_scan(database, office)  # SMTP not configured yet: the rows wait
    with session_scope(database) as session:
        session.get(Case, ids[ROUTINE[0]]).status = CaseStatus.CLOSED
    waiting = {n.kind for n in rows(database) if n.case_id == ids[ROUTINE[0]]}
    assert waiting == {"assign"}
    result = run_send(database, smtp(office, port))
    assert result["skipped"] == len([n for n in rows(database) if n.case_id == ids[ROUTINE[0]]])
    assert not [m for m in mailbox.to(DEPARTMENT_MAIL) if ROUTINE[0] in m["Subject"]]
    assert [m["Subject"] for m in mailbox.to(PRESS_MAIL)] == [f"【回应】重大舆情预警：{MAJOR[0]}"]
    assert {n.status for n in rows(database) if n.case_id == ids[ROUTINE[0]]} == {"skipped"}


def test_failures_back_off_then_give_up(database, office, caplog):
    process(database, ROUTINE)
    run_scan(database, office)
    settings = smtp(office, free_port())  # nothing listens there
    now = utcnow()
    count = len(rows(database))
    assert run_send(database, settings, now=now) == {"sent": 0, "retrying": count, "failed": 0, "skipped": 0}
    row = rows(database)[0]
    assert row.attempts == 1 and row.status == "pending" and "ConnectionRefused" in row.last_error
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert run_send(database, settings, now=now + timedelta(seconds=30))["retrying"] == 0  # not yet due

    waits = []
    with caplog.at_level(logging.ERROR, logger="huiying.notify"):
        for _ in range(5):
            row = rows(database)[0]
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
            result = run_send(database, settings, now=now)
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert result == {"sent": 0, "retrying": 0, "failed": count, "skipped": 0}
    assert {(n.status, n.attempts) for n in rows(database)} == {("failed", 6)}
    assert "giving up" in caplog.text
    assert run_send(database, settings, now=now + timedelta(days=1))["failed"] == 0


def test_a_refused_address_fails_at_once_and_the_others_are_sent(database, office, smtp_server):
    mailbox, port = smtp_server
    mailbox.reject.add(CLERK_MAIL)
    process(database, ROUTINE)
    run_scan(database, office)
    result = run_send(database, smtp(office, port))
    assert result["failed"] == 1 and result["sent"] == len(rows(database)) - 1
    (refused,) = [n for n in rows(database) if n.recipient == CLERK_MAIL]
    assert refused.status == "failed" and "550" in refused.last_error
    assert mailbox.to(DEPARTMENT_MAIL) and not mailbox.to(CLERK_MAIL)


def test_without_an_smtp_host_rows_wait_and_one_warning_is_logged(database, office, caplog, monkeypatch):
    monkeypatch.setattr(notify, "_warned_no_smtp", False)
    process(database, ROUTINE)
    run_scan(database, office)
    assert office.smtp_host is None
    with caplog.at_level(logging.WARNING, logger="huiying.notify"):
        assert run_send(database, office) == {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
        assert run_send(database, office) == {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    assert caplog.text.count("HUIYING_SMTP_HOST is not set") == 1
    assert {(n.status, n.attempts) for n in rows(database)} == {("pending", 0)}


def test_base_url_is_validated(monkeypatch, tmp_path):
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUIYING_BASE_URL", "yq.edu.example.cn")
    with pytest.raises(SettingsError, match="HUIYING_BASE_URL must be the dashboard's address"):
        settings_module.load()


def test_the_notify_commands(tmp_path, smtp_server):
    mailbox, port = smtp_server
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_SMTP_HOST="127.0.0.1",
                    HUIYING_SMTP_PORT=str(port), HUIYING_SMTP_FROM="回应系统 <yq@edu.example.cn>")
    sent = huiying("notify", "test", "a@edu.example.cn", env=env).stdout
    assert "test email sent to a@edu.example.cn" in sent
    (mail,) = mailbox.to("a@edu.example.cn")
    assert mail["Subject"] == "【回应】测试邮件" and "说明邮件发送设置正确" in mail.get_content()
    assert mail["From"].addresses[0].display_name == "回应系统"

    closed = huiying("notify", "test", "a@edu.example.cn", check=False,
                     env={**env, "HUIYING_SMTP_PORT": str(free_port())})
    lines = [line for line in closed.stderr.splitlines() if line.strip()]
    assert closed.returncode == 2 and len(lines) == 1
    assert lines[0].startswith("error: HUIYING_SMTP_HOST: cannot reach the mail server 127.0.0.1:")

    huiying("db", "upgrade", env=env)
    url = f"sqlite:///{tmp_path}/huiying.sqlite3"
    with session_scope(url) as session:
        session.execute(update(Department).where(Department.name == "基础教育股")
                        .values(email=DEPARTMENT_MAIL))
    process(url, ROUTINE)
    summary = last_json(huiying("notify", "run", "--json", env=env).stdout)
    assert summary == {"assign": 1, "alert": 0, "spike": 0, "remind": 0, "overdue": 0,
                       "sent": 1, "retrying": 0, "failed": 0, "skipped": 0, "pending": 0}
    assert mailbox.to(DEPARTMENT_MAIL)
    again = huiying("notify", "run", env=env).stdout
    assert "assign: 0" in again and "sent: 0" in again
