"""What a refused change (huiying.errors.ChangeRefused) says on screen, by its code.

The core explains refusals in English for the command line; here each rule gets one
Chinese sentence (translated like every UI text) that says what to do instead.
"""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from huiying.errors import ChangeRefused
from huiying.users import MAX_PASSWORD, MIN_PASSWORD

MESSAGES = {
    # accounts
    "role_unknown": lazy_gettext("请选择一个角色。"),
    "department_needed": lazy_gettext("科室用户必须选择所属科室。"),
    "department_unknown": lazy_gettext("所选科室不存在，请刷新页面后重试。"),
    "username_invalid": lazy_gettext("用户名只能包含字母、汉字、数字和 . _ @ -，最多 80 个字符。"),
    "username_taken": lazy_gettext("已有同名账号，请换一个用户名。"),
    "password_short": lazy_gettext("密码至少需要 %(min)s 个字符。"),
    "password_long": lazy_gettext("密码最多 %(max)s 个字符。"),
    "password_same": lazy_gettext("新密码不能与当前密码相同。"),
    "wrong_password": lazy_gettext("当前密码不正确。"),
    "email_invalid": lazy_gettext("邮箱地址格式不正确，例如 name@example.gov.cn。"),
    "emails_too_long": lazy_gettext("邮箱地址合计不能超过 200 个字符。"),
    "last_admin": lazy_gettext(
        "这是最后一个启用的管理员账号，不能停用或取消管理员角色；请先设置另一位管理员。"),
    "self_lockout": lazy_gettext("不能停用自己的账号或取消自己的管理员角色，请由另一位管理员操作。"),
    "no_user": lazy_gettext("账号不存在。"),
    # departments and routing rules
    "no_department": lazy_gettext("科室不存在。"),
    "name_invalid": lazy_gettext("科室名称需要 1 到 80 个字。"),
    "name_taken": lazy_gettext("已有同名科室，请换一个名称。"),
    "has_cases": lazy_gettext(
        "该科室有 %(count)s 件案件，不能删除（案件的办理记录和统计需要它）；可以改名。"),
    "has_users": lazy_gettext("该科室还有 %(count)s 个账号，请先把这些账号改到其他科室或停用后再删除。"),
    "topic_or_keyword": lazy_gettext("每条规则填写主题或关键词其中一项（不能都填，也不能都不填）。"),
    "keyword_long": lazy_gettext("关键词最多 %(max)s 个字。"),
    "topic_unknown": lazy_gettext("没有名为“%(name)s”的主题。"),
    "priority_range": lazy_gettext("优先级须在 -100 到 100 之间。"),
    "no_rule": lazy_gettext("分办规则不存在。"),
    # sources
    "file_name": lazy_gettext("来源文件名不正确。"),
    "source_name_taken": lazy_gettext("来源名称“%(name)s”已被 %(file)s 使用，请换一个名称。"),
    "name_changed": lazy_gettext("来源名称不能修改（已采集的留言属于“%(name)s”）；如需新名称请新增来源。"),
    "no_source": lazy_gettext("来源不存在。"),
    "no_file": lazy_gettext("来源“%(name)s”没有配置文件（内置演示源或导入来源），不能在此启用或停用。"),
    "not_writable": lazy_gettext("无法写入来源文件 %(path)s，请检查服务器上该目录的写权限。"),
}


def show(form, error: ChangeRefused, field_of: dict[str, str], kind: str | None = None) -> None:
    """Put a refusal under the form field it concerns (or flash it) after rolling back."""
    from dashboard.db import get_db

    get_db().rollback()
    field = getattr(form, field_of.get(error.code, ""), None)
    if field is not None:
        field.errors = [*field.errors, message(error, kind)]
    else:
        flash(message(error, kind), "danger")


def message(error: ChangeRefused, kind: str | None = None) -> str:
    """The Chinese sentence for a refusal (`kind` picks among codes shared by several pages)."""
    code = f"{kind}_{error.code}" if kind and f"{kind}_{error.code}" in MESSAGES else error.code
    text = MESSAGES.get(code)
    if text is None:
        return _("无法保存：%(reason)s", reason=str(error))
    return str(text) % {"min": MIN_PASSWORD, "max": MAX_PASSWORD, **error.params}
