"""Email notifications: the scan turns facts into rows once, a real SMTP server (aiosmtpd)
receives what is sent, failures back off and give up."""

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from huiying import hot_terms, notify, workflow
from huiying import settings as settings_module
from huiying.cases import process_comments
from huiying.db import session_scope
from huiying.errors import SettingsError
from huiying.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Comment,
    Department,
    Notification,
    Source,
    User,
    utcnow,
)
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


def rows(url, kind=None, channel="email"):
    """The rows of one channel (email unless told): each fact also has in-app rows."""
    with session_scope(url) as session:
        query = select(Notification).where(Notification.channel == channel).order_by(Notification.id)
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


def news(created):
    """The counts without the daily briefing and the monthly report: those depend on the clock
    alone (tests below, and tests/core/test_monthly_email.py)."""
    return {kind: n for kind, n in created.items() if kind not in ("brief", "monthly")}


def not_brief(mails):
    return [m for m in mails if "舆情日报" not in m["Subject"] and "回应月报" not in m["Subject"]]


def test_every_form_of_personal_data_is_masked_in_subject_and_body(database, office):
    from tests.personal_data import ALL_CLEAR, FORMS

    title = f"城关二小招生划片 家长联系方式 {ALL_CLEAR}"
    process(database, (title, f"孩子明年上一年级，请联系 {ALL_CLEAR}。"))
    run_scan(database, office)
    (mail,) = [n for n in rows(database, "assign") if n.recipient == DEPARTMENT_MAIL]
    for name, (clear, masked) in FORMS.items():
        for part, text in (("subject", mail.subject), ("body", mail.body)):
            assert clear not in text, f"{name} in clear in the {part}"
            assert masked in text, f"{name} not masked as {masked!r} in the {part}"


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

    assert set(news(run_scan(database, office)).values()) == {0}  # nothing new: nothing created


def test_an_assignment_by_anyone_is_announced_and_an_escalation_alerts(database, office):
    ids = process(database, ("关于学校的一点建议", "希望教育局多听听家长的意见。"))
    case_id = ids["关于学校的一点建议"]
    assert run_scan(database, office)["assign"] == 0  # in triage: nobody to tell yet
    with session_scope(database) as session:
        case = session.get(Case, case_id)
        department = session.scalar(select(Department).where(Department.name == "基础教育股"))
        press = session.scalar(select(User).where(User.username == "press"))
        # A press officer's assignment, and an escalation as huiying/workflow.py records it
        # (state in the case's columns): the scan finds both.
        workflow.assign(session, case, press, department, note="宣传办派单")
        case.severity, case.escalated_at = "较大", utcnow()
        session.add(CaseEvent(case=case, action="escalate", data={"from": "一般", "to": "较大"}))
    created = run_scan(database, office)
    assert created["assign"] == 2 and created["alert"] == 1
    assert {n.recipient for n in rows(database, "assign")} == {DEPARTMENT_MAIL, CLERK_MAIL}
    assert rows(database, "alert")[0].key.startswith(f"alert:{case_id}:较大:")
    assert set(news(run_scan(database, office)).values()) == {0}


def test_reminder_before_and_催办_after_the_deadline(database, office):
    ids = process(database, ROUTINE)
    with session_scope(database) as session:
        case = session.get(Case, ids[ROUTINE[0]])
        started, due = case.first_seen_at, case.due_at  # the clock runs from when the public wrote
    clock = due - started
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
    assert set(news(run_scan(database, office, now=due + timedelta(hours=30))).values()) == {0}


def test_negative_spike_alerts_the_press_office_once_an_hour(database, office):
    # Within one clock hour (the alert's key), also for the scan a minute later: at 59 minutes
    # past, that scan would fall in the next hour and rightly alert again.
    now = utcnow().replace(minute=20, second=0, microsecond=0)

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

    (alert,) = not_brief(mailbox.to(PRESS_MAIL))
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
    assert [m["Subject"] for m in not_brief(mailbox.to(PRESS_MAIL))] == [f"【回应】重大舆情预警：{MAJOR[0]}"]
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


