"""Notifications (DESIGN.md 7, "Tell people"): facts become rows, rows go out by channel.

- kinds.py — what is told (Kind) and the channels (email, 企业微信 / 钉钉 group robots, in-app);
- scan.py — finds the facts and loads what their texts need: the only SQL behind the texts;
- texts.py — pure renderers from loaded data;
- sending.py — pending → sent / retried / failed, once per row, outage handling;
- channels/ — email (SMTP), webhook (the group robots), inapp (the 通知 page).

Every row has a unique key per channel (one fact, one recipient): scanning the same fact again
creates nothing, and a row is sent once.
"""

from huiying.notify.channels.email import connect, message, send_test
from huiying.notify.kinds import Channel, Kind
from huiying.notify.scan import HORIZON, REMIND_SHARE, first_working_day, scan
from huiying.notify.sending import FIRST_RETRY, MAX_ATTEMPTS, counts, release, send_pending
from huiying.notify.texts import FOOTER

__all__ = ["FIRST_RETRY", "FOOTER", "HORIZON", "MAX_ATTEMPTS", "REMIND_SHARE", "Channel", "Kind", "connect",
           "counts", "first_working_day", "message", "release", "scan", "send_pending", "send_test"]
