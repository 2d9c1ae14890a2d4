"""PostgreSQL + Redis + a real worker process + a real SMTP server (aiosmtpd): a new comment
becomes a case the routing table assigns, and its department receives the email."""

import subprocess
import sys

import pytest
from sqlalchemy import select, update

from huiying import settings as settings_module
from huiying.db import session_scope
from huiying.models import Case, Comment, Department, Notification, Source
from huiying.queue import enqueue_comments, producer
from tests.conftest import clean_env, empty_database, huiying, last_json, use_env, wait_until

pytestmark = pytest.mark.integration

DEPARTMENT_MAIL = "jichu@edu.example.cn"
TITLE = "城关二小招生划片范围什么时候公布？"


@pytest.fixture
def production_env(tmp_path, pg_url, redis_url, smtp_server, monkeypatch):
    _, port = smtp_server
    env = clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=pg_url,
                    HUIYING_BROKER_URL=redis_url, HUIYING_ADMIN_PASSWORD="admin-password-1",
                    HUIYING_SECRET_KEY="x" * 32, HUIYING_SMTP_HOST="127.0.0.1",
                    HUIYING_SMTP_PORT=str(port), HUIYING_SMTP_FROM="yq@edu.example.cn",
                    HUIYING_BASE_URL="https://yq.edu.example.cn")
    huiying("db", "upgrade", env=env)
    use_env(monkeypatch, env)  # this process sends tasks with the same settings
    yield env
    empty_database(pg_url)


def test_an_assigned_case_is_emailed_by_the_worker(production_env, pg_url, smtp_server, tmp_path):
    mailbox, _ = smtp_server
    settings = settings_module.load()
    with session_scope(pg_url) as session:
        session.execute(update(Department).where(Department.name == "基础教育股")
                        .values(email=DEPARTMENT_MAIL))
        source = Source(name="board")
        session.add(source)
        session.flush()
        comment = Comment(source_id=source.id, external_id="1", title=TITLE,
                          body="孩子明年上一年级，联系电话13812345678。", content_hash="1")
        session.add(comment)
    enqueue_comments(settings, [comment.id])

    def case_id():
        with session_scope(pg_url) as session:
            return session.scalar(select(Case.id).where(Case.title == TITLE))

    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([sys.executable, "-m", "huiying", "worker", "--concurrency", "1"],
                                  env=production_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            new_case = wait_until(case_id, timeout=120, message="the worker did not make a case")
            # What the scheduler sends every minute, sent now; the scan asks for the sending.
            producer(settings).send_task("worker.tasks.scan_notifications")
            wait_until(lambda: mailbox.to(DEPARTMENT_MAIL), timeout=90,
                       message="the department's email did not arrive")
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    (mail,) = mailbox.to(DEPARTMENT_MAIL)
    assert mail["Subject"] == f"【回应】派单通知：{TITLE}（一般）"
    body = mail.get_content()
    assert f"https://yq.edu.example.cn/cases/{new_case}" in body
    assert "138****5678" in body and "13812345678" not in body
    assert mail["X-Huiying-Key"].startswith("assign:")
    with session_scope(pg_url) as session:
        row = session.scalar(select(Notification).where(Notification.recipient == DEPARTMENT_MAIL))
        assert (row.status, row.attempts, row.case_id) == ("sent", 1, new_case)

    # Done once: the command line finds nothing more to create or send.
    summary = last_json(huiying("notify", "run", "--json", env=production_env).stdout)
    # No press officer has an address here: no briefing either, whatever the hour.
    assert summary == {"assign": 0, "alert": 0, "spike": 0, "remind": 0, "overdue": 0, "brief": 0,
                       "monthly": 0, "crawl": 0,
                       "sent": 0, "retrying": 0, "failed": 0, "skipped": 0, "pending": 0}
    assert len(mailbox.to(DEPARTMENT_MAIL)) == 1
