"""/admin/topics: the admin edits the taxonomy; everyone else is refused."""

import dataclasses
import html
import json
import re

import pytest
from sqlalchemy import select

from analysis.lexicon import TOPICS
from huiying import settings
from huiying.cases import process_comments
from huiying.models import Comment, Label, RoutingRule, Source, Topic, User

from .conftest import PASSWORD, csrf_token


def topic(db, name):
    db.expire_all()
    return db.scalar(select(Topic).where(Topic.name == name))


def post_form(client, url, **fields):
    data = {"strong_words": "", "weak_words": "", **fields}
    data["csrf_token"] = csrf_token(client.get(url).text)
    return client.post(url, data=data)


def test_admin_lists_the_seeded_topics(client, auth):
    auth.login()
    page = client.get("/admin/topics")
    assert page.status_code == 200
    for header in ("名称", "强关键词", "弱关键词", "启用"):
        assert f'<th scope="col">{header}</th>' in page.text
    for name in TOPICS:
        assert f"<td>{name}</td>" in page.text
    assert "转学、借读、学籍、随迁子女" in page.text
    assert "强关键词</strong>单独出现即可认定" in page.text  # the explanation
    assert 'href="/admin/topics">主题设置</a>' in client.get("/cases/").text  # navbar link


def test_admin_creates_a_topic_that_processing_then_uses(client, auth, db):
    auth.login()
    response = post_form(client, "/admin/topics/new", name=" 研学实践 ",
                         strong_words="研学，夏令营\n研學", weak_words="旅行 游学, 旅行", enabled="y")
    assert response.status_code == 302 and response.location == "/admin/topics"
    created = topic(db, "研学实践")
    assert created.strong_words == ["研学", "夏令营"]  # 研學 normalised to 研学, deduplicated
    assert created.weak_words == ["旅行", "游学"] and created.enabled
    assert "已新增主题“研学实践”" in client.get("/admin/topics").text

    source = Source(name="s")
    db.add(source)
    db.flush()
    comment = Comment(source_id=source.id, external_id="1", title="初二研学活动安排太紧",
                      body="孩子很累", content_hash="h1")
    db.add(comment)
    db.commit()
    process_comments(db, [comment.id])
    db.refresh(comment)
    assert comment.topic == "研学实践"


def test_admin_edits_renames_and_disables_a_topic(client, auth, db):
    auth.login()
    bus = topic(db, "校车交通")
    page = client.get(f"/admin/topics/{bus.id}")
    assert page.status_code == 200 and "校车，护学岗，上下学" in page.text and "checked" in page.text
    response = post_form(client, f"/admin/topics/{bus.id}", name="学生交通",
                         strong_words="校车 护学岗", weak_words="接送")  # enabled unticked
    assert response.status_code == 302
    edited = topic(db, "学生交通")
    assert edited.id == bus.id and edited.strong_words == ["校车", "护学岗"]
    assert edited.weak_words == ["接送"] and edited.enabled is False
    assert topic(db, "校车交通") is None
    # the routing table follows the new name
    assert db.scalar(select(RoutingRule).where(RoutingRule.topic == "学生交通")) is not None
    assert db.scalar(select(RoutingRule).where(RoutingRule.topic == "校车交通")) is None


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "", "strong_words": "研学"}, "请填写主题名称。"),
    ({"name": "招生入学", "strong_words": "研学"}, "已有名为“招生入学”的主题，请换一个名称。"),
    ({"name": "研学实践", "strong_words": " ，\n"}, "请至少填写一个强关键词。"),
    ({"name": "研学实践", "strong_words": "研学 " + "长" * 21},
     "关键词不能超过 20 个字：" + "长" * 21),
    ({"name": "研学实践", "strong_words": "研学", "weak_words": "旅行 " + "长" * 21},
     "关键词不能超过 20 个字：" + "长" * 21),
    ({"name": "研学实践", "strong_words": "研学", "weak_words": "研学"},
     "同一个词不能既是强关键词又是弱关键词：研学"),
    ({"name": "名" * 41, "strong_words": "研学"}, "主题名称不能超过 40 个字。"),
])
def test_validation_messages(client, auth, db, fields, message):
    auth.login()
    response = post_form(client, "/admin/topics/new", **fields)
    assert response.status_code == 200
    assert message in html.unescape(response.text)
    assert 'class="invalid-feedback d-block"' in response.text
    assert topic(db, "研学实践") is None


def test_keeping_its_own_name_is_not_a_duplicate(client, auth, db):
    auth.login()
    fees = topic(db, "教育收费")
    response = post_form(client, f"/admin/topics/{fees.id}", name="教育收费",
                         strong_words="资料费 校服费 研学费", weak_words="收费", enabled="y")
    assert response.status_code == 302
    assert topic(db, "教育收费").strong_words == ["资料费", "校服费", "研学费"]


