"""`huiying import`: hotline (12345) and mailbox (信箱) exports, stored like crawled comments.

Reading (xlsx or CSV in UTF-8 or GBK), recognising the Chinese column headers, checking each
row and storing the good ones through huiying.store, BATCH rows per transaction, each batch's
ids handed over for processing once it is committed. A bad row is never dropped silently: it
is reported with its line number and written to FILE.rejects.csv. See docs/import.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from huiying.errors import ImportStopped, InputError
from huiying.models import Source, utcnow
from huiying.queue import BATCH  # a committed batch's ids are one process_comments message
from huiying.sources import IMPORT_KIND, NAME
from huiying.store import CommentData, find_comment, parse_time, plan, upsert_comments

KINDS = {"hotline": "12345 热线", "mailbox": "信箱"}

# Field → headers it is recognised by, in 12345 and 信箱 exports (compared without spaces).
HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "工单号", "编号", "信件编号", "来信编号", "受理编号", "诉求编号", "件号",
                    "id"),
    "title": ("标题", "主题", "信件标题", "来信标题", "诉求标题", "工单标题", "title"),
    "body": ("内容", "诉求内容", "来信内容", "信件内容", "问题描述", "诉求描述", "来电内容", "body"),
    "received_at": ("来电时间", "受理时间", "来信时间", "登记时间", "提交时间", "写信时间", "收件时间",
                    "留言时间", "created_at", "received_at"),
    "request_type": ("诉求类型", "类型", "信件类型", "来信类型", "诉求类别", "工单类型"),
    "author": ("来电人", "姓名", "来信人", "写信人", "联系人", "市民姓名"),
    # The history of an answered row: it becomes a case already replied (docs/import.md).
    "reply": ("答复意见", "答复内容", "回复内容", "回复意见", "办理结果", "处理结果", "reply"),
    "replied_at": ("答复时间", "回复时间", "replied_at"),
    "reply_unit": ("回复单位", "答复单位", "承办单位", "办理单位"),
    "closed_at": ("办结时间", "closed_at"),
    # Recognised only to be left out: see PHONE_NOT_STORED.
    "phone": ("电话", "联系电话", "来电号码", "手机", "手机号码", "联系方式"),
}
REQUIRED = ("external_id", "body", "received_at")
FIELD_NAMES = {"external_id": "id", "title": "title", "body": "body", "received_at": "received time",
               "request_type": "type", "author": "author", "reply": "reply", "replied_at": "reply time",
               "reply_unit": "replying unit", "closed_at": "closing time", "phone": "phone"}
# A received or reply time this far ahead of the clock is a typo, not a time zone difference.
FUTURE_TOLERANCE = timedelta(minutes=10)
REPLY_UNIT_LENGTH = 200
PHONE_NOT_STORED = ("phone numbers are not stored: replies go through the hotline or mailbox "
                    "system, which keeps the contact details, and deadlines do not need them")
# The request types with a clock of their own or a meaning in the figures; any other text is
# kept as it is (cut to 10 characters) and runs on the default period (docs/import.md).
REQUEST_TYPES = ("咨询", "投诉", "建议", "求助", "举报", "表扬", "依申请公开")
REQUEST_TYPE_LENGTH = 10
EXTERNAL_ID_LENGTH = 200


@dataclass
class Reject:
    line: int
    reason: str
    cells: list[str]
    external_id: str = ""


@dataclass
class ImportResult:
    file: str
    source: str
    kind: str
    dry_run: bool
    columns: dict[str, str]
    ignored_columns: list[str]
    dropped_columns: list[str]
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    blank_rows: int = 0
    rejects: list[Reject] = field(default_factory=list)
    rejects_file: str | None = None
    to_process: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file, "source": self.source, "kind": self.kind, "dry_run": self.dry_run,
            "rows": self.rows, "new": self.new, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": len(self.rejects),
            "rejects": [{"line": r.line, "external_id": r.external_id, "reason": r.reason}
                        for r in self.rejects],
            "rejects_file": self.rejects_file, "blank_rows": self.blank_rows,
            "columns": self.columns, "ignored_columns": self.ignored_columns,
            "dropped_columns": self.dropped_columns,
            "phone": PHONE_NOT_STORED if self.dropped_columns else None,
        }


# --- reading ------------------------------------------------------------------------------

Row = tuple[int, list[Any]]  # (line number in the file, cells)


def read_table(path: Path, sheet: str | None = None) -> tuple[list[str], Iterator[Row]]:
    """The header cells and the data rows of an .xlsx or .csv file; line 1 is the header."""
    if not path.is_file():
        raise InputError(f"no such file: {path}.")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path, sheet)
    if sheet is not None:
        raise InputError("--sheet is for .xlsx files; a CSV file has one table.")
    if suffix == ".csv":
        return _read_csv(path)
    raise InputError(f"{path.name} is neither an .xlsx nor a .csv file; save the export as one of "
                     "them (an old .xls file: open it and save it as .xlsx).")


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], Iterator[Row]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise InputError(f"{path.name} cannot be read as an Excel .xlsx file ({exc}).") from None
    if sheet is not None and sheet not in book.sheetnames:
        raise InputError(f"{path.name} has no sheet {sheet!r}; its sheets are "
                         f"{', '.join(book.sheetnames)}.")
    rows = (book[sheet] if sheet is not None else book.worksheets[0]).iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        book.close()
        raise InputError(f"{path.name} is empty: the first row must hold the column headers.")

    def data() -> Iterator[Row]:
        try:
            for number, values in enumerate(rows, 2):
                yield number, list(values)
        finally:
            book.close()

    return [cell_text(v) for v in header], data()


def decode_csv(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, what Chinese Excel writes)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return _decode(raw[3:], "utf-8", "UTF-8", name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if any(b >= 0x80 for b in raw[:exc.start]):  # UTF-8 Chinese before it: a broken UTF-8 file
            return _decode(raw, "utf-8", "UTF-8", name)
    return _decode(raw, "gb18030", "GBK/GB18030", name)


def _decode(raw: bytes, codec: str, label: str, name: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"line {line} of {name} is not valid {label} text; save the file again as "
                         "CSV UTF-8 (or as .xlsx) and import it again.") from None


def _read_csv(path: Path) -> tuple[list[str], Iterator[Row]]:
    text = decode_csv(path.read_bytes(), path.name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"line 1 of {path.name} is not valid CSV ({exc}).") from None
    if header is None:
        raise InputError(f"{path.name} is empty: the first line must hold the column headers.")

    def data() -> Iterator[Row]:
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"line {start} of {path.name} is not valid CSV ({exc}).") from None
            yield start, cells
            start = reader.line_num + 1

    return header, data()


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id Excel stored as a number
    return str(value).strip()


# --- columns ------------------------------------------------------------------------------

def load_mapping(path: Path, fields: dict[str, tuple[str, ...]] = HEADERS) -> dict[str, str]:
    """A mapping file: `columns:` field → the header of this export (docs/import.md)."""
    if not path.is_file():
        raise InputError(f"no such mapping file: {path}.")
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name} is not a UTF-8 YAML file ({str(exc).splitlines()[0]}).") from None
    columns = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise InputError(f"{path.name} must hold 'columns:' mapping fields to header names, "
                         "e.g. 'columns: {external_id: 受理号, body: 诉求描述}'.")
    unknown = sorted(set(columns) - set(fields))
    if unknown:
        raise InputError(f"{path.name} names unknown fields {', '.join(map(str, unknown))}; "
                         f"the fields are {', '.join(fields)}.")
    return {key: value.strip() for key, value in columns.items()}


def _norm(header: str) -> str:
    return "".join(str(header).split()).lstrip("\ufeff").strip("*＊:：")


def match_columns(header: list[str], mapping: dict[str, str], name: str, *,
                  headers: dict[str, tuple[str, ...]] = HEADERS, required: tuple[str, ...] = REQUIRED,
                  names: dict[str, str] = FIELD_NAMES) -> dict[str, int]:
    """Field → column index; a missing required field stops the import with one sentence.
    `headers`, `required` and `names`: another kind of file's (huiying/disclosure_import.py)."""
    positions = {_norm(h): i for i, h in reversed(list(enumerate(header))) if _norm(h)}
    found: dict[str, int] = {}
    absent_mapped = []
    for key, aliases in headers.items():
        if key in mapping:
            if _norm(mapping[key]) in positions:
                found[key] = positions[_norm(mapping[key])]
            else:
                absent_mapped.append(f"{mapping[key]} ({names[key]})")
            continue
        for alias in aliases:
            if alias in positions and positions[alias] not in found.values():
                found[key] = positions[alias]
                break
    missing = [names[k] for k in required if k not in found]
    if absent_mapped or missing:
        headers = ", ".join(h for h in header if h) or "none"
        what = (f"the mapped headers {', '.join(absent_mapped)} are not in it" if absent_mapped
                else f"no column for the {', '.join(missing)}")
        raise InputError(f"{name} cannot be imported: {what} (headers found: {headers}); rename the "
                         "headers or give --mapping FILE.yml (docs/import.md); nothing was imported.")
    return found


