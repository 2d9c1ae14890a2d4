from datetime import UTC, datetime, timedelta

from huiying.db import session_scope
from huiying.models import Comment, Source
from huiying.trends import hot_words_of_period

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_hot_words_of_the_week_against_the_weeks_before(database):
    old = ["城关一小报名需要哪些材料", "青石镇中学食堂价格太贵", "幼儿园保教费什么时候公布"] * 3
    new = ["校车停运了孩子怎么上学", "校车司机换人了吗", "校车停运通知太晚", "食堂价格太贵"]
    with session_scope(database) as session:
        source = Source(name="t")
        session.add(source)
        session.flush()
        rows = [(t, NOW - timedelta(days=10 + i)) for i, t in enumerate(old)]
        rows += [(t, NOW - timedelta(days=1, hours=i)) for i, t in enumerate(new)]
        rows.append(("校车校车校车", NOW - timedelta(days=1)))  # not relevant: ignored
        for n, (text, when) in enumerate(rows):
            session.add(Comment(source_id=source.id, external_id=str(n), title=text, content_hash=str(n),
                                text_norm=text, relevant=n < len(rows) - 1, published_at=when))
    with session_scope(database) as session:
        result = hot_words_of_period(session, NOW, days=7, top_k=5)
    assert result["comments"] == 4 and result["background_comments"] == 9
    words = [w["word"] for w in result["words"]]
    assert words[:2] == ["校车", "停运"]
    assert "价格" not in words[:2]
