"""What is told (kinds) and the ways it is told (channels): which kind goes where.

No database, no settings: huiying/settings.py checks HUIYING_WEBHOOK_KINDS against `Kind`.
"""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    ASSIGN = "assign"  # a case went to a department
    ALERT = "alert"  # a case is, or became, 重大 or 较大
    SPIKE = "spike"  # many negative comments within an hour
    REMIND = "remind"  # the deadline is near
    OVERDUE = "overdue"  # 催办: the deadline has passed
    BRIEF = "brief"  # 舆情日报: the day before, once a day
    MONTHLY = "monthly"  # 回应月报 of the month before, on the month's first working day
    CRAWL = "crawl"  # a source's crawl went wrong (huiying/crawl_health.py), once per incident


class Channel(enum.StrEnum):
    EMAIL = "email"  # one row per address (SMTP)
    WECOM = "wecom"  # the 企业微信 group robot: one row per fact
    DINGTALK = "dingtalk"  # the 钉钉 group robot: one row per fact
    INAPP = "inapp"  # one row per user account, delivered at once (the 通知 page)


# The channels a sender delivers (in-app rows are delivered when they are created).
OUTGOING = (Channel.EMAIL, Channel.WECOM, Channel.DINGTALK)
GROUP_ROBOTS = (Channel.WECOM, Channel.DINGTALK)
# Sent to the group robots unless HUIYING_WEBHOOK_KINDS says otherwise: what a whole office
# should see; assignments, reminders and 催办 are for one department and stay personal.
DEFAULT_WEBHOOK_KINDS = (Kind.ALERT, Kind.SPIKE, Kind.BRIEF, Kind.CRAWL)
# What a row asks of its department; once the case is answered or closed it would only confuse.
ASKS_FOR_ACTION = (Kind.ASSIGN, Kind.REMIND, Kind.OVERDUE)
