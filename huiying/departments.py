"""Departments (科室) and the routing table that sends cases to them.

Every change is written to the audit log in the same transaction. A department that has
cases or accounts is never deleted: its cases' history and figures need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from analysis.normalise import normalise
from analysis.routing import RouteDecision, Rule, matching, route
from analysis.rules import topic_matcher, topic_of
from huiying.audit import record
from huiying.cases import enabled_topics
from huiying.errors import ChangeRefused
from huiying.models import Case, Department, RoutingRule, Topic, User
from huiying.users import EMAIL

MAX_NAME = 80
MAX_KEYWORD = 80
ADDRESS_SEPARATORS = re.compile(r"[,;，；\s]+")


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    cases: int
    users: int
    rules: int


def _department(session: Session, department_id: int) -> Department:
    row = session.get(Department, department_id)
    if row is None:
        raise ChangeRefused("no_department", f"no department with id {department_id}.")
    return row


def list_departments(session: Session) -> list[DepartmentRow]:
    def counts(column) -> dict[int, int]:
        return dict(session.execute(select(column, func.count()).where(column.is_not(None))
                                    .group_by(column)).all())

    cases, users, rules = (counts(Case.department_id), counts(User.department_id),
                           counts(RoutingRule.department_id))
    return [DepartmentRow(d, cases.get(d.id, 0), users.get(d.id, 0), rules.get(d.id, 0))
            for d in session.scalars(select(Department).order_by(Department.id))]


def clean_addresses(value: str | None) -> str | None:
    """One or several email addresses (separated by commas or semicolons), or None."""
    addresses = [a for a in ADDRESS_SEPARATORS.split(value or "") if a]
    bad = [a for a in addresses if not EMAIL.match(a)]
    if bad:
        raise ChangeRefused("email_invalid", f"{bad[0]!r} is not an email address.", address=bad[0])
    joined = ", ".join(addresses)
    if len(joined) > 200:
        raise ChangeRefused("emails_too_long", "the addresses are longer than 200 characters.")
    return joined or None


def _clean_name(session: Session, name: str, department_id: int | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ChangeRefused("name_invalid", f"a department name needs 1 to {MAX_NAME} characters.")
    other = session.scalar(select(Department.id).where(Department.name == name))
    if other is not None and other != department_id:
        raise ChangeRefused("name_taken", f"a department named {name!r} exists already.", name=name)
    return name


def add_department(session: Session, name: str, email: str | None, *,
                   actor_id: int | None = None) -> Department:
    department = Department(name=_clean_name(session, name, None), email=clean_addresses(email))
    session.add(department)
    session.flush()
    record(session, actor_id, "department.add", "department", department.id,
           f"新增科室 {department.name}", {"name": department.name, "email": department.email})
    return department


def update_department(session: Session, department_id: int, name: str, email: str | None, *,
                      actor_id: int | None = None) -> Department:
    """Rename a department or change its email addresses; its cases and rules follow it."""
    department = _department(session, department_id)
    after = {"name": _clean_name(session, name, department.id), "email": clean_addresses(email)}
    changed = {k: [getattr(department, k), v] for k, v in after.items() if getattr(department, k) != v}
    if changed:
        old_name = department.name
        department.name, department.email = after["name"], after["email"]
        record(session, actor_id, "department.edit", "department", department.id,
               f"修改科室 {old_name}：{'、'.join(changed)}", changed)
    session.flush()
    return department


def delete_department(session: Session, department_id: int, *, actor_id: int | None = None) -> str:
    """Delete a department with no cases and no accounts (its routing rules go with it)."""
    department = _department(session, department_id)
    cases = session.scalar(select(func.count(Case.id)).where(Case.department_id == department.id))
    if cases:
        raise ChangeRefused("has_cases", f"{department.name!r} has {cases} cases; a department "
                            "with cases cannot be deleted (rename it instead).", count=cases)
    users = session.scalar(select(func.count(User.id)).where(User.department_id == department.id))
    if users:
        raise ChangeRefused("has_users", f"{department.name!r} has {users} accounts; move or "
                            "disable them first.", count=users)
    rules = session.scalars(select(RoutingRule).where(RoutingRule.department_id == department.id)).all()
    for rule in rules:
        session.delete(rule)
    session.delete(department)
    record(session, actor_id, "department.delete", "department", department.id,
           f"删除科室 {department.name}", {"name": department.name, "email": department.email,
                                          "rules_deleted": len(rules)})
    session.flush()
    return department.name


# --- routing rules ------------------------------------------------------------------------

def list_rules(session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).options(joinedload(RoutingRule.department))
                                .order_by(RoutingRule.priority.desc(), RoutingRule.id)))


def _rule_values(session: Session, topic: str | None, keyword: str | None,
                 department_id: int, priority: int) -> dict:
    topic = (topic or "").strip() or None
    keyword = normalise(keyword.strip()) if keyword and keyword.strip() else None
    if (topic is None) == (keyword is None):
        raise ChangeRefused("topic_or_keyword", "a rule needs either a topic or a keyword (not both).")
    if keyword is not None and len(keyword) > MAX_KEYWORD:
        raise ChangeRefused("keyword_long", f"a keyword has at most {MAX_KEYWORD} characters.",
                            max=MAX_KEYWORD)
    if topic is not None and session.scalar(select(Topic.id).where(Topic.name == topic)) is None:
        raise ChangeRefused("topic_unknown", f"no topic named {topic!r}.", name=topic)
    _department(session, department_id)
    if not -100 <= priority <= 100:
        raise ChangeRefused("priority_range", "the priority must be between -100 and 100.")
    return {"topic": topic, "keyword": keyword, "department_id": department_id, "priority": priority}


def _describe(rule: RoutingRule, session: Session) -> dict:
    department = session.get(Department, rule.department_id)
    return {"topic": rule.topic, "keyword": rule.keyword, "priority": rule.priority,
            "department": department.name if department else None}


def _what(rule: RoutingRule) -> str:
    return f"关键词“{rule.keyword}”" if rule.keyword else f"主题“{rule.topic}”"


def add_rule(session: Session, topic: str | None, keyword: str | None, department_id: int,
             priority: int = 0, *, actor_id: int | None = None) -> RoutingRule:
    rule = RoutingRule(**_rule_values(session, topic, keyword, department_id, priority))
    session.add(rule)
    session.flush()
    data = _describe(rule, session)
    record(session, actor_id, "routing_rule.add", "routing_rule", rule.id,
           f"新增分办规则：{_what(rule)} → {data['department']}", data)
    return rule


def _rule(session: Session, rule_id: int) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise ChangeRefused("no_rule", f"no routing rule with id {rule_id}.")
    return rule


def update_rule(session: Session, rule_id: int, topic: str | None, keyword: str | None,
                department_id: int, priority: int = 0, *, actor_id: int | None = None) -> RoutingRule:
    rule = _rule(session, rule_id)
    before = _describe(rule, session)
    for key, value in _rule_values(session, topic, keyword, department_id, priority).items():
        setattr(rule, key, value)
    session.flush()
    after = _describe(rule, session)
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        record(session, actor_id, "routing_rule.edit", "routing_rule", rule.id,
               f"修改分办规则：{_what(rule)} → {after['department']}", changed)
    return rule


def delete_rule(session: Session, rule_id: int, *, actor_id: int | None = None) -> None:
    rule = _rule(session, rule_id)
    data = _describe(rule, session)
    record(session, actor_id, "routing_rule.delete", "routing_rule", rule.id,
           f"删除分办规则：{_what(rule)} → {data['department']}", data)
    session.delete(rule)
    session.flush()


@dataclass(frozen=True)
class RouteExplanation:
    text_norm: str
    topic: str | None
    matches: list[tuple[RoutingRule, float]]  # the rules that apply, best first
    decision: RouteDecision


def explain_route(session: Session, text: str) -> RouteExplanation:
    """Which rules route `text`, and where the table sends it: the normalisation, topic and
    matcher huiying/cases.py uses (the learned router, used where the table is silent, aside)."""
    text_norm = normalise(text)
    topic, _strong = topic_of(text_norm, topic_matcher(enabled_topics(session)))
    rows = list_rules(session)
    rules = [Rule(department=r.department.name, topic=r.topic, keyword=r.keyword, priority=r.priority)
             for r in rows]
    by_rule = {id(rule): row for rule, row in zip(rules, rows, strict=True)}
    matches = [(by_rule[id(rule)], score) for rule, score in matching(text_norm, topic, rules)]
    matches.sort(key=lambda m: -m[1])
    return RouteExplanation(text_norm, topic, matches, route(text_norm, topic, rules))
