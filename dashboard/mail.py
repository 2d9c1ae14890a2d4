"""/admin/mail: what the notifications are doing, and sending the waiting ones now (admin only).

After an SMTP outage or a settings fix the admin should not need SQL to resend: the buttons do
what `huiying notify retry [--failed]` does, and the worker's next run (within a minute) sends.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SubmitField

from dashboard.db import get_db
from dashboard.permissions import ADMINISTER, require_roles
from huiying.audit import record
from huiying.models import Notification, utcnow
from huiying.notify import counts, release

bp = Blueprint("mail", __name__, url_prefix="/admin/mail")

KIND_LABELS = {"assign": lazy_gettext("派单通知"), "alert": lazy_gettext("重大/较大预警"),
               "spike": lazy_gettext("负面集中预警"), "remind": lazy_gettext("到期提醒"),
               "overdue": lazy_gettext("催办"), "brief": lazy_gettext("舆情日报"),
               "monthly": lazy_gettext("回应月报"), "crawl": lazy_gettext("采集异常")}
STATUS_LABELS = {"pending": lazy_gettext("等待发送"), "failed": lazy_gettext("发送失败"),
                 "sent": lazy_gettext("已发送"), "skipped": lazy_gettext("已无需发送")}
CHANNEL_LABELS = {"email": lazy_gettext("邮件"), "wecom": lazy_gettext("企业微信"),
                  "dingtalk": lazy_gettext("钉钉")}
SHOWN = 100


class RetryForm(FlaskForm):
    waiting = SubmitField(lazy_gettext("立即重试等待中的邮件"))
    failed = SubmitField(lazy_gettext("重新发送失败的邮件"))


@bp.get("/")
@require_roles(*ADMINISTER)
def index():
    db = get_db()
    rows = db.scalars(select(Notification).where(Notification.status.in_(("pending", "failed")))
                      .order_by(Notification.id.desc()).limit(SHOWN)).all()
    return render_template("admin/mail.html", counts=counts(db), rows=rows, form=RetryForm(),
                           kind_labels=KIND_LABELS, status_labels=STATUS_LABELS, shown=SHOWN,
                           channel_labels=CHANNEL_LABELS)


@bp.post("/retry")
@require_roles(*ADMINISTER)
def retry():
    form = RetryForm()
    if form.validate_on_submit():
        db = get_db()
        include_failed = bool(form.failed.data)
        released = release(db, utcnow(), include_failed=include_failed)
        total = released["waiting"] + released.get("failed", 0)
        record(db, current_user.id, "notification.retry", "notification", None,
               f"重新发送邮件通知 {total} 条", released)
        db.commit()
        flash(_("已安排重新发送 %(n)s 条通知，一分钟内发出。", n=total), "success")
    return redirect(url_for("mail.index"))
