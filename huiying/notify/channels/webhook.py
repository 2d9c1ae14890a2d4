"""The 企业微信 (WeCom) and 钉钉 (DingTalk) group robots: one markdown message per fact.

Both take an HTTP POST of JSON and answer JSON with `errcode` 0 when the message was posted;
any other answer (another errcode, an HTTP error) is a failure retried like mail, and a
server that cannot be reached is an outage. DingTalk's optional signing: the millisecond
timestamp and the secret, joined by a newline, HMAC-SHA256 with the secret, base64, as the
`timestamp` and `sign` query parameters. The webhook URLs carry the robot's token: they are
never logged or stored whole (`masked_url`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime
from urllib.parse import quote_plus, urlsplit

from sqlalchemy.orm import Session

from huiying.models import Notification
from huiying.notify.channels import Failed, Unreachable
from huiying.notify.kinds import Channel
from huiying.settings import Settings

TIMEOUT = 10
WECOM_BYTES = 4096  # the group robot's limit for markdown content
DINGTALK_CHARS = 18000


def masked_url(url: str) -> str:
    """The scheme, host and path of a webhook, without its token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?…"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit - len("……".encode())].decode(errors="ignore") + "……"


def wecom_payload(row: Notification) -> dict:
    content = _cut_bytes(f"### {row.subject}\n{row.body}", WECOM_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(row: Notification) -> dict:
    # Markdown joins lines without a hard break (two spaces at the end).
    text = f"### {row.subject}\n\n" + row.body.replace("\n", "  \n")
    if len(text) > DINGTALK_CHARS:
        text = text[:DINGTALK_CHARS] + "……"
    return {"msgtype": "markdown", "markdown": {"title": row.subject, "text": text}}


def post(url: str, payload: dict) -> None:
    """POST the JSON; Unreachable when no answer came, Failed for any answer but errcode 0."""
    # The URL is an http(s) webhook: huiying/settings.py refuses any other scheme.
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode(),  # noqa: S310
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        raise Failed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise Unreachable(f"{type(reason).__name__}: {reason}") from None
    try:
        answer = json.loads(raw)
    except ValueError:
        raise Failed(f"the robot answered something other than JSON: {raw[:100]!r}") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        errmsg = answer.get("errmsg") if isinstance(answer, dict) else answer
        raise Failed(f"errcode {errcode}: {errmsg}")


def _probe(url: str) -> bool:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=TIMEOUT).close()
    except OSError:
        return False
    return True


class _Robot:
    """A connection to one group robot: nothing is kept open between rows."""

    def __init__(self, url: str, payload, sign_secret: str | None = None) -> None:
        self.url, self.payload, self.secret = url, payload, sign_secret

    def send(self, row: Notification) -> None:
        url = self.url
        if self.secret:
            timestamp = int(time.time() * 1000)
            joiner = "&" if urlsplit(url).query else "?"
            url = f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(self.secret, timestamp)}"
        post(url, self.payload(row))

    def close(self) -> None:
        pass


class RobotDriver:
    """A group robot's driver: its channel, the setting with its URL, its message format."""

    def __init__(self, channel: Channel, setting: str, payload, signed: bool = False) -> None:
        self.channel, self.setting, self.payload, self.signed = channel, setting, payload, signed

    def url(self, settings: Settings) -> str | None:
        return getattr(settings, f"{self.channel}_webhook")

    def configured(self, settings: Settings) -> bool:
        return bool(self.url(settings))

    def open(self, session: Session, settings: Settings, now: datetime) -> _Robot:
        return _Robot(self.url(settings), self.payload, settings.dingtalk_secret if self.signed else None)

    def probe(self, settings: Settings) -> bool:
        return _probe(self.url(settings))

