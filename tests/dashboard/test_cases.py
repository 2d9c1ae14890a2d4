"""Case list and detail, through the test client against a real database."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from huiying.models import Case, Comment, Department, utcnow

HEADERS = ["编号", "标题", "状态", "严重程度", "主题", "承办科室", "热度", "首次发现", "办理时限"]


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_list_shows_cases_with_chinese_headers(client, auth, cases):
    auth.login()
    page = client.get("/cases/")
    assert page.status_code == 200
    for header in HEADERS:
        assert f'<th scope="col">{header}</th>' in page.text
    assert len(rows(page.text)) == len(cases)
    assert "城关小学招生入学划片不合理" in page.text
    assert "基础教育股" in page.text and "未派单" in page.text
    assert "2024-09-02 09:30" in page.text  # first seen, in Asia/Shanghai
    assert "已派单 3" in page.text and "待研判 1" in page.text  # counts per status


def test_the_home_page_links_to_the_case_list(client, auth):
    auth.login()
    page = client.get("/")
    assert page.status_code == 200 and 'href="/cases/">案件</a>' in page.text


@pytest.mark.parametrize(("params", "expected"), [
    ({"status": "待研判"}, {"fees"}),
    ({"status": "已派单"}, {"enrolment", "bus", "script"}),
    ({"q": "校车"}, {"bus"}),
    ({"q": "%"}, set()),  # LIKE wildcards are literal
    ({"department": "none"}, {"fees"}),
    ({"severity": "重大"}, set()),
    ({"severity": "一般", "q": "招生"}, {"enrolment"}),
    ({"status": "不是状态"}, {"enrolment", "bus", "fees", "script"}),  # unknown filters ignored
])
def test_filters(client, auth, cases, params, expected):
    auth.login()
    page = client.get("/cases/", query_string=params)
    assert page.status_code == 200
    shown = {key for key, case in cases.items() if f'href="/cases/{case.id}"' in page.text}
    assert shown == expected


def test_department_filter(client, auth, cases, db):
    auth.login()
    department = db.scalar(select(Department).where(Department.name == "安全稳定股"))
    page = client.get("/cases/", query_string={"department": department.id})
    shown = {key for key, case in cases.items() if f'href="/cases/{case.id}"' in page.text}
    assert shown == {"bus", "script"}
    assert f'<option value="{department.id}" selected>安全稳定股</option>' in page.text


def test_overdue_due_time_is_red(client, auth, cases, db):
    case = db.get(Case, cases["bus"].id)
    case.due_at = utcnow() - timedelta(hours=1)
    db.commit()
    auth.login()
    page = client.get("/cases/")
    overdue_rows = [r for r in rows(page.text) if 'class="overdue"' in r]
    assert len(overdue_rows) == 1 and "校车超载严重" in overdue_rows[0]
    assert "已超时" in client.get(f"/cases/{case.id}").text


def test_pagination(client, auth, db):
    now = utcnow()
    for i in range(30):
        db.add(Case(title=f"案件{i:02d}", fingerprint=f"fp{i}", first_seen_at=now - timedelta(minutes=i)))
    db.commit()
    auth.login()
    first = client.get("/cases/")
    assert len(rows(first.text)) == 25
    assert "第 1 / 2 页" in first.text and "案件00" in first.text
    second = client.get("/cases/", query_string={"page": 2})
    assert len(rows(second.text)) == 5 and "案件29" in second.text
    assert len(rows(client.get("/cases/?page=99").text)) == 5  # clamped to the last page
    assert len(rows(client.get("/cases/?page=abc").text)) == 25


def test_detail_shows_comments_and_events(client, auth, cases, db):
    auth.login()
    case = cases["enrolment"]
    db.scalar(select(Comment).where(Comment.case_id == case.id)).reply_unit = "城关镇中心学校"
    db.commit()
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    text = page.text
    assert "城关小学招生入学划片不合理" in text
    assert "县政府留言板" in text
    assert "今年小学招生入学划片政策不公平" in text
    assert "2024-09-02 09:30" in text
    assert 'href="https://liuyan.example.gov.cn/m1" target="_blank" rel="noopener noreferrer"' in text
    assert "官方回复" in text and "已转基础教育股核实" in text
    assert "答复单位：城关镇中心学校" in text  # who answered on the board
    assert "招生入学" in text and "基础教育股" in text
    assert any(label in text for label in ("负面", "中性", "正面"))
    # history: created by the system, then assigned
    assert "系统" in text and "生成案件" in text and "派单" in text
    assert "待研判 → 已派单" in text
    assert "按分办规则派至基础教育股" in text


def test_detail_masks_personal_data(client, auth, cases):
    auth.login()
    text = client.get(f"/cases/{cases['enrolment'].id}").text
    assert "13812341234" not in text and "138****1234" in text
    assert "110101199003071234" not in text and "110101********1234" in text
    assert "张三丰" not in text and "张**" in text
    assert "0851-1234567" in text  # office numbers are not personal data


def test_script_in_comment_is_escaped(client, auth, cases):
    auth.login()
    for path in (f"/cases/{cases['script'].id}", "/cases/"):
        text = client.get(path).text
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_javascript_url_is_not_linked(client, auth, cases, db):
    comment = db.scalar(select(Comment).where(Comment.case_id == cases["bus"].id))
    comment.url = "javascript:alert(document.cookie)"
    db.commit()
    auth.login()
    text = client.get(f"/cases/{cases['bus'].id}").text
    assert "javascript:" not in text and "查看原文" not in text


def test_unknown_case_is_404(client, auth):
    auth.login()
    page = client.get("/cases/999999")
    assert page.status_code == 404
    assert "页面不存在" in page.text


def test_department_user_sees_only_own_cases(client, auth, users, cases):
    auth.login("jichu", users["jichu"])
    page = client.get("/cases/")
    shown = {key for key, case in cases.items() if f'href="/cases/{case.id}"' in page.text}
    assert shown == {"enrolment"}
    assert 'name="department"' not in page.text  # no department filter for a department
    counts = page.text.split('aria-label="按状态统计"', 1)[1].split("</nav>", 1)[0]
    assert "已派单 1" in counts and "待研判" not in counts
    assert client.get(f"/cases/{cases['enrolment'].id}").status_code == 200
    for key in ("bus", "fees", "script"):
        assert client.get(f"/cases/{cases[key].id}").status_code == 404


def test_department_user_cannot_widen_with_filters(client, auth, users, cases, db):
    other = db.scalar(select(Department).where(Department.name == "安全稳定股"))
    auth.login("jichu", users["jichu"])
    for params in ({"department": other.id}, {"department": "none"}, {"q": "校车"}):
        page = client.get("/cases/", query_string=params)
        assert f'href="/cases/{cases["bus"].id}"' not in page.text
        assert f'href="/cases/{cases["fees"].id}"' not in page.text


def test_press_user_sees_all(client, auth, users, cases):
    auth.login("press", users["press"])
    page = client.get("/cases/")
    assert all(f'href="/cases/{case.id}"' in page.text for case in cases.values())
