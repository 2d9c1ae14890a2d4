"""Languages: Simplified Chinese by default, English from Accept-Language or the navbar switch;
the English catalog is complete and compiled when the app starts."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from dashboard import i18n
from huiying.models import CaseStatus, Severity

from .conftest import create_app_for_tests, csrf_token

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "dashboard" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
EN = {"Accept-Language": "en-US,en;q=0.9"}
STATUSES_EN = {
    "待研判": "Awaiting triage", "已派单": "Assigned", "已签收": "Accepted", "已回复": "Replied",
    "已回访": "Followed up", "办结": "Closed", "退回": "Returned", "延期": "Extended",
    "不予处理": "Dismissed", "合并": "Merged",
    "待补正": "Awaiting correction",
}
SEVERITIES_EN = {"重大": "Major", "较大": "Serious", "一般": "General"}


def text(response) -> str:
    return html.unescape(response.text)


def switch(client, code, next_url="/cases/"):
    token = csrf_token(client.get("/auth/login", follow_redirects=True).text)
    return client.post(f"/lang/{code}", data={"csrf_token": token, "next": next_url})


# --- choosing the language -----------------------------------------------------------------

def test_chinese_by_default(client, auth, cases):
    auth.login()
    page = client.get("/cases/")
    assert '<html lang="zh-CN">' in page.text
    assert "<title>案件列表 · 回应</title>" in page.text
    assert '<th scope="col">办理时限</th>' in page.text
    assert "共 4 件" in page.text and "待研判 1" in page.text


@pytest.mark.parametrize(("header", "lang"), [
    ("en", "en"),
    ("en-GB,en;q=0.9", "en"),
    ("fr-FR,en;q=0.5", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),  # an exact "en" must not beat a preferred zh-CN
    ("zh-TW", "zh-CN"),
    ("fr", "zh-CN"),
    ("en;q=0", "zh-CN"),
    ("*", "zh-CN"),
])
def test_accept_language(client, header, lang):
    page = client.get("/auth/login", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in page.text


def test_english_case_list(client, auth, cases):
    auth.login()
    page = text(client.get("/cases/", headers=EN))
    assert '<html lang="en">' in page
    assert "<title>Cases · Huiying</title>" in page
    assert '<h1 class="h4 mb-3">Cases</h1>' in page
    for header in ("No.", "Title", "Status", "Severity", "Topic", "Department", "Heat", "First seen", "Due"):
        assert f'<th scope="col">{header}</th>' in page
    assert "4 cases" in page and "Assigned 3" in page and "Awaiting triage 1" in page
    assert "Not assigned" in page
    # Data stays as stored: titles, department names.
    assert "城关小学招生入学划片不合理" in page and "基础教育股" in page
    assert "办理时限" not in page and "案件列表" not in page


def test_status_and_severity_labels(app, client, auth, cases):
    auth.login()
    page = text(client.get("/cases/", headers=EN))
    # The filter lists every status and severity; the option values stay the stored ones.
    for chinese, english in {**STATUSES_EN, **SEVERITIES_EN}.items():
        assert f'<option value="{chinese}" >{english}</option>' in page
    assert "General</span>" in page  # the severity badges
    assert text(client.get("/cases/?status=待研判", headers=EN)).count("Awaiting triage") >= 2

    detail = text(client.get(f"/cases/{cases['enrolment'].id}", headers=EN))
    assert "<dd class=\"col-sm-10\">Assigned</dd>" in detail
    assert "— → Awaiting triage" in detail and "Awaiting triage → Assigned" in detail  # history
    assert re.search(r"<td[^>]*>Case created</td>", detail)  # the history's action labels
    assert "Anonymous" in text(client.get(f"/cases/{cases['script'].id}", headers=EN))

    with app.test_request_context(headers=EN):
        assert {s: i18n.status_label(s) for s in CaseStatus} == STATUSES_EN
        assert {s: i18n.severity_label(s) for s in Severity} == SEVERITIES_EN
    with app.test_request_context():
        assert [i18n.status_label(s) for s in CaseStatus] == list(STATUSES_EN)


def test_login_page_in_english(client):
    login = text(client.get("/auth/login", headers=EN))
    assert "<title>Log in · Huiying</title>" in login
    assert ">Username</label>" in login and ">Password</label>" in login
    assert 'value="Log in"' in login
    failed = client.post("/auth/login", headers=EN, data={
        "csrf_token": csrf_token(login), "username": "admin", "password": "wrong-password"})
    assert "Incorrect username or password" in text(failed)
    redirected = client.get("/cases/", headers=EN, follow_redirects=True)
    assert "Please log in first." in text(redirected)


def test_error_pages_and_form_messages_in_english(client, auth):
    auth.login()
    missing = text(client.get("/no-such-page", headers=EN))
    assert '<html lang="en">' in missing and "Page not found." in missing
    form = client.get("/admin/topics/new", headers=EN).text
    response = client.post("/admin/topics/new", headers=EN, data={
        "csrf_token": csrf_token(form), "name": "名" * 41, "strong_words": ""})
    page = text(response)
    assert "The topic name cannot be longer than 40 characters." in page
    assert "Please enter at least one strong keyword." in page
    assert ">Strong keywords</label>" in page


# --- the switch ----------------------------------------------------------------------------

def test_switch_persists_beats_the_header_and_survives_login(client, auth, cases):
    response = switch(client, "en", "/auth/login?next=/cases/")
    assert response.status_code == 302 and response.location == "/auth/login?next=/cases/"
    assert '<html lang="en">' in client.get("/auth/login").text
    auth.login()  # the login clears the session, but not the language
    page = client.get("/cases/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page.text and 'aria-pressed="true">English' in page.text

    assert switch(client, "zh_Hans").location == "/cases/"
    assert '<html lang="zh-CN">' in client.get("/cases/", headers=EN).text
    auth.logout()
    assert '<html lang="zh-CN">' in client.get("/auth/login", headers=EN).text


@pytest.mark.parametrize("code", ["fr", "zh", "EN", "en_US", "zh-CN"])
def test_switch_rejects_unknown_languages(client, code):
    assert switch(client, code).status_code == 404
    assert '<html lang="zh-CN">' in client.get("/auth/login").text


@pytest.mark.parametrize("next_url", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "", "cases",
])
def test_switch_redirects_only_to_local_paths(client, next_url):
    response = switch(client, "en", next_url)
    assert response.status_code == 302 and response.location == "/"
    assert '<html lang="en">' in client.get("/auth/login").text


def test_switch_returns_to_the_page_it_was_on(client, auth):
    assert 'name="next" value="/auth/login?next=/cases/%3Fq%3D1"' in client.get(
        "/auth/login?next=/cases/%3Fq%3D1").text
    # A CSRF failure on a POST-only URL: the switch must not lead back to it.
    auth.login()
    page = client.post("/auth/logout", data={})
    assert page.status_code == 400 and 'name="next" value="/"' in page.text


def test_switch_needs_post_and_csrf(client):
    assert client.get("/lang/en").status_code == 405
    assert client.post("/lang/en", data={"next": "/"}).status_code == 400
    assert '<html lang="zh-CN">' in client.get("/auth/login").text


# --- the catalog ---------------------------------------------------------------------------

def read_catalog():
    with CATALOG.open("rb") as po_file:
        return read_po(po_file, locale="en")


def test_english_catalog_is_complete():
    catalog = read_catalog()
    messages = [m for m in catalog if m.id]
    assert len(messages) > 100
    for message in messages:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
    # Placeholders (%(name)s) match between msgid and msgstr.
    assert [(m.id, errors) for m, errors in catalog.check()] == []


def test_every_marked_string_is_in_the_catalog():
    """What `pybabel extract` (make translations) would find, against the catalog."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    extracted = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        extracted.add(message if isinstance(message, str) else message[0])
    catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in read_catalog() if m.id}
    assert len(extracted) > 100
    assert sorted(extracted - catalog) == [], "run `make translations` and translate"
    assert sorted(catalog - extracted) == [], "stale entries: run `make translations`"