def request_type(text: str) -> str | None:
    text = "".join(text.split())
    if not text:
        return None
    for known in REQUEST_TYPES:
        if known in text:
            return known
    return text[:REQUEST_TYPE_LENGTH]


def cell_time(value: Any, tz: str) -> datetime | None:
    """A time cell (an Excel date, or text such as 2026-11-02 10:00) in UTC; None: not a time."""
    if isinstance(value, datetime):  # an Excel date cell: local time without a zone
        local = value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))
        return local.astimezone(ZoneInfo("UTC"))
    return parse_time(cell_text(value), tz)


# --- importing ----------------------------------------------------------------------------

TIME_NAMES = {"received_at": "受理时间", "replied_at": "答复时间", "closed_at": "办结时间"}


def _times(cells: list[Any], columns: dict[str, int], cell, tz: str,
           now: datetime) -> tuple[dict[str, datetime | None], str | None]:
    """The row's received, reply and closing times, or the reason (Chinese) it is rejected."""
    times: dict[str, datetime | None] = {}
    for key, name in TIME_NAMES.items():
        index = columns.get(key)
        raw = cells[index] if index is not None and index < len(cells) else None
        if not cell(key):
            times[key] = None
            if key == "received_at":
                return times, f"{name}为空"
            continue
        times[key] = cell_time(raw, tz)
        if times[key] is None:
            return times, f"{name}“{cell(key)}”不是日期和时间"
        if times[key] > now + FUTURE_TOLERANCE:
            return times, f"{name}“{cell(key)}”晚于现在，不能导入将来的时间，请核对后重新导入"
    received = times["received_at"]
    for key in ("replied_at", "closed_at"):
        if times[key] is not None and times[key] < received:
            return times, f"{TIME_NAMES[key]}“{cell(key)}”早于受理时间“{cell('received_at')}”"
    if cell("reply") and times["replied_at"] is None:
        if times["closed_at"] is None:
            return times, "有答复内容但没有答复时间，请补上答复时间（或办结时间）后重新导入"
        times["replied_at"] = times["closed_at"]  # answered by the time it was closed
    return times, None


