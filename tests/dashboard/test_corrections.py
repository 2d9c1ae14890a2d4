"""Correcting a comment's analysis on the case page: labels, a case event, the shown values."""

import html
import re

import pytest
from sqlalchemy import select

from analysis.hotwords import _tokenizer
from huiying.models import CaseEvent, Comment, Label, TermDay, TermDayTotal, Topic, User

from .conftest import PASSWORD, csrf_token


def comment_of(db, case):
    db.expire_all()
    return db.scalar(select(Comment).where(Comment.case_id == case.id))


def hot_word_counts(db, day):
    """(relevant comments, {term: comments}) counted for the local `day`."""
    db.expire_all()
    total = db.scalar(select(TermDayTotal.docs).where(TermDayTotal.day == day))
    return total, dict(db.execute(select(TermDay.term, TermDay.docs).where(TermDay.day == day)).all())


def url(case, comment):
    return f"/cases/{case.id}/comments/{comment.id}/correct"


def form_values(page: str, comment: Comment) -> dict[str, str]:
    """What the browser would submit: the selected option of each select, and the token."""
    prefix = f"c{comment.id}-"
    values = {}
    for name in ("sentiment", "topic", "relevant"):
        select_html = re.search(rf'<select[^>]*name="{prefix}{name}"[^>]*>(.*?)</select>', page, re.S)
        assert select_html, f"no select {name}"
        selected = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                             select_html.group(1))
        values[prefix + name] = html.unescape(next(g for g in selected.groups() if g is not None))
    token = re.search(rf'name="{prefix}csrf_token"[^>]*value="([^"]+)"', page)
    values[prefix + "csrf_token"] = token.group(1)
    return values


def test_press_corrects_sentiment_and_topic(client, auth, users, cases, db):
    auth.login("press", PASSWORD)
    case = cases["bus"]
    comment = comment_of(db, case)
    before_sentiment = comment.sentiment_label
    new_sentiment = "positive" if before_sentiment != "positive" else "negative"
    page = client.get(f"/cases/{case.id}")
    assert "<summary>纠正</summary>" in page.text
    data = form_values(page.text, comment)
    assert data[f"c{comment.id}-topic"] == "校车交通" and data[f"c{comment.id}-relevant"] == "true"
    data.update({f"c{comment.id}-sentiment": new_sentiment, f"c{comment.id}-topic": "校园安全"})

    response = client.post(url(case, comment), data=data)
    assert response.status_code == 302
    assert response.location == f"/cases/{case.id}#comment-{comment.id}"

    press = db.scalar(select(User).where(User.username == "press"))
    labels = db.scalars(select(Label).order_by(Label.id)).all()
    assert [(label.comment_id, label.field, label.value, label.user_id) for label in labels] == [
        (comment.id, "sentiment", new_sentiment, press.id), (comment.id, "topic", "校园安全", press.id)]
    comment = comment_of(db, case)
    assert comment.sentiment_label == new_sentiment and comment.topic == "校园安全"
    assert comment.relevant is True
    event = db.scalar(select(CaseEvent).where(CaseEvent.action == "correct"))
    names = {"negative": "负面", "neutral": "中性", "positive": "正面"}
    assert event.case_id == case.id and event.actor_id == press.id
    assert event.note == (f"人工纠正：情感 {names[before_sentiment]}→{names[new_sentiment]}；"
                          f"主题 校车交通→校园安全（留言 #{comment.id}）")

    page = client.get(response.location)
    assert "已保存纠正" in page.text and "人工纠正" in page.text
    assert "主题 校园安全" in page.text