def test_unknown_topic_is_404(client, auth):
    auth.login()
    assert client.get("/admin/topics/99999").status_code == 404


@pytest.mark.parametrize("username", ["press", "jichu"])
def test_other_roles_are_refused(client, auth, users, db, username):
    auth.login(username, PASSWORD)
    bus = topic(db, "校车交通")
    for url in ("/admin/topics", "/admin/topics/new", f"/admin/topics/{bus.id}"):
        assert client.get(url).status_code == 403
    token = csrf_token(client.get("/cases/").text)
    response = client.post(f"/admin/topics/{bus.id}",
                           data={"csrf_token": token, "name": "x", "strong_words": "x"})
    assert response.status_code == 403
    assert topic(db, "校车交通") is not None
    assert "主题设置" not in client.get("/cases/").text


def test_anonymous_goes_to_login(client):
    response = client.get("/admin/topics")
    assert response.status_code == 302 and response.location.startswith("/auth/login")


def test_post_without_csrf_token_is_400(client, auth, db):
    auth.login()
    bus = topic(db, "校车交通")
    response = client.post(f"/admin/topics/{bus.id}", data={"name": "x", "strong_words": "x"})
    assert response.status_code == 400 and "表单已失效" in response.text
    assert topic(db, "校车交通") is not None


def queued_tasks(app) -> list[str]:
    """Task names waiting in the test's file broker (the embedded default)."""
    folder = app.config["HUIYING_SETTINGS"].broker_dir / "queue"
    return [json.loads(f.read_text("utf-8"))["headers"]["task"] for f in sorted(folder.glob("*"))]


def test_saving_a_topic_asks_a_worker_to_reclassify(app, client, auth, db):
    auth.login()
    bus = topic(db, "校车交通")
    response = post_form(client, f"/admin/topics/{bus.id}", name="校车交通", strong_words="校车 护学岗",
                         enabled="y")
    assert queued_tasks(app) == ["worker.tasks.reclassify_topics"]
    page = client.get(response.location).text
    assert "已保存主题“校车交通”。" in page
    assert "正在按新的主题设置重新归类已有留言和案件，人工纠正过主题的留言保持不变。" in page
    post_form(client, "/admin/topics/new", name="研学实践", strong_words="研学", enabled="y")
    assert queued_tasks(app) == ["worker.tasks.reclassify_topics"] * 2


def test_a_topic_is_saved_when_the_broker_is_unreachable(database_url, auth, client, db):
    from tests.conftest import free_port

    from .conftest import create_app_for_tests

    unreachable = dataclasses.replace(settings.load(), broker_url=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app_for_tests(HUIYING_SETTINGS=unreachable).test_client()
    auth.client = client
    auth.login()
    response = post_form(client, "/admin/topics/new", name="研学实践", strong_words="研学", enabled="y")
    assert response.status_code == 302 and topic(db, "研学实践") is not None
    page = html.unescape(client.get(response.location).text)
    assert "已新增主题“研学实践”。" in page
    assert ("任务队列暂时无法连接，已有留言尚未重新归类，请在服务器上运行 huiying topics reclassify。"
            in page)


def test_corrections_the_rules_disagree_with_are_listed_masked(client, auth, users, cases, db):
    press = db.scalar(select(User).where(User.username == "press"))
    enrolment = db.scalar(select(Comment).where(Comment.case_id == cases["enrolment"].id))
    bus = db.scalar(select(Comment).where(Comment.case_id == cases["bus"].id))
    db.add_all([Label(comment_id=enrolment.id, field="topic", value="学前教育", user_id=press.id),
                Label(comment_id=bus.id, field="topic", value="校车交通", user_id=press.id)])  # agrees
    db.commit()
    auth.login()
    page = client.get("/admin/topics").text
    table = page[page.index('class="table table-sm topic-disagreements"'):]
    assert '<th scope="col">纠正后主题</th>' in table
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], re.S)
    assert len(rows) == 1
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", rows[0], re.S)]
    assert cells[0].startswith("城关小学招生入学划片不合理") and "138****1234" in cells[0]
    assert "13812341234" not in page and len(cells[0]) <= 60
    assert cells[1:4] == ["招生入学", "学前教育", "press"]
    assert f'href="/cases/{cases["enrolment"].id}#comment-{enrolment.id}"' in rows[0]


def test_no_disagreement_says_so(client, auth):
    auth.login()
    assert "没有与当前规则不一致的人工纠正。" in client.get("/admin/topics").text