def counted_rows(rows: Iterator[Row], result: Any) -> Iterator[tuple[int, list[Any], list[str]]]:
    """(line, cells, their texts) of the rows that are not blank; `result` counts both kinds."""
    for line, cells in rows:
        texts = [cell_text(c) for c in cells]
        if not any(texts):
            result.blank_rows += 1
            continue
        result.rows += 1
        yield line, cells, texts


def rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


def import_file(session: Session, path: Path, *, kind: str = "hotline", source: str | None = None,
                mapping: dict[str, str] | None = None, sheet: str | None = None,
                dry_run: bool = False, tz: str = "Asia/Shanghai",
                on_batch: Callable[[list[int]], object] | None = None) -> ImportResult:
    """Store the good rows of `path` and write the rejects file; with `dry_run` nothing is
    stored or written and the result says what would happen.

    The good rows are stored BATCH at a time (huiying.store.upsert_comments), each batch
    committed on its own; then `on_batch` gets the ids of that batch that need processing (the
    CLI enqueues them), so workers start on the first batch while the rest is read. Only
    committed ids are handed over. A failure part-way (the database goes away, a line cannot be
    read) raises ImportStopped saying how many rows are stored: the batches before it stay, the
    rejects met so far are written, and importing the file again is safe (upserts)."""
    if kind not in KINDS:
        raise InputError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    source_name = source or kind
    if not NAME.match(source_name):
        raise InputError(f"--source {source_name!r} must be lower-case letters, digits, '-' or '_'.")
    header, rows = read_table(path, sheet)
    columns = match_columns(header, mapping or {}, path.name)
    row = _source(session, source_name, kind, create=not dry_run)
    result = ImportResult(
        file=str(path), source=source_name, kind=kind, dry_run=dry_run,
        columns={k: header[i] for k, i in columns.items() if k != "phone"},
        ignored_columns=[h for i, h in enumerate(header) if h and i not in columns.values()],
        dropped_columns=[header[columns["phone"]]] if "phone" in columns else [])
    good = _good_rows(rows, columns, result, tz)
    if dry_run:
        for _, data in good:
            outcome = plan(find_comment(session, row.id, data.external_id) if row else None, data)
            setattr(result, outcome, getattr(result, outcome) + 1)
        if result.rejects:
            result.rejects_file = str(rejects_path(path))  # where a real run would write them
        return result
    progress = _Progress()
    try:
        batch: list[tuple[int, CommentData]] = []
        for line, data in good:
            batch.append((line, data))
            if len(batch) == BATCH:
                _store(session, row.id, batch, result, progress, on_batch)
                batch = []
        # The last batch; with no good row at all, this commits the new source alone.
        _store(session, row.id, batch, result, progress, on_batch)
    except (Exception, KeyboardInterrupt) as exc:
        with suppress(Exception):  # the connection may be gone; it is being reported
            session.rollback()
        with suppress(OSError):
            result.rejects_file = write_rejects(path, header, result.rejects)
        raise _stopped(path, exc, progress, result) from exc
    result.rejects_file = write_rejects(path, header, result.rejects)
    return result


