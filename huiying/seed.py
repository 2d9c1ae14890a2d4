"""Default departments, routing table and topic taxonomy of a county education & sports bureau.

Applied idempotently at start; an admin edits them afterwards, and existing rows are
never overwritten: each table is seeded only while it is empty.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.lexicon import TOPICS
from huiying.models import Department, RoutingRule, Topic

# department → (topics it answers for, extra keywords that override topics)
DEFAULT_ROUTING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "办公室": ((), ()),
    "基础教育股": (("招生入学", "转学借读", "均衡编班", "控辍保学", "学生负担"), ()),
    "学前教育股": (("学前教育",), ("幼儿园",)),
    "人事股": (("教师队伍",), ("教师资格", "教师招聘")),
    "计划财务股": (("教育收费",), ("乱收费",)),
    "学生资助管理中心": (("学生资助",), ("助学金",)),
    "安全稳定股": (("校园安全", "校车交通"), ("校车", "食物中毒", "欺凌")),
    "民办教育管理股": (("民办学校",), ("培训机构", "校外培训")),
    "特殊教育指导中心": (("特殊教育",), ("随班就读",)),
    "体育股": (("体育",), ()),
}


def ensure_defaults(session: Session) -> None:
    _ensure_routing(session)
    _ensure_topics(session)


def _ensure_topics(session: Session) -> None:
    if session.scalar(select(Topic.id).limit(1)) is not None:
        return  # an installed system keeps its admin's edits
    for name, (strong, weak) in TOPICS.items():
        session.add(Topic(name=name, strong_words=list(strong), weak_words=list(weak)))
        session.flush()  # ids in lexicon order: ties between topics go to the first


def _ensure_routing(session: Session) -> None:
    if session.scalar(select(Department.id).limit(1)) is not None:
        return  # an installed system keeps whatever its admin configured
    for name, (topics, keywords) in DEFAULT_ROUTING.items():
        department = Department(name=name)
        session.add(department)
        session.flush()
        for topic in topics:
            session.add(RoutingRule(topic=topic, department_id=department.id))
        for keyword in keywords:
            session.add(RoutingRule(keyword=keyword, department_id=department.id))
