"""/admin/departments and /admin/rules: departments with emails, the routing table, and the
"try a text" box, which routes the way processing does."""

from sqlalchemy import select

from huiying.cases import process_comments
from huiying.models import Case, Comment, Department, RoutingRule, Source

from .admin_helpers import audit_events, post_form


def department(db, name):
    db.expire_all()
    return db.scalar(select(Department).where(Department.name == name))


def test_admin_adds_renames_and_sets_emails(client, auth, db):
    auth.login()
    response = post_form(client, "/admin/departments", name=" 督导室 ", email="dd@example.gov.cn")
    assert response.status_code == 302
    added = department(db, "督导室")
    assert added.email == "dd@example.gov.cn"
    assert "已新增科室“督导室”" in client.get("/admin/departments").text
    response = post_form(client, f"/admin/departments/{added.id}", name="教育督导室",
                         email="a@example.gov.cn；b@example.gov.cn")
    assert response.status_code == 302
    renamed = department(db, "教育督导室")
    assert renamed.id == added.id and renamed.email == "a@example.gov.cn, b@example.gov.cn"
    actions = [(e.action, e.target_id) for e in audit_events(db, "department")]
    assert actions == [("department.add", str(added.id)), ("department.edit", str(added.id))]
    assert audit_events(db, "department")[-1].data["name"] == ["督导室", "教育督导室"]


def test_bad_department_input_is_refused_in_chinese(client, auth, db):
    auth.login()
    response = post_form(client, "/admin/departments", name="督导室", email="not-an-address")
    assert response.status_code == 200 and "邮箱地址格式不正确" in response.text
    response = post_form(client, "/admin/departments", name="基础教育股")
    assert "已有同名科室" in response.text
    response = post_form(client, "/admin/departments", name="")
    assert "请填写科室名称" in response.text
    assert department(db, "督导室") is None
    assert audit_events(db, "department") == []


def test_a_department_with_cases_cannot_be_deleted(client, auth, db, cases):
    auth.login()
    jichu = department(db, "基础教育股")
    count = db.query(Case).filter(Case.department_id == jichu.id).count()
    assert count >= 1
    assert "不可删除" in client.get("/admin/departments").text
    response = post_form(client, f"/admin/departments/{jichu.id}/delete", "/admin/departments")
    page = client.get(response.location).text
    assert f"不能删除“基础教育股”：该科室有 {count} 件案件，不能删除" in page
    assert department(db, "基础教育股") is not None
    # an empty department goes, with its rules
    empty_id = department(db, "体育股").id
    rules = db.scalars(select(RoutingRule).where(RoutingRule.department_id == empty_id)).all()
    assert rules
    response = post_form(client, f"/admin/departments/{empty_id}/delete", "/admin/departments")
    assert "已删除科室“体育股”及其分办规则" in client.get(response.location).text
    assert department(db, "体育股") is None
    assert db.scalars(select(RoutingRule).where(RoutingRule.department_id == empty_id)).all() == []
    [event] = audit_events(db, "department")
    assert event.action == "department.delete" and event.data["rules_deleted"] == len(rules)


def test_a_department_with_accounts_cannot_be_deleted(client, auth, db, users):
    auth.login()
    anquan = department(db, "安全稳定股")
    response = post_form(client, f"/admin/departments/{anquan.id}/delete", "/admin/departments")
    assert "该科室还有 1 个账号" in client.get(response.location).text
    assert department(db, "安全稳定股") is not None


def test_admin_adds_edits_and_deletes_a_rule_that_processing_then_uses(client, auth, db):
    auth.login()
    supervision = post_form(client, "/admin/departments", name="督导室")
    assert supervision.status_code == 302
    target = department(db, "督导室")
    response = post_form(client, "/admin/rules", keyword="课后服务", department=str(target.id), priority="5",
                         topic="")
    assert response.status_code == 302
    rule = db.scalar(select(RoutingRule).where(RoutingRule.keyword == "课后服务"))
    assert rule.department_id == target.id and rule.priority == 5
    # the try box shows the rule and the department
    page = client.get("/admin/rules", query_string={"text": "学校课后服务收费太高，家长负担重"}).text
    assert "派往：督导室" in page and "关键词“课后服务” → 督导室" in page
    # processing routes the same way
    source = Source(name="s")
    db.add(source)
    db.flush()
    comment = Comment(source_id=source.id, external_id="1", title="学校课后服务收费太高",
                      body="家长负担重，孩子放学后被强制参加", content_hash="h1")
    db.add(comment)
    db.commit()
    process_comments(db, [comment.id])
    db.refresh(comment)
    assert comment.case.department.name == "督导室"

    response = post_form(client, f"/admin/rules/{rule.id}", keyword="", topic="教育收费",
                         department=str(target.id), priority="0")
    assert response.status_code == 302
    db.expire_all()
    rule = db.get(RoutingRule, rule.id)
    assert rule.topic == "教育收费" and rule.keyword is None
    rule_id = rule.id
    response = post_form(client, f"/admin/rules/{rule_id}/delete", "/admin/rules")
    db.expire_all()
    assert response.status_code == 302
    assert db.scalar(select(RoutingRule).where(RoutingRule.id == rule_id)) is None
    assert [e.action for e in audit_events(db, "routing_rule")] == [
        "routing_rule.add", "routing_rule.edit", "routing_rule.delete"]


def test_bad_rules_are_refused_in_chinese(client, auth, db):
    auth.login()
    before = db.query(RoutingRule).count()
    jichu = department(db, "基础教育股")
    for fields, message in (
        ({"keyword": "", "topic": ""}, "每条规则填写主题或关键词其中一项"),
        ({"keyword": "划片", "topic": "招生入学"}, "每条规则填写主题或关键词其中一项"),
        ({"keyword": "划片", "priority": "1000"}, "优先级须在 -100 到 100 之间"),
        ({"keyword": "划片", "priority": "很高"}, "优先级"),
        ({"topic": "不存在的主题"}, "没有名为“不存在的主题”的主题"),
        ({"keyword": "字" * 81}, "关键词最多 80 个字"),
    ):
        data = {"department": str(jichu.id), "priority": "0", "topic": "", **fields}
        response = post_form(client, "/admin/rules", **data)
        assert response.status_code == 200 and message in response.text, message
    db.expire_all()
    assert db.query(RoutingRule).count() == before
    assert audit_events(db, "routing_rule") == []


def test_try_box_shows_topic_rules_and_triage(client, auth):
    auth.login()
    page = client.get("/admin/rules", query_string={"text": "城关小学招生入学划片不合理"}).text
    assert "主题：招生入学" in page and "派往：基础教育股" in page and "主题“招生入学” → 基础教育股" in page
    page = client.get("/admin/rules", query_string={"text": "今天天气很好"}).text
    assert "没有规则匹配" in page
    # 幼儿园 (学前教育股 keyword) and 乱收费 (计划财务股 keyword) score the same: triage
    page = client.get("/admin/rules", query_string={"text": "县第一幼儿园乱收费"}).text
    assert "进入待研判" in page