# --- compiling -----------------------------------------------------------------------------

def test_catalogs_compile_when_missing_or_stale(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(CATALOG.parents[2], source, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    mo = source / "en" / "LC_MESSAGES" / "messages.mo"
    assert i18n.compile_catalogs(source) == [mo]
    assert i18n.compile_catalogs(source) == []  # up to date
    po = mo.with_suffix(".po")
    os.utime(po, (mo.stat().st_mtime + 10,) * 2)
    assert i18n.compile_catalogs(source) == [mo]

    from babel.support import Translations

    with mo.open("rb") as mo_file:
        english = Translations(mo_file)
    assert english.gettext("案件列表") == "Cases"
    assert english.ngettext("共 %(num)d 件", "共 %(num)d 件", 2) == "%(num)d cases"


def test_app_start_compiles_the_catalog(database_url, tmp_path, monkeypatch):
    """A fresh checkout or install has no .mo: the factory writes it, English works."""
    source = tmp_path / "package-translations"
    shutil.copytree(CATALOG.parents[2], source, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    monkeypatch.setattr(i18n, "TRANSLATIONS", source)
    app = create_app_for_tests()
    assert (source / "en" / "LC_MESSAGES" / "messages.mo").is_file()
    assert app.config["BABEL_TRANSLATION_DIRECTORIES"] == str(source)
    assert "<title>Log in · Huiying</title>" in app.test_client().get("/auth/login", headers=EN).text


def test_read_only_installation_compiles_into_the_data_dir(database_url, tmp_path, monkeypatch):
    compile_catalogs = i18n.compile_catalogs

    def read_only_package(source=i18n.TRANSLATIONS, target=None):
        if target is None:
            raise PermissionError(13, "Read-only file system", str(source))
        return compile_catalogs(source, target)

    monkeypatch.setattr(i18n, "compile_catalogs", read_only_package)
    app = create_app_for_tests()
    fallback = tmp_path / "translations"  # HUIYING_DATA_DIR is tmp_path
    assert app.config["BABEL_TRANSLATION_DIRECTORIES"] == str(fallback)
    assert (fallback / "en" / "LC_MESSAGES" / "messages.mo").is_file()
    assert "<title>Log in · Huiying</title>" in app.test_client().get("/auth/login", headers=EN).text
