"""Administration: the topic taxonomy the analysis uses (admin only)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from wtforms import BooleanField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from analysis.normalise import normalise
from dashboard.db import get_db
from dashboard.permissions import MANAGE_TOPICS, require_roles
from huiying.audit import record
from huiying.models import RoutingRule, Topic
from huiying.queue import enqueue_reclassify_topics
from huiying.topics import topic_disagreements

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Words may be separated by spaces, commas (half or full width), 、, semicolons or new lines.
WORD_SEPARATORS = re.compile(r"[\s,，、;；]+")
MAX_WORD_LENGTH = 20
MAX_NAME_LENGTH = 40  # the width of the topic columns of case and comment


def split_words(text: str | None) -> list[str]:
    """The distinct words of a textarea, normalised as the analysed texts are (繁→简, NFKC)."""
    words: list[str] = []
    for raw in WORD_SEPARATORS.split(text or ""):
        word = normalise(raw) if raw else ""
        if word and word not in words:
            words.append(word)
    return words


def _check_lengths(words: list[str]) -> None:
    too_long = [w for w in words if len(w) > MAX_WORD_LENGTH]
    if too_long:
        raise ValidationError(_("关键词不能超过 %(max)s 个字：%(words)s",
                                max=MAX_WORD_LENGTH, words=_("、").join(too_long)))


class TopicForm(FlaskForm):
    name = StringField(lazy_gettext("名称"), filters=[lambda v: v.strip() if v else v], validators=[
        DataRequired(lazy_gettext("请填写主题名称。")),
        # WTForms fills in %(max)d.
        Length(max=MAX_NAME_LENGTH, message=lazy_gettext("主题名称不能超过 %(max)d 个字。")),
    ])
    strong_words = TextAreaField(lazy_gettext("强关键词"))
    weak_words = TextAreaField(lazy_gettext("弱关键词"))
    enabled = BooleanField(lazy_gettext("启用"), default=True)
    submit = SubmitField(lazy_gettext("保存"))

    def __init__(self, *args, topic_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic_id = topic_id

    def validate_name(self, field) -> None:
        other = get_db().scalar(select(Topic.id).where(Topic.name == field.data))
        if other is not None and other != self.topic_id:
            raise ValidationError(_("已有名为“%(name)s”的主题，请换一个名称。", name=field.data))

    def validate_strong_words(self, field) -> None:
        words = split_words(field.data)
        if not words:
            raise ValidationError(_("请至少填写一个强关键词。"))
        _check_lengths(words)

    def validate_weak_words(self, field) -> None:
        words = split_words(field.data)
        _check_lengths(words)
        both = [w for w in words if w in split_words(self.strong_words.data)]
        if both:
            raise ValidationError(_("同一个词不能既是强关键词又是弱关键词：%(words)s",
                                    words=_("、").join(both)))


@bp.get("/topics")
@require_roles(*MANAGE_TOPICS)
def topics():
    db = get_db()
    rows = db.scalars(select(Topic).order_by(Topic.id)).all()
    return render_template("admin/topics.html", topics=rows, disagreements=topic_disagreements(db))


@bp.route("/topics/new", methods=["GET", "POST"])
@require_roles(*MANAGE_TOPICS)
def new_topic():
    form = TopicForm()
    if form.validate_on_submit():
        db = get_db()
        topic = Topic(name=form.name.data)
        _fill(topic, form)
        db.add(topic)
        db.flush()
        record(db, current_user.id, "topic.add", "topic", topic.id, f"新增主题 {topic.name}",
               {"strong_words": topic.strong_words, "weak_words": topic.weak_words})
        db.commit()
        flash(_("已新增主题“%(name)s”。", name=topic.name), "success")
        _reclassify()
        return redirect(url_for("admin.topics"))
    return render_template("admin/topic_form.html", form=form, topic=None)


@bp.route("/topics/<int:topic_id>", methods=["GET", "POST"])
@require_roles(*MANAGE_TOPICS)
def edit_topic(topic_id: int):
    db = get_db()
    topic = db.get(Topic, topic_id)
    if topic is None:
        abort(404)
    form = TopicForm(topic_id=topic.id, data=None if request.method == "POST" else {
        "name": topic.name, "strong_words": "，".join(topic.strong_words),
        "weak_words": "，".join(topic.weak_words), "enabled": topic.enabled,
    })
    if form.validate_on_submit():
        old_name = topic.name
        before = {"name": topic.name, "strong_words": list(topic.strong_words),
                  "weak_words": list(topic.weak_words), "enabled": topic.enabled}
        topic.name = form.name.data
        _fill(topic, form)
        after = {"name": topic.name, "strong_words": topic.strong_words,
                 "weak_words": topic.weak_words, "enabled": topic.enabled}
        changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
        if changed:
            record(db, current_user.id, "topic.edit", "topic", topic.id,
                   f"修改主题 {old_name}：{'、'.join(changed)}", changed)
        if old_name != topic.name:
            # The routing table follows a renamed topic; cases keep the name they were given.
            db.execute(update(RoutingRule).where(RoutingRule.topic == old_name)
                       .values(topic=topic.name))
        db.commit()
        flash(_("已保存主题“%(name)s”。", name=topic.name), "success")
        _reclassify()
        return redirect(url_for("admin.topics"))
    return render_template("admin/topic_form.html", form=form, topic=topic)


def _fill(topic: Topic, form: TopicForm) -> None:
    topic.strong_words = split_words(form.strong_words.data)
    topic.weak_words = split_words(form.weak_words.data)
    topic.enabled = bool(form.enabled.data)


def _reclassify() -> None:
    """After a committed edit: a worker re-classifies the stored comments."""
    if enqueue_reclassify_topics(current_app.config["HUIYING_SETTINGS"]):
        flash(_("正在按新的主题设置重新归类已有留言和案件，人工纠正过主题的留言保持不变。"), "info")
    else:
        flash(_("任务队列暂时无法连接，已有留言尚未重新归类，请在服务器上运行 huiying topics reclassify。"),
              "warning")