def _good_rows(rows: Iterator[Row], columns: dict[str, int], result: ImportResult,
               tz: str) -> Iterator[tuple[int, CommentData]]:
    """(line, comment) of each good row; a bad one goes to `result.rejects` with its reason.
    An external id already on an earlier good row of the file is a reject (`seen`), so a
    batch never holds one twice."""
    seen: dict[str, int] = {}
    now = utcnow()
    for line, cells, texts in counted_rows(rows, result):

        def cell(key: str, texts: list[str] = texts) -> str:
            index = columns.get(key)
            return texts[index] if index is not None and index < len(texts) else ""

        external_id = cell("external_id")
        reason = None
        if not external_id:
            reason = "编号为空"
        elif len(external_id) > EXTERNAL_ID_LENGTH:
            reason = f"编号超过 {EXTERNAL_ID_LENGTH} 个字符"
        elif external_id in seen:
            reason = f"编号 {external_id} 与第 {seen[external_id]} 行重复"
        elif not cell("body"):
            reason = "内容为空"
        times: dict[str, datetime | None] = {}
        if reason is None:
            times, reason = _times(cells, columns, cell, tz, now)
        if reason is not None:
            result.rejects.append(Reject(line, reason + "。", texts, external_id))
            continue
        seen[external_id] = line
        yield line, CommentData(external_id=external_id, title=cell("title"), body=cell("body"),
                                author=cell("author") or None, published_at=times["received_at"],
                                request_type=request_type(cell("request_type")),
                                reply=cell("reply") or None, replied_at=times["replied_at"],
                                reply_unit=cell("reply_unit")[:REPLY_UNIT_LENGTH] or None,
                                closed_at=times["closed_at"])


