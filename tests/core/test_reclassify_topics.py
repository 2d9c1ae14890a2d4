"""After a topic edit: stored comments and their cases get the topics of the new taxonomy."""

from sqlalchemy import select

from huiying.cases import process_comments, unprocessed_ids
from huiying.db import session_scope
from huiying.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Comment,
    Department,
    Label,
    RoutingRule,
    TermDay,
    Topic,
    User,
)
from huiying.topics import reclassify_topics, topic_disagreements
from tests.core.conftest import add_comments

TEXTS = {
    "triage": ("初二年级研学活动安排太紧", "孩子很累"),  # no topic yet, 待研判
    "corrected": ("县一中研学活动太多", ""),  # a person set its topic: it keeps it
    "assigned": ("学校组织研学旅行收费太贵", ""),  # 教育收费 → 计划财务股 by the table
    "acted_on": ("城关中学研学活动时间安排不合理", ""),  # 待研判, but a person has acted on it
}


def case_of(session, key):
    title = TEXTS[key][0]
    return session.scalar(select(Case).join(Comment, Comment.case_id == Case.id)
                          .where(Comment.title == title))


def comment_of(session, key):
    return session.scalar(select(Comment).where(Comment.title == TEXTS[key][0]))


def stored_cases(database):
    ids = add_comments(database, *TEXTS.values())
    with session_scope(database) as session:
        process_comments(session, ids)
    with session_scope(database) as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        corrected = comment_of(session, "corrected")
        session.add(Label(comment_id=corrected.id, field="topic", value="学生负担", user_id=admin.id))
        corrected.topic = "学生负担"  # what the correction form does
        session.add(CaseEvent(case=case_of(session, "acted_on"), actor_id=admin.id, action="correct",
                              note="人工纠正：情感 中性→负面"))
        before = {key: (case_of(session, key).topic, case_of(session, key).status) for key in TEXTS}
    assert before == {"triage": (None, CaseStatus.TRIAGE), "corrected": (None, CaseStatus.TRIAGE),
                      "assigned": ("教育收费", CaseStatus.ASSIGNED),
                      "acted_on": (None, CaseStatus.TRIAGE)}


def add_study_trip_topic(session):
    session.add(Topic(name="研学实践", strong_words=["研学", "研学旅行"], weak_words=[]))
    school = session.scalar(select(Department).where(Department.name == "基础教育股"))
    session.add(RoutingRule(topic="研学实践", department_id=school.id))


def test_an_edit_reclassifies_comments_and_cases_but_not_corrections(database):
    stored_cases(database)
    with session_scope(database) as session:
        add_study_trip_topic(session)
    with session_scope(database) as session:
        summary = reclassify_topics(session)
    assert summary == {"comments_checked": 4, "comments_changed": 3, "skipped_corrected": 1,
                       "comments_reanalysed": 0, "cases_changed": 3, "cases_routed": 1}

    with session_scope(database) as session:
        assert {key: comment_of(session, key).topic for key in TEXTS} == {
            "triage": "研学实践", "corrected": "学生负担", "assigned": "研学实践", "acted_on": "研学实践"}
        assert ";topics-" in comment_of(session, "triage").model_version
        triage = case_of(session, "triage")
        assert triage.topic == "研学实践"
        # Nobody had acted on it and the table now decides: assigned as a new case would be.
        assert triage.status == CaseStatus.ASSIGNED and triage.department.name == "基础教育股"
        events = [(e.action, e.actor_id, e.note, e.data) for e in triage.events][-2:]
        assert events == [
            ("reclassify", None, "主题 无→研学实践（主题设置修改后重新归类）",
             {"from": None, "to": "研学实践", "reason": "topic_edit"}),
            ("assign", None, "按分办规则派至基础教育股（主题重新归类后）",
             {"department": "基础教育股", "confidence": 1.0, "reason": "topic_edit"})]
        corrected = case_of(session, "corrected")
        assert corrected.topic is None and corrected.events[-1].action != "reclassify"
        assigned = case_of(session, "assigned")  # topic follows; its department stays
        assert assigned.topic == "研学实践" and assigned.department.name == "计划财务股"
        assert assigned.events[-1].note == "主题 教育收费→研学实践（主题设置修改后重新归类）"
        acted_on = case_of(session, "acted_on")  # a person acted on it: not re-routed
        assert acted_on.topic == "研学实践" and acted_on.status == CaseStatus.TRIAGE
        assert acted_on.department is None
        event_count = session.query(CaseEvent).count()

    with session_scope(database) as session:
        again = reclassify_topics(session)
    assert again == {"comments_checked": 4, "comments_changed": 0, "skipped_corrected": 1,
                     "comments_reanalysed": 0, "cases_changed": 0, "cases_routed": 0}
    with session_scope(database) as session:
        assert session.query(CaseEvent).count() == event_count


