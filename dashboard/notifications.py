"""/notifications (通知): what was told to the logged-in user, in the app.

Every role has the page, and everyone sees their own rows only (the in-app channel of
huiying.notify: one row per user account, made whether or not SMTP is configured). Beside each
row, how the same fact went out by the other channels (email, the group robots). The nav bar
shows the unread count.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SubmitField

from dashboard.db import get_db
from dashboard.mail import CHANNEL_LABELS, KIND_LABELS
from dashboard.permissions import SEE_OWN_NOTIFICATIONS, require_roles
from huiying.models import utcnow
from huiying.notify.channels import inapp

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

SHOWN = 50
# What a channel's rows of one fact add up to: failed if any failed, else waiting if any wait.
DELIVERY_LABELS = {"sent": lazy_gettext("已发送"), "pending": lazy_gettext("等待"),
                   "failed": lazy_gettext("失败"), "skipped": lazy_gettext("已无需发送")}


class ReadAllForm(FlaskForm):
    """The 全部标为已读 button (its token; CSRFProtect checks every POST)."""

    submit = SubmitField(lazy_gettext("全部标为已读"))


def delivery(statuses) -> str:
    """One word for a channel's rows of a fact (a Counter of statuses)."""
    for status in ("failed", "pending", "sent", "skipped"):
        if statuses[status]:
            return status
    return "sent"


@bp.get("/")
@require_roles(*SEE_OWN_NOTIFICATIONS)
def index():
    db = get_db()
    unread_only = request.args.get("unread") == "1"
    rows = inapp.latest(db, current_user.id, SHOWN, unread_only=unread_only)
    channels = inapp.other_channels(db, sorted({row.fact for row in rows}))
    return render_template(
        "notifications/index.html", rows=rows, unread_only=unread_only, shown=SHOWN,
        channels={fact: {channel: delivery(statuses) for channel, statuses in found.items()}
                  for fact, found in channels.items()},
        kind_labels=KIND_LABELS, channel_labels=CHANNEL_LABELS, delivery_labels=DELIVERY_LABELS,
        read_all_form=ReadAllForm())


@bp.post("/read")
@require_roles(*SEE_OWN_NOTIFICATIONS)
def read():
    # CSRFProtect has checked the token before the view runs; the template writes one small
    # form a row (its token and the row's id).
    number = request.form.get("notification_id", "")
    db = get_db()
    # Another user's row, one already read or no such row: nothing changes, and it is said.
    if not (number.isdigit() and inapp.mark_read(db, current_user.id, utcnow(), int(number))):
        flash(_("没有找到这条未读通知。"), "warning")
    db.commit()
    return redirect(url_for("notifications.index", unread=request.args.get("unread") or None))


@bp.post("/read-all")
@require_roles(*SEE_OWN_NOTIFICATIONS)
def read_all():
    db = get_db()
    marked = inapp.mark_read(db, current_user.id, utcnow())
    db.commit()
    flash(_("已将 %(n)s 条通知标为已读。", n=marked), "success")
    return redirect(url_for("notifications.index"))


def unread_count() -> int:
    """The nav bar's badge: the logged-in user's unread in-app notifications."""
    if not current_user.is_authenticated:
        return 0
    return inapp.unread(get_db(), current_user.id)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(unread_notifications=unread_count)
