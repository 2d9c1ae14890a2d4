"""The 企业微信 and 钉钉 group robots against a real HTTP server on 127.0.0.1: the JSON each
expects, DingTalk's signature, failures (HTTP 500, errcode ≠ 0) retried with backoff and the
row posted once when the robot recovers, an unreachable robot waited out; the settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections import deque
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from huiying import settings as settings_module
from huiying.errors import SettingsError
from huiying.models import utcnow
from huiying.notify import scan, send_pending
from tests.conftest import free_port, serve_in_thread
from tests.core.test_notify import MAJOR, ROUTINE, office, process, rows  # noqa: F401 (a fixture)

TOKEN = "robot-token-4f1c9e"
SECRET = "SECa1b2c3d4e5f6"


class Robot:
    """A group robot's webhook: records each POST (path, query, JSON) and answers from
    `answers` ((HTTP status, JSON) in turn, then errcode 0)."""

    def __init__(self, port: int | None = None) -> None:
        self.received: list[dict] = []
        self.answers: deque[tuple[int, dict]] = deque()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                parts = urlsplit(self.path)
                robot.received.append({
                    "path": parts.path, "query": parse_qs(parts.query),
                    "content_type": self.headers["Content-Type"],
                    "json": json.loads(self.rfile.read(length).decode())})
                status, answer = robot.answers.popleft() if robot.answers else (200, {"errcode": 0,
                                                                                     "errmsg": "ok"})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_port
        self.thread = serve_in_thread(self.server)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def robot():
    server = Robot()
    yield server
    server.stop()


def alerts_only(settings, **robots):
    """Only alerts go to the robots: the briefing and the monthly report depend on the clock."""
    return replace(settings, webhook_kinds=("alert",), **robots)


def run(url, settings, now=None):
    from huiying.db import session_scope

    with session_scope(url) as session:
        return send_pending(session, settings, now=now)


def scanned(url, settings):
    from huiying.db import session_scope

    with session_scope(url) as session:
        scan(session, settings)


def test_wecom_gets_one_markdown_message_per_fact_and_never_twice(database, office, robot):  # noqa: F811
    webhook = f"http://127.0.0.1:{robot.port}/cgi-bin/webhook/send?key={TOKEN}"
    settings = alerts_only(office, wecom_webhook=webhook)
    process(database, ROUTINE, MAJOR)
    scanned(database, settings)
    scanned(database, settings)  # the same facts again: no second row
    (row,) = rows(database, channel="wecom")
    assert row.kind == "alert" and row.recipient == "group" and row.status == "pending"

    assert run(database, settings)["sent"] == 1
    (request,) = robot.received
    assert request["path"] == "/cgi-bin/webhook/send" and request["query"] == {"key": [TOKEN]}
    assert request["content_type"].startswith("application/json")
    assert set(request["json"]) == {"msgtype", "markdown"} and request["json"]["msgtype"] == "markdown"
    content = request["json"]["markdown"]["content"]
    assert set(request["json"]["markdown"]) == {"content"}
    assert content.startswith(f"### {row.subject}\n") and "重大舆情" in content
    assert len(content.encode()) <= 4096
    (sent,) = rows(database, channel="wecom")
    assert sent.status == "sent" and sent.attempts == 1

    later = utcnow() + timedelta(hours=2)
    assert run(database, settings, now=later)["sent"] == 0
    assert len(robot.received) == 1
    assert {n.status for n in rows(database)} == {"pending"}  # the emails wait for SMTP meanwhile


def test_dingtalk_is_signed_retried_after_500_and_errcode_then_posted_once(database, office, robot, caplog):  # noqa: F811
    url = f"http://127.0.0.1:{robot.port}/robot/send?access_token={TOKEN}"
    settings = alerts_only(office, dingtalk_webhook=url, dingtalk_secret=SECRET)
    robot.answers.extend([(500, {"errcode": -1, "errmsg": "system busy"}),
                          (200, {"errcode": 310000, "errmsg": "sign not match"})])
    process(database, ROUTINE, MAJOR)
    scanned(database, settings)

    now = utcnow()
    with caplog.at_level(logging.WARNING, logger="huiying.notify"):
        assert run(database, settings, now=now) == {"sent": 0, "retrying": 1, "failed": 0, "skipped": 0}
        (row,) = rows(database, channel="dingtalk")
        assert row.attempts == 1 and "HTTP 500" in row.last_error and not row.outage
        assert row.next_attempt_at == now + timedelta(minutes=1)
        assert run(database, settings, now=now + timedelta(seconds=30))["retrying"] == 0  # not yet due
        now += timedelta(minutes=1)
        assert run(database, settings, now=now)["retrying"] == 1
        (row,) = rows(database, channel="dingtalk")
        assert row.last_error == "errcode 310000: sign not match"
        assert row.next_attempt_at == now + timedelta(minutes=2)
        now += timedelta(minutes=2)
        assert run(database, settings, now=now)["sent"] == 1
    for later in (now, now + timedelta(hours=1), now + timedelta(days=1)):
        assert run(database, settings, now=later)["sent"] == 0
    assert len(robot.received) == 3  # two failures, one post: never twice
    (row,) = rows(database, channel="dingtalk")
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None
    assert TOKEN not in caplog.text and SECRET not in caplog.text  # the URL is a secret

    for request in robot.received:
        assert request["path"] == "/robot/send" and request["query"]["access_token"] == [TOKEN]
        (timestamp,) = request["query"]["timestamp"]
        (sign,) = request["query"]["sign"]  # parse_qs undid the URL encoding
        digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
        assert sign == base64.b64encode(digest).decode()
        assert abs(int(timestamp) - time.time() * 1000) < 60_000  # milliseconds, now
        message = request["json"]
        assert message["msgtype"] == "markdown" and set(message["markdown"]) == {"title", "text"}
        assert message["markdown"]["title"] == row.subject and row.subject in message["markdown"]["text"]


def test_an_unsigned_dingtalk_robot_gets_no_signature(database, office, robot):  # noqa: F811
    webhook = f"http://127.0.0.1:{robot.port}/robot/send?access_token=t"
    settings = alerts_only(office, dingtalk_webhook=webhook)
    process(database, MAJOR)
    scanned(database, settings)
    assert run(database, settings)["sent"] == 1
    assert set(robot.received[0]["query"]) == {"access_token"}


def test_an_unreachable_robot_is_an_outage_and_its_rows_go_when_it_is_back(database, office):  # noqa: F811
    port = free_port()  # nothing listens there yet
    settings = alerts_only(office, wecom_webhook=f"http://127.0.0.1:{port}/send?key={TOKEN}")
    process(database, ROUTINE, MAJOR)
    scanned(database, settings)
    now = utcnow()
    assert run(database, settings, now=now)["retrying"] == 1
    (row,) = rows(database, channel="wecom")
    assert row.outage and row.attempts == 1 and TOKEN not in row.last_error
    assert run(database, settings, now=now + timedelta(seconds=10))["retrying"] == 0  # still down: no attempt
    assert rows(database, channel="wecom")[0].attempts == 1

    robot = Robot(port)
    try:
        # Back within its minute of backoff: the probe finds it, the row goes at once.
        assert run(database, settings, now=now + timedelta(seconds=20))["sent"] == 1
        assert run(database, settings, now=now + timedelta(minutes=5))["sent"] == 0
        assert len(robot.received) == 1
    finally:
        robot.stop()
    (row,) = rows(database, channel="wecom")
    assert row.status == "sent" and not row.outage and row.attempts == 2


def test_a_robot_set_up_later_posts_new_facts_only(database, office, robot):  # noqa: F811
    process(database, ROUTINE, MAJOR)
    scanned(database, office)
    assert rows(database, channel="wecom") == rows(database, channel="dingtalk") == []
    assert rows(database, channel="inapp")  # the press office sees its alert in the app

    settings = replace(office, wecom_webhook=f"http://127.0.0.1:{robot.port}/send?key={TOKEN}")
    scanned(database, settings)
    assert rows(database, channel="wecom") == []  # the week's alert was told already
    process(database, ("县一中校车超载", "今天下午很多家长在县一中门口聚集，要求处理校车超载。"))
    scanned(database, settings)
    assert [n.kind for n in rows(database, channel="wecom")] == ["alert"]


def test_webhook_settings_are_checked_with_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("HUIYING_DATA_DIR", str(tmp_path))
    loaded = settings_module.load()
    assert loaded.webhook_kinds == ("alert", "spike", "brief", "crawl") and loaded.wecom_webhook is None

    monkeypatch.setenv("HUIYING_WEBHOOK_KINDS", "alert, assign，overdue")
    monkeypatch.setenv("HUIYING_DINGTALK_WEBHOOK", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
    monkeypatch.setenv("HUIYING_DINGTALK_SECRET", SECRET)
    loaded = settings_module.load()
    assert loaded.webhook_kinds == ("alert", "assign", "overdue")
    assert TOKEN not in repr(loaded) and SECRET not in repr(loaded)

    monkeypatch.setenv("HUIYING_WEBHOOK_KINDS", "alert,breif")
    sentence = (r"HUIYING_WEBHOOK_KINDS has an unknown kind 'breif'; use a comma list of "
                r"assign, alert, spike, remind, overdue, brief, monthly, crawl\.")
    with pytest.raises(SettingsError, match=sentence):
        settings_module.load()
    monkeypatch.delenv("HUIYING_WEBHOOK_KINDS")
    monkeypatch.setenv("HUIYING_WECOM_WEBHOOK", f"qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}")
    with pytest.raises(SettingsError, match="HUIYING_WECOM_WEBHOOK must be the robot's webhook") as error:
        settings_module.load()
    assert TOKEN not in str(error.value)
