"""Every written form of personal data, on every output a reader gets: the case page, the
list, the xlsx export and the JSON API — masked for each role except the press office
(dashboard/permissions.py SEE_PERSONAL_DATA), which calls the public back. The emails are
in tests/core/test_notify.py (always masked)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from huiying.models import Case, Comment
from huiying.users import create_user, new_api_token
from tests.personal_data import ALL_CLEAR, FORMS

from .conftest import PASSWORD

ROLES = ("admin", "leader", "jichu", "press")


@pytest.fixture
def personal(db, users, cases):
    """The 基础教育股 case, its title and first comment carrying every form."""
    create_user(db, "leader", PASSWORD, "leader")
    case = db.get(Case, cases["enrolment"].id)
    case.title = f"招生划片 联系方式 {ALL_CLEAR}"
    comment = db.get(Comment, case.comments[0].id)
    comment.body = f"孩子上学太远，请联系 {ALL_CLEAR}。"
    comment.official_reply = "已电话联系13812341234，详询教育局0851-1234567。"
    db.commit()
    return case.id


def login(auth, role):
    if role == "admin":
        return auth.login()
    return auth.login(role, PASSWORD)


def assert_masked(text: str, role: str, where: str) -> None:
    for name, (clear, masked) in FORMS.items():
        if role == "press":
            assert clear in text, f"{where}: the press office should read {name} in clear"
        else:
            assert clear not in text, f"{where}: {name} in clear for {role}"
            assert masked in text, f"{where}: {name} not masked as {masked!r} for {role}"


@pytest.mark.parametrize("role", ROLES)
def test_case_page_and_list(client, auth, personal, role):
    login(auth, role)
    page = client.get(f"/cases/{personal}").text
    assert_masked(page, role, "case page")
    # The reply's office number is the bureau's own: readable; the mobile in it is not.
    assert "0851-1234567" in page
    assert ("13812341234" in page) == (role == "press")
    assert_masked(client.get("/cases/").text, role, "case list")
    assert ("张三丰" in page) == (role == "press")


@pytest.mark.parametrize("role", ROLES)
def test_export(client, auth, personal, role):
    login(auth, role)
    response = client.get("/cases/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    cells = " ".join(str(value) for row in book["案件"].iter_rows(values_only=True) for value in row)
    assert_masked(cells, role, "xlsx export")


@pytest.mark.parametrize("role", ROLES)
def test_api(client, db, personal, role):
    token = new_api_token(db, role)
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    detail = client.get(f"/api/cases/{personal}", headers=headers)
    assert detail.status_code == 200
    body = detail.get_json()
    assert_masked(body["title"], role, "API title")
    assert_masked(body["comments"][0]["body"], role, "API comment")
    assert "0851-1234567" in body["comments"][0]["official_reply"]
    listed = client.get("/api/cases", headers=headers).get_json()
    assert_masked(str([c["title"] for c in listed["cases"]]), role, "API list")
