"""/admin/audit: the audit log of administrative changes, newest first, by kind (admin only)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext

from dashboard.db import get_db
from dashboard.permissions import ADMINISTER, require_roles
from huiying import audit

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

KIND_LABELS = {"user": lazy_gettext("账号"), "department": lazy_gettext("科室"),
               "routing_rule": lazy_gettext("分办规则"), "source": lazy_gettext("来源"),
               "topic": lazy_gettext("主题"), "calendar": lazy_gettext("工作日调整"),
               "case": lazy_gettext("案件"), "notification": lazy_gettext("邮件通知")}


@bp.get("/")
@require_roles(*ADMINISTER)
def index():
    db = get_db()
    kinds = audit.kinds(db)
    kind = request.args.get("kind", "")
    kind = kind if kind in kinds else ""
    page = request.args.get("page", "1")
    events, page, pages = audit.page_of_events(db, int(page) if page.isdigit() else 1, kind or None)
    return render_template("admin/audit.html", events=events, page=page, pages=pages, kinds=kinds,
                           kind=kind, kind_labels=KIND_LABELS)