def test_admin_marks_a_comment_irrelevant_and_unchanged_saves_nothing(client, auth, cases, db):
    auth.login()
    case = cases["enrolment"]
    comment = comment_of(db, case)
    data = form_values(client.get(f"/cases/{case.id}").text, comment)
    response = client.post(url(case, comment), data=data, follow_redirects=True)
    assert "没有改动。" in response.text
    assert db.scalar(select(Label)) is None

    data[f"c{comment.id}-relevant"] = "false"
    day, terms = comment.terms_day, comment.terms
    counted = hot_word_counts(db, day)
    _tokenizer.cache_clear()
    client.post(url(case, comment), data=data)
    label = db.scalar(select(Label))
    assert (label.field, label.value) == ("relevant", "false")
    assert comment_of(db, case).relevant is False
    assert "相关 是→否" in db.scalar(select(CaseEvent.note).where(CaseEvent.action == "correct"))
    # Out of the hot-word counts at once, by the terms stored on the comment: no jieba here.
    assert day is not None and terms and comment_of(db, case).terms_day is None
    total, per_term = hot_word_counts(db, day)
    assert total == counted[0] - 1 and all(per_term[t] == counted[1][t] - 1 for t in terms)
    data = form_values(client.get(f"/cases/{case.id}").text, comment)
    data[f"c{comment.id}-relevant"] = "true"
    client.post(url(case, comment), data=data)
    assert comment_of(db, case).terms_day == day and hot_word_counts(db, day) == counted
    assert _tokenizer.cache_info().currsize == 0


def test_a_value_that_is_not_offered_is_refused(client, auth, cases, db):
    auth.login()
    case = cases["bus"]
    comment = comment_of(db, case)
    data = form_values(client.get(f"/cases/{case.id}").text, comment)
    data[f"c{comment.id}-topic"] = "不存在的主题"
    response = client.post(url(case, comment), data=data, follow_redirects=True)
    assert "纠正未保存" in response.text and db.scalar(select(Label)) is None


def test_topic_choices_are_the_enabled_topics(client, auth, cases, db):
    db.scalar(select(Topic).where(Topic.name == "体育")).enabled = False
    db.commit()
    auth.login()
    page = client.get(f"/cases/{cases['bus'].id}").text
    assert '<option value="学前教育">学前教育</option>' in page
    assert '<option value="体育">' not in page


@pytest.mark.parametrize("username", ["jichu", "anquan"])
def test_department_users_never_see_or_post_the_form(client, auth, users, cases, db, username):
    auth.login(username, PASSWORD)
    case = cases["bus"]  # 安全稳定股's case: anquan sees it, jichu does not
    comment = comment_of(db, case)
    page = client.get(f"/cases/{case.id}")
    assert "纠正" not in page.text
    token = csrf_token(client.get("/cases/").text)
    response = client.post(url(case, comment), data={
        "csrf_token": token, f"c{comment.id}-sentiment": "positive",
        f"c{comment.id}-topic": "", f"c{comment.id}-relevant": "false"})
    assert response.status_code in (403, 404)
    assert db.scalar(select(Label)) is None
    assert comment_of(db, case).relevant is True


def test_leader_is_refused(client, auth, cases, db):
    from huiying.users import create_user

    create_user(db, "leader", PASSWORD, "leader")
    db.commit()
    auth.login("leader", PASSWORD)
    case = cases["bus"]
    comment = comment_of(db, case)
    assert "<summary>纠正</summary>" not in client.get(f"/cases/{case.id}").text
    token = csrf_token(client.get("/cases/").text)
    response = client.post(url(case, comment), data={"csrf_token": token})
    assert response.status_code == 403


def test_comment_of_another_case_is_404(client, auth, cases, db):
    auth.login()
    comment = comment_of(db, cases["bus"])
    data = form_values(client.get(f"/cases/{cases['bus'].id}").text, comment)
    response = client.post(url(cases["enrolment"], comment), data=data)
    assert response.status_code == 404 and db.scalar(select(Label)) is None


def test_correction_without_csrf_token_is_400(client, auth, cases, db):
    auth.login()
    case = cases["bus"]
    comment = comment_of(db, case)
    response = client.post(url(case, comment), data={f"c{comment.id}-sentiment": "positive"})
    assert response.status_code == 400 and db.scalar(select(Label)) is None