def test_after_an_outage_waiting_mail_goes_as_soon_as_the_server_is_back(database, office, smtp_server):
    mailbox, port = smtp_server
    process(database, ROUTINE)
    run_scan(database, office)
    down, up = smtp(office, free_port()), smtp(office, port)
    now = utcnow()
    count = len(rows(database))
    assert run_send(database, down, now=now)["retrying"] == count
    idle = {"sent": 0, "retrying": 0, "failed": 0, "skipped": 0}
    # Still down half a minute later: the probe fails, and it counts as nobody's attempt.
    assert run_send(database, down, now=now + timedelta(seconds=30)) == idle
    assert {(n.attempts, n.status) for n in rows(database)} == {(1, "pending")}
    # Back 40 s after the failure: the rows go now, not at their backoff (a minute after it).
    assert run_send(database, up, now=now + timedelta(seconds=40)) == {**idle, "sent": count}
    assert {n.status for n in rows(database)} == {"sent"} and mailbox.to(DEPARTMENT_MAIL)


def test_a_failure_for_its_address_keeps_its_backoff_when_others_are_sent(database, office, smtp_server):
    mailbox, port = smtp_server
    process(database, ROUTINE)
    run_scan(database, office)
    with session_scope(database) as session:  # a temporary refusal: retried after its backoff
        row = session.scalar(select(Notification).where(Notification.recipient == CLERK_MAIL))
        row.attempts, row.last_error = 1, "SMTPRecipientsRefused: 450 mailbox busy"
        row.next_attempt_at = utcnow() + timedelta(minutes=5)
    run_send(database, smtp(office, port))
    (waiting,) = [n for n in rows(database) if n.recipient == CLERK_MAIL]
    assert waiting.status == "pending" and waiting.attempts == 1


def test_notify_retry_sends_waiting_and_given_up_rows_now(database, office, smtp_server, tmp_path):
    mailbox, port = smtp_server
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path), HUIYING_SMTP_HOST="127.0.0.1",
                    HUIYING_SMTP_PORT=str(port), HUIYING_BASE_URL="https://yq.edu.example.cn/")
    process(database, ROUTINE)
    run_scan(database, office)
    later = utcnow() + timedelta(hours=1)
    with session_scope(database) as session:
        waiting = session.scalars(select(Notification).where(Notification.channel == "email")).all()
        for row in waiting:  # backing off after failures for their own reasons: not released by a send
            row.attempts, row.last_error, row.next_attempt_at = 2, "SMTPDataError: 451 try later", later
        given_up = next(row for row in waiting if row.recipient == DEPARTMENT_MAIL)
        given_up.status, given_up.attempts, given_up.next_attempt_at = "failed", 6, None
    count = len(waiting)

    summary = last_json(huiying("notify", "retry", "--json", env=env).stdout)
    assert summary["released_waiting"] == summary["sent"] == count - 1 and "released_failed" not in summary
    assert mailbox.to(CLERK_MAIL) and not mailbox.to(DEPARTMENT_MAIL)
    summary = last_json(huiying("notify", "retry", "--failed", "--json", env=env).stdout)
    assert summary["released_failed"] == summary["sent"] == 1 and summary["pending"] == 0
    assert mailbox.to(DEPARTMENT_MAIL)


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
    monkeypatch.setattr(notify.sending, "_warned", set())
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


def test_the_notify_commands(tmp_path, smtp_server, migrated_sqlite):
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

    url = migrated_sqlite(tmp_path, "admin-password-1")
    with session_scope(url) as session:
        session.execute(update(Department).where(Department.name == "基础教育股")
                        .values(email=DEPARTMENT_MAIL))
    process(url, ROUTINE)
    summary = last_json(huiying("notify", "run", "--json", env=env).stdout)
    # No press officer with an address here: no briefing, whatever the hour.
    assert summary == {"assign": 1, "alert": 0, "spike": 0, "remind": 0, "overdue": 0, "brief": 0,
                       "monthly": 0, "crawl": 0,
                       "sent": 1, "retrying": 0, "failed": 0, "skipped": 0, "pending": 0}
    assert mailbox.to(DEPARTMENT_MAIL)
    again = huiying("notify", "run", env=env).stdout
    assert "assign: 0" in again and "sent: 0" in again


# --- the daily briefing (舆情日报) ---------------------------------------------------------------

BRIEF_NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 on 2026-11-25 in Asia/Shanghai
DAY_START = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 2026-11-24 00:00 local
DAY_END = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # 2026-11-25 00:00 local
BOSS_MAIL = "boss@edu.example.cn"
PHONE_TITLE = "家长13812345678反映食堂问题"


