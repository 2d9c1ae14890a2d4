"""/reports/annual: the annual report page, its downloads and the admin's form (SQLite, and
PostgreSQL when configured)."""

import html
import io
import re

import pytest
from docx import Document
from sqlalchemy import select

from huiying import annual_format as fmt
from huiying.annual import load_inputs, save_inputs
from huiying.models import AnnualInput
from huiying.users import create_user
from tests.core.test_annual import year_2026
from tests.core.test_annual_format import consistent

from .conftest import PASSWORD, csrf_token

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def people(db):
    create_user(db, "leader", PASSWORD, "leader")
    create_user(db, "press", PASSWORD, "press")
    create_user(db, "jichu", PASSWORD, "department", department="基础教育股")
    db.commit()


def test_leader_reads_the_figures_and_downloads_the_docx(client, auth, db, people):
    cases = year_2026(db)
    auth.login("leader", PASSWORD)
    page = html.unescape(client.get("/reports/annual?year=2026").text)
    assert 'href="/reports/annual"' in page  # the navbar link
    assert "政府信息公开工作年度报告" in page and "某县教育体育局" in page
    row = re.search(r"<th scope=\"row\">网上留言板</th>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r">([^<>]+)</td>", row) == ["6", "5", "4", "80.0%", "2", "50.0%", "20.0"]
    assert "填报年报数据" not in page  # only the admin enters figures
    assert page.count("未填报") >= len(fmt.FIELDS)  # nothing entered: every cell says so
    download = client.get("/reports/annual.docx?year=2026")
    assert download.status_code == 200 and download.mimetype == DOCX
    assert "huiying-annual-2026.docx" in download.headers["Content-Disposition"]
    tables = Document(io.BytesIO(download.data)).tables
    assert tables[0].rows[1].cells[3].text == "4"  # 网上留言板 已回应
    assert len(cases) == 12


@pytest.mark.parametrize("url", ["/reports/annual", "/reports/annual.docx?year=2026",
                                 "/reports/annual/input?year=2026"])
def test_department_users_are_refused(client, auth, people, url):
    auth.login("jichu", PASSWORD)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("user", ["leader", "press"])
def test_only_the_admin_enters_figures(client, auth, people, user):
    auth.login(user, PASSWORD)
    assert client.get("/reports/annual/input?year=2026").status_code == 403
    assert client.post("/reports/annual/input?year=2026", data={"t2.fees": "1"}).status_code in (400, 403)


def test_the_admin_enters_the_tables_and_a_typo_loses_nothing(client, auth, db, people):
    auth.login()
    form = client.get("/reports/annual/input?year=2026")
    assert form.status_code == 200
    token = csrf_token(form.text)
    values = {key: "" if value is None else str(fmt.number(value)) for key, value in consistent().items()}
    values["overview.press_conferences"] = "3"
    bad = {**values, "t3.r05.natural": "十二", "t4.review.total": "-1"}
    refused = client.post("/reports/annual/input?year=2026", data={"csrf_token": token, **bad})
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "有 2 项填写有误，均未保存" in text
    assert "“表三 （三）不予公开1.属于国家秘密 自然人”应填写数字，收到“十二”。" in text
    assert 'value="十二"' in text and 'value="3"' in text  # everything typed comes back
    assert db.scalar(select(AnnualInput).limit(1)) is None  # nothing saved

    saved = client.post("/reports/annual/input?year=2026", data={"csrf_token": token, **values})
    assert saved.status_code == 302
    db.expire_all()
    assert load_inputs(db, 2026)["overview.press_conferences"] == 3.0
    page = html.unescape(client.get("/reports/annual?year=2026").text)
    assert "已保存 2026 年的年报数据。" in page and "未填报" not in page.split("二、主动公开政府信息情况")[1]
    assert client.get("/reports/annual.xlsx?year=2026").status_code == 200

    # A sum that does not add up: saved, listed by cell, and no download.
    client.post("/reports/annual/input?year=2026",
                data={"csrf_token": token, **{**values, "t3.r24.total": "14"}})
    page = html.unescape(client.get("/reports/annual?year=2026").text)
    assert "表三“（七）总计”行“总计”列为 14，但自然人与法人或其他组织各列之和为 12。" in page
    assert "表三“（七）总计”行“总计”列为 14，但（一）至（六）各项之和为 12。" in page
    refused = client.get("/reports/annual.docx?year=2026")
    assert refused.status_code == 302 and refused.location.endswith("/reports/annual?year=2026")
    assert "年报数据未通过核对，未导出" in html.unescape(client.get(refused.location).text)


def test_a_post_without_the_csrf_token_is_refused(client, auth, db, people):
    auth.login()
    assert client.post("/reports/annual/input?year=2026", data={"t2.fees": "1"}).status_code == 400
    assert db.scalar(select(AnnualInput).limit(1)) is None


def test_bad_year_and_a_year_the_calendar_does_not_know(client, auth, db, people):
    auth.login("press", PASSWORD)
    page = html.unescape(client.get("/reports/annual?year=abc", follow_redirects=True).text)
    assert "年份格式应为 YYYY，已显示上一年。" in page
    assert client.get("/reports/annual.docx?year=abc").status_code == 400
    page = html.unescape(client.get("/reports/annual?year=2099").text)
    assert "工作日历未覆盖 2099 年" in page


def test_the_follow_up_form_records_the_verdict(client, auth, db, people):
    cases = year_2026(db)
    save_inputs(db, 2026, {})
    auth.login("press", PASSWORD)
    target = cases["B4"]  # replied, not yet followed up
    page = client.get(f"/cases/{target.id}")
    assert "群众评价" in page.text and ">基本满意<" in page.text
    token = re.search(r'name="follow_up-csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    done = client.post(f"/cases/{target.id}/act/follow_up",
                       data={"follow_up-csrf_token": token, "follow_up-text": "家长表示基本满意。",
                             "follow_up-satisfaction": "基本满意"})
    assert done.status_code == 302
    page = html.unescape(client.get("/reports/annual?year=2026").text)
    row = re.search(r"<th scope=\"row\">基本满意</th><td class=\"text-end\">(\d+)</td>", page)
    assert row.group(1) == "2"  # M1 and now B4