@dataclass
class _Progress:
    """What a failed import leaves: the committed good rows, and ids not handed over."""

    stored: int = 0
    last_line: int | None = None
    unsent: int = 0  # committed, but `on_batch` failed on them: the periodic sweep sends them
    handing_over: bool = False


def _store(session: Session, source_id: int, batch: list[tuple[int, CommentData]],
           result: ImportResult, progress: _Progress,
           on_batch: Callable[[list[int]], object] | None) -> None:
    """Upsert and commit one batch, then hand its ids that need processing to `on_batch`."""
    upserted = upsert_comments(session, source_id, [data for _, data in batch])
    # (A row imported before it was answered, now with its answer: upsert_comments records
    # the answer on its case, in this transaction.)
    session.commit()
    ids = [u.comment_id for u in upserted if u.needs_processing]
    for u in upserted:
        setattr(result, u.outcome, getattr(result, u.outcome) + 1)
    result.to_process.extend(ids)
    if batch:
        progress.stored += len(batch)
        progress.last_line = batch[-1][0]
    if ids and on_batch is not None:
        progress.unsent, progress.handing_over = len(ids), True
        on_batch(ids)  # committed: only now may a worker see them
        progress.unsent, progress.handing_over = 0, False


def _reason(exc: BaseException, progress: _Progress) -> str:
    first = (str(exc).splitlines() or [""])[0].rstrip(".")
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if progress.handing_over:
        return f"the stored rows could not be queued for processing: {first or type(exc).__name__}"
    if isinstance(exc, InputError):
        return first
    if isinstance(exc, DBAPIError):
        cause = (str(exc.orig).splitlines() or [""])[0] if exc.orig is not None else first
        return f"the database failed: {cause or type(exc.orig).__name__}"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _stopped(path: Path, exc: BaseException, progress: _Progress,
             result: ImportResult) -> ImportStopped:
    """The one sentence of an import that stopped part-way."""
    reason = _reason(exc, progress)
    rejected = (f"; the {len(result.rejects)} rows rejected so far are in {result.rejects_file}"
                if result.rejects and result.rejects_file else "")
    if not progress.stored:
        message = (f"{path.name}: the import stopped ({reason}) before any row was stored{rejected}; "
                   "importing the same file again is safe.")
    else:
        unsent = (f" (the ids of the last {progress.unsent} are not queued: the periodic sweep "
                  "queues them)" if progress.unsent else "")
        message = (f"{path.name}: the import stopped ({reason}) after storing {progress.stored} good "
                   f"rows, up to line {progress.last_line}{unsent}{rejected}; importing the same file "
                   "again is safe: stored rows that did not change are skipped.")
    return ImportStopped(message, progress.stored, progress.last_line)


def _source(session: Session, name: str, kind: str, create: bool) -> Source | None:
    row = session.scalar(select(Source).where(Source.name == name))
    if row is not None and row.kind != IMPORT_KIND:
        raise InputError(f"source {name!r} is a crawled {row.kind} source; give imports their own "
                         "name with --source NAME.")
    if row is None and create:
        row = Source(name=name, title=KINDS[kind], kind=IMPORT_KIND, config={"import": kind})
        session.add(row)
        session.flush()
    return row


def _spreadsheet_safe(text: str) -> str:
    """A cell starting with =, +, - or @ would be a formula in Excel: quote it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_rejects(path: Path, header: list[str], rejects: list[Reject]) -> str | None:
    """FILE.rejects.csv (UTF-8 with BOM, which Excel opens): line, reason, the row as it was.
    No rejects: an old rejects file of the same input is removed, so it cannot mislead."""
    target = rejects_path(path)
    if not rejects:
        target.unlink(missing_ok=True)
        return None
    with open(target, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["line", "reason", *header])
        for reject in rejects:
            writer.writerow([reject.line, reject.reason, *map(_spreadsheet_safe, reject.cells)])
    return str(target)