def add_case(session, n, title, severity, created, status=CaseStatus.TRIAGE, due=None):
    case = Case(title=title, fingerprint=f"brief-{n}", severity=severity, status=status,
                first_seen_at=created, created_at=created, due_at=due)
    session.add(case)
    return case


def reply_event(session, case, at, on_time):
    """A reply as huiying/workflow.py records it: the event, and the case's columns."""
    session.add(CaseEvent(case=case, action="reply", at=at, note="已答复。", data={"on_time": on_time}))
    case.first_reply_at, case.replied_on_time = at, on_time


def add_comment(session, n, text, *, relevant=True, negative=False, published=None, fetched=None):
    source = session.scalar(select(Source).where(Source.name == "t")) or Source(name="t")
    session.add(Comment(source=source, external_id=f"brief-{n}", title=text, text_norm=text,
                        content_hash=f"brief-{n}", relevant=relevant, published_at=published,
                        fetched_at=fetched or BRIEF_NOW, processed_at=BRIEF_NOW,
                        sentiment_label="negative" if negative else "positive"))


def a_busy_day(url):
    """2026-11-24 local: four new cases (one 重大, one 较大 with a phone number in its title),
    five relevant comments (two negative), two cases answered (one late); one case overdue now."""
    noon = DAY_START + timedelta(hours=12)
    with session_scope(url) as session:
        add_case(session, 1, MAJOR[0], "重大", noon)
        add_case(session, 2, PHONE_TITLE, "较大", noon, due=BRIEF_NOW + timedelta(days=1))
        answered = add_case(session, 3, "招生划片咨询", "一般", noon, CaseStatus.REPLIED)
        add_case(session, 4, "午夜来信", "一般", DAY_START)  # 00:00 local: the day's first instant
        add_case(session, 5, "今天的新案件", "较大", DAY_END)  # 00:00 on the 25th: not yesterday's
        late = add_case(session, 6, "前天的案件", "一般", DAY_START - timedelta(hours=20), CaseStatus.REPLIED,
                        due=DAY_START + timedelta(hours=2))
        add_case(session, 7, "校车停运无人答复", "一般", DAY_START - timedelta(days=4), CaseStatus.ASSIGNED,
                 due=DAY_START + timedelta(hours=16))
        reply_event(session, answered, noon + timedelta(hours=1), True)
        reply_event(session, late, DAY_START - timedelta(hours=6), True)  # the day before: not counted
        reply_event(session, late, noon + timedelta(hours=2), False)
        texts = ["校车停运了孩子怎么上学", "校车司机换人了吗", "校车停运通知太晚", "食堂价格太贵"]
        for n, text in enumerate(texts):
            add_comment(session, n, text, negative=n < 2, published=noon + timedelta(minutes=n))
        add_comment(session, 10, "校车又晚点了", fetched=noon)  # no date: when it was fetched
        add_comment(session, 11, "校车校车", relevant=False, negative=True, published=noon)
        add_comment(session, 12, "今天校车", negative=True, published=DAY_END + timedelta(minutes=5))
        session.flush()
        # The hot-word terms, as the worker counts them when it processes a comment.
        comments = session.scalars(select(Comment)).all()
        hot_terms.count_comments(session, comments, settings_module.load().timezone)
        return {case.title: case.id for case in session.scalars(select(Case))}


@pytest.fixture
def press_office(database, office):
    with session_scope(database) as session:
        create_user(session, "boss", "password-123", "admin", email=BOSS_MAIL)
    return replace(office, brief_hour=8)  # the default, whatever the environment says


def test_the_briefing_comes_once_a_day_from_the_hour_on(database, press_office):
    before = datetime(2026, 11, 24, 23, 59, tzinfo=UTC)  # 07:59 local
    assert run_scan(database, press_office, now=before)["brief"] == 0
    assert run_scan(database, press_office, now=BRIEF_NOW)["brief"] == 2  # one per press officer
    assert [(n.recipient, n.key, n.case_id) for n in rows(database, "brief")] == [
        (PRESS_MAIL, f"brief:2026-11-24:{PRESS_MAIL}", None),
        (BOSS_MAIL, f"brief:2026-11-24:{BOSS_MAIL}", None)]
    assert rows(database, "brief")[0].subject == "【回应】舆情日报 2026-11-24"
    assert run_scan(database, press_office, now=BRIEF_NOW + timedelta(hours=14))["brief"] == 0  # 23:00
    next_day = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 08:00 local on the 26th
    assert run_scan(database, press_office, now=next_day - timedelta(minutes=1))["brief"] == 0
    assert run_scan(database, press_office, now=next_day)["brief"] == 2
    assert {n.key for n in rows(database, "brief")} >= {f"brief:2026-11-25:{BOSS_MAIL}"}
    later = replace(press_office, brief_hour=10)
    assert run_scan(database, later, now=next_day + timedelta(days=1, hours=1))["brief"] == 0  # 09:00
    assert run_scan(database, later, now=next_day + timedelta(days=1, hours=2))["brief"] == 2  # 10:00