def test_disabling_a_topic_takes_it_back(database):
    stored_cases(database)
    with session_scope(database) as session:
        add_study_trip_topic(session)
    with session_scope(database) as session:
        reclassify_topics(session)
        session.scalar(select(Topic).where(Topic.name == "研学实践")).enabled = False
    with session_scope(database) as session:
        summary = reclassify_topics(session)
        assert summary["comments_changed"] == 3 and summary["cases_changed"] == 3
        assert comment_of(session, "assigned").topic == "教育收费"
        assert comment_of(session, "triage").topic is None
        triage = case_of(session, "triage")  # assigned by now: stays with its department
        assert triage.topic is None and triage.department.name == "基础教育股"
        assert triage.events[-1].note == "主题 研学实践→无（主题设置修改后重新归类）"


def test_disagreements_are_the_newest_corrections_the_rules_would_not_make(database):
    stored_cases(database)
    with session_scope(database) as session:
        rows = topic_disagreements(session)
        assert [(r.text, r.rule_topic, r.corrected_topic, r.username) for r in rows] == [
            ("县一中研学活动太多", None, "学生负担", "admin")]
        add_study_trip_topic(session)
        assigned = comment_of(session, "assigned")
        session.add_all([Label(comment_id=assigned.id, field="topic", value="学生负担"),
                         Label(comment_id=assigned.id, field="topic", value="研学实践")])
    with session_scope(database) as session:
        rows = topic_disagreements(session)
        # the newest correction of 'assigned' now agrees with the rules; 'corrected' still not
        assert [(r.rule_topic, r.corrected_topic) for r in rows] == [("研学实践", "学生负担")]
        assert rows[0].case_id == case_of(session, "corrected").id


def test_a_new_topic_word_makes_a_dismissed_comment_a_case_unless_a_person_dismissed_it(database):
    # Both score low with the classifier (about 0.25 and 0.13) and had no topic: dismissed.
    ids = add_comments(database, ("研学营地伙食很差", ""), ("周末研学营地收费太贵", ""))
    with session_scope(database) as session:
        process_comments(session, ids)
        admin = session.scalar(select(User).where(User.username == "admin"))
        session.add(Label(comment_id=ids[1], field="relevant", value="false", user_id=admin.id))
    with session_scope(database) as session:
        assert [session.get(Comment, i).relevant for i in ids] == [False, False]
        add_study_trip_topic(session)
    with session_scope(database) as session:
        summary = reclassify_topics(session)
        assert summary["comments_reanalysed"] == 1
        assert unprocessed_ids(session) == [ids[0]]  # the person's "not relevant" stands
        process_comments(session, unprocessed_ids(session))
    with session_scope(database) as session:
        food, fee = (session.get(Comment, i) for i in ids)
        assert food.relevant and food.case_id is not None and food.topic == "研学实践"
        assert session.get(Case, food.case_id).department.name == "基础教育股"
        assert not fee.relevant and fee.case_id is None and fee.processed_at is not None
        # Now relevant, its words count among the hot words (the other's do not).
        assert food.terms_day is not None and "研学" in food.terms and fee.terms_day is None
        counted = session.scalar(select(TermDay.docs).where(TermDay.day == food.terms_day,
                                                            TermDay.term == "研学"))
        assert counted == 1
    with session_scope(database) as session:
        assert reclassify_topics(session)["comments_reanalysed"] == 0
