"""`huiying import --kind disclosure FILE`: a register of 依申请公开 requests (xlsx/csv) as cases.

Each row is one request and what happened to it so far (补正, extension, answer); it is replayed
through huiying/workflow.py in that order, so the rules of the dashboard hold for imported rows
too. A bad row is never dropped: it goes to FILE.rejects.csv with a Chinese reason, and nothing
of it is stored. A request whose 编号 is already registered is left as it is (reported as
unchanged). See docs/import.md "依申请公开".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from huiying import disclosure, workflow
from huiying.imports import (
    Reject,
    cell_time,
    counted_rows,
    match_columns,
    read_table,
    rejects_path,
    write_rejects,
)
from huiying.models import DisclosureRequest, utcnow
from huiying.workflow import WorkflowError

HEADERS: dict[str, tuple[str, ...]] = {
    "reference": ("编号", "申请编号", "登记编号", "受理编号", "reference"),
    "received_at": ("收到申请时间", "收到时间", "申请时间", "登记时间", "received_at"),
    "applicant_type": ("申请人类型", "申请人类别", "applicant_type"),
    "applicant_name": ("申请人", "申请人姓名", "申请人名称", "applicant_name"),
    "content": ("申请内容", "所需信息", "所需政府信息", "内容", "content"),
    "form": ("申请方式", "申请形式", "form"),
    "correction_asked_at": ("告知补正时间", "补正告知时间", "correction_asked_at"),
    "correction_received_at": ("收到补正时间", "补正收到时间", "correction_received_at"),
    "extended_at": ("延期时间", "延长答复期限时间", "extended_at"),
    "extension_reason": ("延期理由", "延长理由", "extension_reason"),
    "answered_at": ("答复时间", "answered_at"),
    "result": ("办理结果", "处理结果", "答复结果", "result"),
}
REQUIRED = ("reference", "received_at", "applicant_type", "applicant_name", "content", "form")
FIELD_NAMES = {key: aliases[0] for key, aliases in HEADERS.items()}
TIMES = ("received_at", "correction_asked_at", "correction_received_at", "extended_at", "answered_at")


@dataclass
class DisclosureImport:
    file: str
    dry_run: bool
    columns: dict[str, str]
    ignored_columns: list[str]
    rows: int = 0
    new: int = 0
    unchanged: int = 0
    blank_rows: int = 0
    case_ids: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rejects_file: str | None = None

    def summary(self) -> dict[str, Any]:
        return {"file": self.file, "kind": "disclosure", "dry_run": self.dry_run, "rows": self.rows,
                "new": self.new, "unchanged": self.unchanged, "rejected": len(self.rejects),
                "rejects": [{"line": r.line, "external_id": r.external_id, "reason": r.reason}
                            for r in self.rejects],
                "rejects_file": self.rejects_file, "blank_rows": self.blank_rows,
                "columns": self.columns, "ignored_columns": self.ignored_columns, "case_ids": self.case_ids}


def _parse(cells: list[Any], texts: list[str], columns: dict[str, int], tz: str,
           now: datetime) -> tuple[dict[str, Any], str | None]:
    """The row's values, or the reason (Chinese, without the full stop) it is rejected."""
    def text(key: str) -> str:
        index = columns.get(key)
        return texts[index] if index is not None and index < len(texts) else ""

    for key in REQUIRED:
        if not text(key):
            return {}, f"{FIELD_NAMES[key]}为空"
    values: dict[str, Any] = {"reference": text("reference"), "applicant_name": text("applicant_name"),
                              "content": text("content"), "extension_reason": text("extension_reason")}
    values["applicant_type"] = disclosure.applicant_key(text("applicant_type"))
    if values["applicant_type"] is None:
        return values, (f"申请人类型“{text('applicant_type')}”无法识别，应为"
                        f"{'、'.join(disclosure.APPLICANT_TYPES.values())}之一")
    values["form"] = text("form")
    if values["form"] not in disclosure.FORMS:
        return values, f"申请方式“{text('form')}”无法识别，应为{'、'.join(disclosure.FORMS)}之一"
    for key in TIMES:
        if not text(key):
            values[key] = None
            continue
        values[key] = cell_time(cells[columns[key]], tz)
        if values[key] is None:
            return values, f"{FIELD_NAMES[key]}“{text(key)}”不是日期和时间"
        if values[key] > now + disclosure.FUTURE_TOLERANCE:
            return values, f"{FIELD_NAMES[key]}“{text(key)}”晚于现在，不能导入将来的时间"
    values["result"] = disclosure.result_key(text("result")) if text("result") else None
    if text("result") and values["result"] is None:
        return values, f"办理结果“{text('result')}”不是年度报告表三的处理结果（可写 r03 至 r23 或该行名称）"
    if (values["result"] is None) != (values["answered_at"] is None):
        return values, "答复时间与办理结果须同时填写"
    if values["correction_received_at"] and not values["correction_asked_at"]:
        return values, "有收到补正时间但没有告知补正时间"
    if values["extended_at"] and not values["extension_reason"]:
        return values, "有延期时间但没有延期理由"
    return values, None