def test_the_briefing_counts_the_day_before_and_arrives_in_chinese(database, press_office, smtp_server):
    mailbox, port = smtp_server
    ids = a_busy_day(database)
    run_scan(database, press_office, now=BRIEF_NOW)
    run_send(database, smtp(press_office, port), now=BRIEF_NOW)
    (mail,) = [m for m in mailbox.to(BOSS_MAIL) if "舆情日报" in m["Subject"]]
    assert mail["Subject"] == "【回应】舆情日报 2026-11-24"
    body = mail.get_content()
    link = "https://yq.edu.example.cn/cases/{}".format
    assert body.startswith("宣传办：\n\n2026-11-24（2026-11-24 00:00 至 2026-11-25 00:00）舆情概况如下。")
    lines = body.splitlines()
    assert "一、新增案件：4 件（重大 1、较大 1、一般 2）" in lines
    assert f"· #{ids[MAJOR[0]]} {MAJOR[0]}【重大】：{link(ids[MAJOR[0]])}" in lines
    phone = ids[PHONE_TITLE]
    assert f"· #{phone} 家长138****5678反映食堂问题【较大】：{link(phone)}" in lines
    assert "13812345678" not in body and "今天的新案件" not in body
    assert "二、相关留言：5 条，其中负面 2 条（占 40.0%）" in lines
    assert "三、当前超时未回复：1 件" in lines
    assert f"· #{ids['校车停运无人答复']} 校车停运无人答复（时限 2026-11-24 16:00）：" \
           f"{link(ids['校车停运无人答复'])}" in lines
    assert "四、昨日回复：2 件，其中按时 1 件、超时 1 件" in lines
    (words,) = [line for line in lines if line.startswith("五、昨日热词：")]
    assert words.startswith("五、昨日热词：校车") and len(words.split("：")[1].split("、")) <= 5
    assert "舆情看板：https://yq.edu.example.cn/" in lines
    assert body.endswith(notify.FOOTER + "\n")
    assert len([m for m in mailbox.to(PRESS_MAIL) if "舆情日报" in m["Subject"]]) == 1


def test_an_empty_day_still_gets_a_short_briefing(database, press_office):
    run_scan(database, press_office, now=BRIEF_NOW)
    (row, _) = rows(database, "brief")
    lines = row.body.splitlines()
    assert "一、新增案件：昨日无新增案件" in lines
    assert "二、相关留言：0 条，其中负面 0 条（占 —）" in lines
    assert "三、当前超时未回复：0 件" in lines and "四、昨日回复：0 件，其中按时 0 件、超时 0 件" in lines
    assert "五、昨日热词：无" in lines
    assert len(lines) < 15


def test_the_briefing_counts_cases_by_when_the_public_wrote(database, press_office):
    """Comments of 23:50 processed at 00:10: the case is yesterday's, as its comments are."""
    late_evening = DAY_END - timedelta(minutes=10)
    with session_scope(database) as session:
        case = add_case(session, 1, "深夜反映校车问题", "一般", late_evening)
        case.created_at = DAY_END + timedelta(minutes=10)  # the worker's time, after midnight
        add_comment(session, 1, "深夜反映校车问题", published=late_evening)
    run_scan(database, press_office, now=BRIEF_NOW)
    lines = rows(database, "brief")[0].body.splitlines()
    assert "一、新增案件：1 件（重大 0、较大 0、一般 1）" in lines
    assert "二、相关留言：1 条，其中负面 0 条（占 0.0%）" in lines


@pytest.mark.parametrize(("value", "message"), [("24", "at most 23"), ("8点", "whole number"),
                                                 ("-1", "at least 0")])
def test_brief_hour_is_validated(monkeypatch, tmp_path, value, message):
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUIYING_BRIEF_HOUR", value)
    with pytest.raises(SettingsError, match=f"HUIYING_BRIEF_HOUR must be .*{message}"):
        settings_module.load()
