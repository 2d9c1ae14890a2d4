"""The topic taxonomy in the database: seeded once, then the admin's; used by processing."""

from sqlalchemy import func, select

from analysis.lexicon import TOPICS
from huiying.cases import enabled_topics, process_comments
from huiying.db import session_scope
from huiying.models import Case, Comment, Topic
from huiying.seed import ensure_defaults
from tests.core.conftest import add_comments


def test_seeded_from_the_lexicon_in_its_order(database):
    with session_scope(database) as session:
        topics = session.scalars(select(Topic).order_by(Topic.id)).all()
        assert [t.name for t in topics] == list(TOPICS)
        assert all(t.enabled for t in topics)
        assert enabled_topics(session) == {n: (list(s), list(w)) for n, (s, w) in TOPICS.items()}


def test_seeding_is_idempotent_and_keeps_the_admins_edits(database):
    with session_scope(database) as session:
        bus = session.scalar(select(Topic).where(Topic.name == "校车交通"))
        bus.strong_words = ["校车"]
        bus.enabled = False
        session.delete(session.scalar(select(Topic).where(Topic.name == "体育")))
    with session_scope(database) as session:
        ensure_defaults(session)
        ensure_defaults(session)
    with session_scope(database) as session:
        assert session.scalar(select(func.count(Topic.id))) == len(TOPICS) - 1
        bus = session.scalar(select(Topic).where(Topic.name == "校车交通"))
        assert bus.strong_words == ["校车"] and bus.enabled is False
        assert "校车交通" not in enabled_topics(session)


def test_process_comments_uses_the_edited_and_new_topics(database):
    with session_scope(database) as session:
        session.add(Topic(name="研学实践", strong_words=["研学", "夏令营"], weak_words=["旅行"]))
        session.scalar(select(Topic).where(Topic.name == "校车交通")).enabled = False
        fees = session.scalar(select(Topic).where(Topic.name == "教育收费"))
        fees.strong_words = [*fees.strong_words, "研学费"]  # now strong; listed before 研学实践
    ids = add_comments(database,
                       ("初二年级研学活动安排太紧", "孩子很累"),
                       ("校车临时停运，通知太晚", "家长只能自己接送"),
                       ("研学费一千二是否合理", ""))
    with session_scope(database) as session:
        assert process_comments(session, ids) == 3
        topics = dict(session.execute(select(Comment.title, Comment.topic)).all())
        assert topics["初二年级研学活动安排太紧"] == "研学实践"
        assert topics["校车临时停运，通知太晚"] != "校车交通"
        assert topics["研学费一千二是否合理"] == "教育收费"
        case = session.scalar(select(Case).where(Case.title == "初二年级研学活动安排太紧"))
        assert case.topic == "研学实践"
        version = session.scalar(select(Comment.model_version).limit(1))
        assert ";topics-" in version


def test_no_topic_rows_means_the_lexicon(database):
    with session_scope(database) as session:
        session.query(Topic).delete()
    with session_scope(database) as session:
        assert enabled_topics(session) is None
    ids = add_comments(database, ("校车临时停运，通知太晚", ""))
    with session_scope(database) as session:
        process_comments(session, ids)
        assert session.scalar(select(Comment.topic)) == "校车交通"
