"""/reports/monthly: the figures page and its downloads (SQLite, and PostgreSQL when configured)."""

import html
import io
from urllib.parse import quote

import pytest
from freezegun import freeze_time
from openpyxl import load_workbook

from huiying.monthly_export import SUMMARY_HEADERS
from huiying.users import create_user
from tests.core.test_figures import october

from .conftest import PASSWORD

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def month_cases(db):
    cases = october(db)
    create_user(db, "leader", PASSWORD, "leader")
    create_user(db, "jichu", PASSWORD, "department", department="基础教育股")
    db.commit()
    return {key: case.id for key, case in cases.items()}


def test_leader_sees_the_figures_and_downloads_the_xlsx(client, auth, month_cases):
    auth.login("leader", PASSWORD)
    page = client.get("/reports/monthly?month=2026-10")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert 'href="/reports/monthly"' in text  # the navbar link
    assert '<th scope="col" class="text-end">回应率</th>' in text
    assert "60.0%" in text and "66.7%" in text  # 3 of 5 replied, 2 of 3 on time
    assert 'href="/reports/monthly.xlsx?month=2026-10"' in text

    # A GET: no CSRF token needed.
    download = client.get("/reports/monthly.xlsx?month=2026-10")
    assert download.status_code == 200 and download.mimetype == XLSX
    disposition = download.headers["Content-Disposition"]
    assert disposition == ("attachment; filename=\"huiying-monthly-2026-10.xlsx\"; "
                           f"filename*=UTF-8''{quote('回应月报-2026-10.xlsx')}")
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames == ["汇总", "渠道", "明细"]
    assert book["渠道"]["A1"].value == "某县教育体育局回应月报（2026年10月） 各渠道收到与回应"
    assert book["汇总"]["A1"].value == "某县教育体育局回应月报（2026年10月）"  # HUIYING_BUREAU_NAME's default
    assert [c.value for c in book["汇总"][2]] == SUMMARY_HEADERS
    assert [c.value for c in book["汇总"][3]][:4] == ["全部", 7, 5, 3]
    ids = [row[0] for row in book["明细"].iter_rows(min_row=3, values_only=True)]
    assert ids == [month_cases[k] for k in "ABCDEFG"]  # F, first seen 23:30 local on 10-31, is in
    assert book["明细"].cell(3, 15).value == f"http://127.0.0.1:8080/cases/{month_cases['A']}"


def test_csv_download(client, auth, month_cases):
    auth.login()  # admin
    download = client.get("/reports/monthly.csv?month=2026-10")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "filename*=UTF-8''" + quote("回应月报-2026-10.csv") in download.headers["Content-Disposition"]
    assert download.data.startswith(b"\xef\xbb\xbf")
    assert download.data.decode("utf-8-sig").splitlines()[1].startswith("全部,7,5,3,60.0%,2,66.7%,")


@pytest.mark.parametrize("url", ["/reports/monthly", "/reports/monthly.xlsx?month=2026-10",
                                 "/reports/monthly.csv?month=2026-10"])
def test_department_users_are_refused(client, auth, month_cases, url):
    auth.login("jichu", PASSWORD)
    assert client.get(url).status_code == 403
    assert 'href="/reports/monthly"' not in client.get("/cases/").text


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/reports/monthly.xlsx?month=2026-10")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@freeze_time("2026-11-25 12:00:00")
def test_default_month_is_last_month_and_a_bad_one_falls_back(client, auth, month_cases):
    auth.login("leader", PASSWORD)
    page = html.unescape(client.get("/reports/monthly").text)
    assert 'value="2026-10"' in page and "60.0%" in page
    page = html.unescape(client.get("/reports/monthly?month=2026-13").text)
    assert "月份格式应为 YYYY-MM，已显示上月。" in page and 'value="2026-10"' in page
    assert client.get("/reports/monthly.xlsx?month=abc").status_code == 400


def test_an_empty_month_downloads_an_empty_report(client, auth, month_cases):
    auth.login("leader", PASSWORD)
    page = html.unescape(client.get("/reports/monthly?month=2030-02").text)
    assert "本月没有案件。" in page
    book = load_workbook(io.BytesIO(client.get("/reports/monthly.xlsx?month=2030-02").data))
    assert book["明细"].max_row == 2  # the title and the headers
