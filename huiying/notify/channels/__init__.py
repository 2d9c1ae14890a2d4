"""The ways a notification row leaves the system, one module each, behind one small interface.

`Driver.open` returns a `Connection` whose `send(row)` delivers one row. Two exceptions say what
went wrong: `Unreachable` (the server is down: every due row of the channel waits it out, and
the rows go as soon as it is back) and `Failed` (this row failed: it backs off and retries,
or gives up at once when `permanent`). huiying/notify/sending.py does the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from huiying.models import Notification
from huiying.notify.kinds import Channel
from huiying.settings import Settings


class Unreachable(Exception):
    """The channel's server could not be reached."""


class Failed(Exception):
    """One row was not delivered; `reconnect` asks for a new connection for the next row."""

    def __init__(self, reason: str, permanent: bool = False, reconnect: bool = False) -> None:
        super().__init__(reason)
        self.permanent, self.reconnect = permanent, reconnect


class Connection(Protocol):
    def send(self, row: Notification) -> None: ...

    def close(self) -> None: ...


class Driver(Protocol):
    channel: Channel
    setting: str  # the variable that turns it on, for the log

    def configured(self, settings: Settings) -> bool: ...

    def open(self, session: Session, settings: Settings, now: datetime) -> Connection:
        """A connection; raises Unreachable when the server cannot be reached."""
        ...

    def probe(self, settings: Settings) -> bool:
        """Whether the server answers now, without sending anything."""
        ...


def drivers() -> list[Driver]:
    from huiying.notify.channels.email import EmailDriver
    from huiying.notify.channels.webhook import RobotDriver, dingtalk_payload, wecom_payload

    return [EmailDriver(),
            RobotDriver(Channel.WECOM, "HUIYING_WECOM_WEBHOOK", wecom_payload),
            RobotDriver(Channel.DINGTALK, "HUIYING_DINGTALK_WEBHOOK", dingtalk_payload, signed=True)]
