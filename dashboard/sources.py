"""/admin/sources: the configured sources, their YAML (edited and checked here), enable and
disable, last crawl, items and recent errors. Files and rules live in huiying/sources.py."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from dashboard.db import get_db, get_or_404
from dashboard.permissions import ADMINISTER, require_roles
from dashboard.refusals import message
from huiying import crawl_health
from huiying import sources as core
from huiying.errors import ChangeRefused, InputError
from huiying.models import CrawlError, Source

bp = Blueprint("sources", __name__, url_prefix="/admin/sources")

RECENT_ERRORS = 20
# huiying/crawl_health.py's incidents, as the sources table names them
INCIDENT_LABELS = {"robots": lazy_gettext("robots.txt 拒绝采集"), "failing": lazy_gettext("连续采集失败"),
                   "empty": lazy_gettext("采到 0 条，可能改版")}
MAX_YAML = 20_000
EXAMPLE = """\
name: county-board            # 小写字母、数字、- 或 _；保存后不能修改
title: 县政府留言板
start_urls:
  - https://liuyan.example.gov.cn/list?page=1
list:
  link: "ul.messages a::attr(href)"
  next: "a.next::attr(href)"
detail:
  title: "h1::text"
  body: "div.content ::text"
  published_at: "span.time::text"
  id: {from: url, pattern: "id=(\\\\d+)"}
enabled: true
"""


class SourceForm(FlaskForm):
    text = TextAreaField(lazy_gettext("配置（YAML）"), validators=[
        DataRequired(lazy_gettext("请填写来源配置。")),
        Length(max=MAX_YAML, message=lazy_gettext("配置不能超过 %(max)d 个字符。"))])
    check = SubmitField(lazy_gettext("检查"))
    save = SubmitField(lazy_gettext("保存"))


def _directory():
    return current_app.config["HUIYING_SETTINGS"].sources_dir


def _check_timeout() -> float:
    return float(current_app.config.get("SOURCE_CHECK_TIMEOUT", core.CHECK_TIMEOUT_SECONDS))


@bp.get("/")
@require_roles(*ADMINISTER)
def index():
    db = get_db()
    files = core.source_files(_directory())
    file_of = {f.config.name: f for f in files if f.config}
    error_counts = dict(db.execute(select(CrawlError.source_id, func.count())
                                   .group_by(CrawlError.source_id)).all())
    rows = db.scalars(select(Source).order_by(Source.name)).all()
    recent = db.execute(select(CrawlError, Source.name).join(Source, Source.id == CrawlError.source_id)
                        .order_by(CrawlError.at.desc(), CrawlError.id.desc()).limit(RECENT_ERRORS)).all()
    health_of = {h.name: h for h in crawl_health.health(db)}
    return render_template("admin/sources.html", sources=rows, file_of=file_of, error_counts=error_counts,
                           health_of=health_of, incident_labels=INCIDENT_LABELS,
                           broken=[f for f in files if f.error], recent=recent, directory=_directory(),
                           toggle=FlaskForm(), import_kind=core.IMPORT_KIND)


def _check_or_save(form: SourceForm, file_name: str | None):
    """The check button runs `huiying sources check`; save validates, writes and syncs."""
    if form.check.data:
        return core.check_source_text(form.text.data, timeout=_check_timeout()), None
    db = get_db()
    try:
        config = core.save_source_text(db, _directory(), form.text.data, file_name=file_name,
                                       actor_id=current_user.id)
    except ChangeRefused as error:
        db.rollback()
        form.text.errors = [*form.text.errors, message(error, "source")]
    except InputError as error:
        db.rollback()
        form.text.errors = [*form.text.errors, _("配置有误，未保存：%(reason)s", reason=str(error))]
    else:
        db.commit()
        flash(_("已保存来源“%(name)s”。下一轮采集按新配置进行。", name=config.name), "success")
        return None, redirect(url_for("sources.index"))
    return None, None


@bp.route("/new", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def new():
    form = SourceForm()
    check = None
    if form.validate_on_submit():
        check, done = _check_or_save(form, None)
        if done:
            return done
    return render_template("admin/source_form.html", form=form, file_name=None, source=None, errors=[],
                           check=check, timeout=_check_timeout(), example=EXAMPLE)


@bp.route("/file/<file_name>", methods=["GET", "POST"])
@require_roles(*ADMINISTER)
def edit(file_name: str):
    try:
        path = core.file_in(_directory(), file_name)
    except ChangeRefused:
        abort(404)
    found = next((f for f in core.source_files(_directory()) if f.path == path), None)
    if found is None:
        abort(404)
    form = SourceForm(data=None if request.method == "POST" else {"text": found.text})
    check = None
    if form.validate_on_submit():
        check, done = _check_or_save(form, file_name)
        if done:
            return done
    db = get_db()
    source = db.scalar(select(Source).where(Source.name == found.config.name)) if found.config else None
    errors = db.scalars(select(CrawlError).where(CrawlError.source_id == source.id)
                        .order_by(CrawlError.at.desc(), CrawlError.id.desc()).limit(RECENT_ERRORS)).all() \
        if source else []
    return render_template("admin/source_form.html", form=form, file_name=file_name, source=source,
                           file_error=found.error, errors=errors, check=check, timeout=_check_timeout())


@bp.post("/<int:source_id>/enabled")
@require_roles(*ADMINISTER)
def set_enabled(source_id: int):
    db = get_db()
    source = get_or_404(Source, source_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    enabled = request.form.get("enabled") == "1"
    try:
        core.set_source_enabled(db, _directory(), source.id, enabled, actor_id=current_user.id)
    except ChangeRefused as error:
        db.rollback()
        flash(message(error, "source"), "danger")
    else:
        db.commit()
        flash(_("已启用来源“%(name)s”。", name=source.name) if enabled
              else _("已停用来源“%(name)s”，不再采集。", name=source.name), "success")
    return redirect(url_for("sources.index"))
