"""The JSON API through the test client (SQLite and PostgreSQL): bearer tokens, the same
permissions as the pages, the same filters as the list, masked personal data."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from huiying.models import Case, Department, User
from huiying.users import create_user, new_api_token, revoke_api_token
from tests.conftest import clean_env, huiying

from .conftest import PASSWORD
from .hotline import TICKET, hotline  # noqa: F401 (a fixture)


def token_for(db, username: str) -> str:
    token = new_api_token(db, username)
    db.commit()
    return token


def get(client, path: str, token: str | None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers, query_string=params)


def assert_refused(response, status: int, code: str):
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert body["error"] == code
    assert body["message"]["zh"] and body["message"]["en"]
    assert body["message"]["zh"] != body["message"]["en"]
    return body


def test_no_or_invalid_token_is_401_in_chinese_and_english(client, cases):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": "Basic YWRtaW46YWRtaW4="}):
        for path in ("/api/cases", f"/api/cases/{cases['bus'].id}", "/api/stats"):
            response = client.get(path, headers=headers)
            body = assert_refused(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "Authorization: Bearer" in body["message"]["zh"]
            assert "token" in body["message"]["en"]


def test_a_logged_in_session_is_not_enough(client, auth, cases):
    auth.login()
    assert client.get("/cases/").status_code == 200
    assert_refused(client.get("/api/cases"), 401, "unauthorized")


def test_department_token_sees_only_its_cases(client, users, cases, db):
    token = token_for(db, "jichu")
    body = get(client, "/api/cases", token).get_json()
    assert body["total"] == 1 and [c["id"] for c in body["cases"]] == [cases["enrolment"].id]
    assert body["cases"][0]["department"] == "基础教育股"
    assert get(client, f"/api/cases/{cases['enrolment'].id}", token).status_code == 200
    for key in ("bus", "fees", "script"):  # another department's, or not assigned: as if missing
        body = assert_refused(get(client, f"/api/cases/{cases[key].id}", token), 404, "not_found")
    assert assert_refused(get(client, "/api/cases/999999", token), 404, "not_found") == body
    # Filters cannot widen it, as on the page.
    other = db.scalar(select(Department).where(Department.name == "安全稳定股"))
    assert get(client, "/api/cases", token, department=other.id).get_json()["total"] == 1
    assert get(client, "/api/cases", token, q="校车").get_json()["total"] == 0


def test_case_detail_masks_and_has_comments_and_events(client, users, cases, db):
    token = token_for(db, "admin")  # the press office reads personal data in clear
    body = get(client, f"/api/cases/{cases['enrolment'].id}", token).get_json()
    assert body["title"] == "城关小学招生入学划片不合理"
    assert body["status"] == "已派单" and body["department"] == "基础教育股"
    assert body["url"].endswith(f"/cases/{cases['enrolment'].id}")
    text = str(body)
    assert "13812341234" not in text and "138****1234" in text
    assert "110101199003071234" not in text and "张三丰" not in text
    comment = body["comments"][0]
    assert comment["author"] == "张**" and comment["channel"] == "board" and comment["ticket"] is None
    assert comment["published_at"] == "2024-09-02T01:30:00+00:00"
    assert [e["action"] for e in body["events"]][:2] == ["create", "assign"]
    assert body["events"][0]["actor"] is None


def test_hotline_case_has_its_ticket(client, users, hotline, db):  # noqa: F811
    token = token_for(db, "press")
    body = get(client, "/api/cases", token, q=TICKET).get_json()
    assert [c["id"] for c in body["cases"]] == [hotline.id]
    detail = get(client, f"/api/cases/{hotline.id}", token).get_json()
    assert detail["channels"] == ["hotline"]
    assert detail["comments"][0]["ticket"] == TICKET and detail["comments"][0]["request_type"] == "投诉"
    assert "13912345678" in str(detail) and "赵六" in str(detail)  # the press office calls back
    detail = get(client, f"/api/cases/{hotline.id}", token_for(db, "admin")).get_json()
    assert "13912345678" not in str(detail) and "赵六" not in str(detail)


def test_pagination_and_the_same_filters_as_the_list(client, auth, users, cases, hotline, db):  # noqa: F811
    token = token_for(db, "press")
    first = get(client, "/api/cases", token, per_page=2, sort="heat").get_json()
    assert first["total"] == 5 and first["page"] == 1 and len(first["cases"]) == 2
    assert "page=2" in first["next"] and "sort=heat" in first["next"] and "per_page=2" in first["next"]
    seen = [c["id"] for c in first["cases"]]
    url = first["next"]
    while url:
        page = client.get(url, headers={"Authorization": f"Bearer {token}"}).get_json()
        seen += [c["id"] for c in page["cases"]]
        url = page["next"]
    assert sorted(seen) == sorted([c.id for c in cases.values()] + [hotline.id])
    assert len(seen) == len(set(seen))
    # What the list page shows for a filter is what the API returns for it.
    auth.login("press", PASSWORD)
    for params in ({"channel": "board"}, {"status": "待研判"}, {"department": "none"},
                   {"from": "2024-09-03"}, {"q": "校车"}):
        listed = client.get("/cases/", query_string=params).text
        api = {c["id"] for c in get(client, "/api/cases", token, **params).get_json()["cases"]}
        assert api == {i for i in seen if f'href="/cases/{i}"' in listed}, params


def test_bad_parameters_are_400_with_each_problem(client, users, cases, db):
    token = token_for(db, "press")
    body = assert_refused(get(client, "/api/cases", token, status="不是状态", to="yesterday"),
                          400, "bad_request")
    assert len(body["problems"]) == 2
    assert "“状态”不认识“不是状态”，已忽略。" in [p["zh"] for p in body["problems"]]
    assert any("YYYY-MM-DD" in p["en"] and "End date" in p["en"] for p in body["problems"])
    assert_refused(get(client, "/api/cases", token, page="0"), 400, "bad_request")
    assert_refused(get(client, "/api/cases", token, per_page="lots"), 400, "bad_request")
    assert_refused(get(client, "/api/cases", token, page="9" * 30), 400, "bad_request")
    assert_refused(get(client, "/api/cases", token, source="9" * 30), 400, "bad_request")
    assert get(client, "/api/cases", token, per_page="500").get_json()["per_page"] == 100


def test_revoked_replaced_and_disabled_tokens_are_refused(client, users, cases, db):
    old = token_for(db, "press")
    assert get(client, "/api/cases", old).status_code == 200
    new = token_for(db, "press")  # a new token replaces the old one
    assert_refused(get(client, "/api/cases", old), 401, "unauthorized")
    assert get(client, "/api/cases", new).status_code == 200
    assert revoke_api_token(db, "press") is True
    db.commit()
    assert_refused(get(client, "/api/cases", new), 401, "unauthorized")
    assert revoke_api_token(db, "press") is False

    token = token_for(db, "jichu")
    db.scalar(select(User).where(User.username == "jichu")).active = False
    db.commit()
    assert_refused(get(client, "/api/cases", token), 401, "unauthorized")
    assert_refused(get(client, f"/api/cases/{cases['enrolment'].id}", token), 401, "unauthorized")


def test_only_the_hash_is_stored(users, db):
    token = token_for(db, "press")
    stored = db.scalar(select(User.api_token_hash).where(User.username == "press"))
    assert stored and token not in stored and len(stored) == 64


def test_stats_per_role(client, users, cases, db):
    """The overview's figures: the bureau's for admin, press and leaders, a department's own
    for a department token, as their home pages show them."""
    create_user(db, "leader", PASSWORD, "leader")
    db.commit()
    period = {"from": "2024-09-01", "to": "2024-09-30"}
    for username in ("press", "leader", "admin"):
        response = get(client, "/api/stats", token_for(db, username), **period)
        assert response.status_code == 200, username
        body = response.get_json()
        assert body["period"] == period and body["department_id"] is None
        assert body["new_cases"]["total"] == len(cases)
        assert len(body["days"]) == 30
    body = get(client, "/api/stats", token_for(db, "jichu"), **period).get_json()
    own = db.scalar(select(Department).where(Department.name == "基础教育股"))
    assert body["department_id"] == own.id and body["new_cases"]["total"] == 1  # only its case
    default = get(client, "/api/stats", token_for(db, "press")).get_json()
    assert len(default["days"]) == 7 and default["new_cases"]["total"] == 0  # the last 7 days


def test_stats_period_errors_name_the_parameter(client, users, cases, db):
    token = token_for(db, "press")
    body = assert_refused(get(client, "/api/stats", token, **{"from": "2024-9-1", "to": "2024-09-30"}),
                          400, "bad_request")
    assert body["problems"][0]["parameter"] == "from"
    assert "2024-9-1" in body["problems"][0]["zh"] and "2024-9-1" in body["problems"][0]["en"]
    body = assert_refused(get(client, "/api/stats", token, **{"from": "2024-09-01"}), 400, "bad_request")
    assert body["problems"][0]["parameter"] == "to"


def test_api_only_reads(client, users, cases, db):
    token = token_for(db, "press")
    response = client.post("/api/cases", headers={"Authorization": f"Bearer {token}"})
    assert_refused(response, 405, "method_not_allowed")
    assert db.get(Case, cases["fees"].id).status == "待研判"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_token_and_revoke(client, users, cases, database_url):
    """`huiying users token` in its own process; the dashboard reads what it stored."""
    env = clean_env(**{k: v for k, v in os.environ.items() if k.startswith("HUIYING_")})
    token = huiying("users", "token", "press", env=env).stdout.strip()
    assert len(token) >= 40
    assert get(client, "/api/cases", token).get_json()["total"] == len(cases)
    second = huiying("users", "token", "press", env=env).stdout.strip()
    assert_refused(get(client, "/api/cases", token), 401, "unauthorized")
    result = huiying("users", "token", "press", "--revoke", env=env)
    assert "revoked" in result.stdout
    assert_refused(get(client, "/api/cases", second), 401, "unauthorized")
    missing = huiying("users", "token", "nobody", env=env, check=False)
    assert missing.returncode != 0 and "no user named 'nobody'" in missing.stderr