def _replay(session: Session, values: dict[str, Any], now: datetime, tz: str) -> int:
    """Register the request and take its steps in order, as the importer (WorkflowError: refused)."""
    actor = workflow.IMPORTER
    case = workflow.register_disclosure(
        session, actor, applicant_type=values["applicant_type"], applicant_name=values["applicant_name"],
        content=values["content"], form=values["form"], received_at=values["received_at"],
        reference=values["reference"], now=values["received_at"], tz=tz)
    if values["correction_asked_at"]:
        workflow.ask_correction(session, case, actor, "（导入）已告知补正", now=values["correction_asked_at"])
    if values["correction_received_at"]:
        workflow.correction_received(session, case, actor, values["correction_received_at"],
                                     now=values["correction_received_at"], tz=tz)
    if values["extended_at"]:
        workflow.extend_disclosure(session, case, actor, values["extension_reason"],
                                   now=values["extended_at"], tz=tz)
    if values["answered_at"]:
        workflow.answer_disclosure(session, case, actor, values["result"], now=values["answered_at"])
    session.flush()
    return case.id


def import_disclosures(session: Session, path: Path, *, mapping: dict[str, str] | None = None,
                       sheet: str | None = None, dry_run: bool = False,
                       tz: str = "Asia/Shanghai") -> DisclosureImport:
    """Store the good rows of `path` (not committed) and write FILE.rejects.csv (not on a dry run)."""
    header, rows = read_table(path, sheet)
    columns = match_columns(header, mapping or {}, path.name, headers=HEADERS, required=REQUIRED,
                            names=FIELD_NAMES)
    result = DisclosureImport(
        file=str(path), dry_run=dry_run, columns={k: header[i] for k, i in columns.items()},
        ignored_columns=[h for i, h in enumerate(header) if h and i not in columns.values()])
    known = set(session.scalars(select(DisclosureRequest.reference)
                                .where(DisclosureRequest.reference.is_not(None))))
    seen: dict[str, int] = {}
    now = utcnow()
    for line, cells, texts in counted_rows(rows, result):
        values, reason = _parse(cells, texts, columns, tz, now)
        reference = values.get("reference", "")
        if reason is None and reference in seen:
            reason = f"编号 {reference} 与第 {seen[reference]} 行重复"
        if reason is None and reference in known:
            seen[reference] = line
            result.unchanged += 1
            continue
        if reason is None:
            savepoint = session.begin_nested()
            try:
                result.case_ids.append(_replay(session, values, now, tz))
            except WorkflowError as exc:
                savepoint.rollback()
                reason = str(exc).rstrip("。")
            else:
                savepoint.commit()
        if reason is not None:
            result.rejects.append(Reject(line, reason + "。", texts, reference))
            continue
        seen[reference] = line
        result.new += 1
    if not dry_run:
        result.rejects_file = write_rejects(path, header, result.rejects)
    elif result.rejects:
        result.rejects_file = str(rejects_path(path))
    return result
