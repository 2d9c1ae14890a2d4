"""Hot words of the week above the case list, for those who see every case."""

from datetime import timedelta

from dashboard import hot_words as hot_words_view
from huiying.models import Comment, Source, utcnow


def add_recent(db, *texts):
    source = Source(name="week", title="本周", kind="board")
    db.add(source)
    db.flush()
    now = utcnow()
    for n, text in enumerate(texts):
        db.add(Comment(source_id=source.id, external_id=f"w{n}", title=text, content_hash=f"w{n}",
                       text_norm=text, relevant=True, published_at=now - timedelta(hours=n + 1)))
    db.commit()
    hot_words_view._hot_words_cache.clear()  # a new database: do not reuse another test's words


def test_press_sees_hot_words_linking_to_a_search(client, auth, users, cases, db):
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚", "校车司机换人了吗")
    auth.login("press", users["press"])
    page = client.get("/cases/").text
    assert "近7天热词" in page
    chips = page.split('class="hot-words', 1)[1].split("</p>", 1)[0]
    assert 'href="/cases/?q=%E6%A0%A1%E8%BD%A6"' in chips  # 校车
    assert ">校车<" in chips and ">停运<" in chips
    found = client.get("/cases/?q=校车").text
    assert f'href="/cases/{cases["bus"].id}"' in found


def test_department_users_do_not_see_everybodys_words(client, auth, users, cases, db):
    add_recent(db, "校车停运了孩子怎么上学", "校车停运通知太晚")
    auth.login("jichu", users["jichu"])
    assert "近7天热词" not in client.get("/cases/").text


def test_no_recent_comments_no_hot_words_line(client, auth, users, cases):
    hot_words_view._hot_words_cache.clear()
    auth.login("press", users["press"])
    assert "近7天热词" not in client.get("/cases/").text



def test_an_empty_first_result_is_not_kept_for_ten_minutes(client, auth, users, cases, db):
    hot_words_view._hot_words_cache.clear()
    auth.login("press", users["press"])
    assert "近7天热词" not in client.get("/cases/").text  # just started: nothing analysed yet
    source = Source(name="first", title="首批", kind="board")
    db.add(source)
    db.flush()
    for n, text in enumerate(["校车停运了孩子怎么上学", "校车停运通知太晚", "校车司机换人了吗"]):
        db.add(Comment(source_id=source.id, external_id=f"f{n}", title=text, content_hash=f"f{n}",
                       text_norm=text, relevant=True, published_at=utcnow() - timedelta(minutes=n + 1)))
    db.commit()  # (the cache is not cleared here: the page must find the words by itself)
    assert "近7天热词" in client.get("/cases/").text  # the next minute, not ten minutes later
