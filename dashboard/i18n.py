"""Languages of the dashboard: Simplified Chinese by default, English available.

The message ids are the Chinese texts, so Chinese needs no catalog. The English catalog
(`translations/en/LC_MESSAGES/messages.po`) is compiled to its `.mo` when the app is created,
if the `.mo` is missing or older than the `.po`: compiled catalogs are build output, not
committed. `make translations` extracts, updates and compiles for developers.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, abort, redirect, request, session, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

from huiying.models import CaseStatus, Severity

DEFAULT_LOCALE = "zh_Hans"
LANGUAGES = ("zh_Hans", "en")
HTML_LANG = {"zh_Hans": "zh-CN", "en": "en"}
SESSION_KEY = "lang"
# Accept-Language: any Chinese variant reads the Chinese pages (there are no others).
PRIMARY_TAGS = {"zh": "zh_Hans", "en": "en"}
TRANSLATIONS = Path(__file__).parent / "translations"


def N_(message: str) -> str:  # the name gettext tools look for
    """Mark a message for extraction without translating it: for texts that are also
    stored (in Chinese) and are translated only where they are shown."""
    return message


bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The user's choice (session), else the best Accept-Language match, else Chinese."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    # Werkzeug's best_match prefers an exact "en" over a better-rated "zh-CN": do it by hand.
    for value, quality in request.accept_languages:  # highest quality first
        language = PRIMARY_TAGS.get(value.replace("_", "-").split("-")[0].lower())
        if language and quality > 0:
            return language
    return DEFAULT_LOCALE


def html_lang() -> str:
    return HTML_LANG.get(str(get_locale()), "zh-CN")


def current_path() -> str:
    """Where the language switch returns to: this page, unless it cannot be fetched again
    (no route, or a POST-only one such as logout)."""
    if request.url_rule is None or "GET" not in (request.url_rule.methods or ()):
        return "/"
    query = request.query_string.decode("latin-1")
    return request.path + ("?" + query if query else "")


@bp.post("/lang/<code>")
def switch(code: str):
    """The navbar switch (CSRF-protected POST): remember the language, go back where we were."""
    from dashboard.auth import safe_next

    if code not in LANGUAGES:
        abort(404)
    session[SESSION_KEY] = code
    return redirect(safe_next(request.form.get("next")) or url_for("index"))


def status_label(value: str | None) -> str:
    """Case statuses are stored in Chinese (the 12345 vocabulary); shown in the UI language."""
    labels = {
        CaseStatus.TRIAGE: _("待研判"),
        CaseStatus.ASSIGNED: _("已派单"),
        CaseStatus.ACCEPTED: _("已签收"),
        CaseStatus.REPLIED: _("已回复"),
        CaseStatus.FOLLOWED_UP: _("已回访"),
        CaseStatus.CLOSED: _("办结"),
        CaseStatus.RETURNED: _("退回"),
        CaseStatus.EXTENDED: _("延期"),
        CaseStatus.REJECTED: _("不予处理"),
        CaseStatus.MERGED: _("合并"),
        CaseStatus.CORRECTION: _("待补正"),
    }
    return labels.get(value or "", value or "—")


def severity_label(value: str | None) -> str:
    labels = {Severity.MAJOR: _("重大"), Severity.SERIOUS: _("较大"), Severity.GENERAL: _("一般")}
    return labels.get(value or "", value or "—")


def compile_catalogs(source: Path = TRANSLATIONS, target: Path | None = None) -> list[Path]:
    """Write `<target>/<lang>/LC_MESSAGES/<domain>.mo` for every .po under `source` whose .mo
    is missing or older; fuzzy entries are left out. Returns the files written."""
    target = target or source
    written = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        relative = po_path.relative_to(source).with_suffix(".mo")
        mo_path = target / relative
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=relative.parts[0])
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        # Several processes may start at once: write aside, then rename into place.
        partial = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)
        written.append(mo_path)
    return written


def _translation_directory(app: Flask) -> str:
    """The package folder when it is writable (source checkouts, `pip install -e .`),
    else a folder in the data dir (a read-only installation)."""
    try:
        compile_catalogs(TRANSLATIONS)
        return str(TRANSLATIONS)
    except OSError as exc:
        fallback = app.config["HUIYING_SETTINGS"].data_dir / "translations"
        app.logger.info("translations: %s is read-only (%s); compiling into %s",
                        TRANSLATIONS, exc, fallback)
        compile_catalogs(TRANSLATIONS, fallback)
        return str(fallback)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["TIMEZONE"])
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", _translation_directory(app))
    # One Babel per app: its translations cache is keyed by locale only, so apps with other
    # translation directories (tests) must not share it.
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.add_template_filter(status_label)
    app.add_template_filter(severity_label)
    app.jinja_env.globals.update(html_lang=html_lang, current_path=current_path,
                                 languages=LANGUAGES)

