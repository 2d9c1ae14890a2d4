"""`huiying import --kind disclosure`: a register of 依申请公开 requests, on SQLite and PostgreSQL;
bad rows in FILE.rejects.csv with a Chinese reason, nothing silently dropped."""

import csv
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from huiying.db import session_scope
from huiying.disclosure_import import import_disclosures
from huiying.errors import InputError
from huiying.models import Case, CaseStatus, DisclosureRequest
from tests.conftest import huiying
from tests.core.test_import import write_csv, write_xlsx

LOCAL = ZoneInfo("Asia/Shanghai")
HEADER = ["编号", "收到申请时间", "申请人类型", "申请人", "申请内容", "申请方式", "告知补正时间",
          "收到补正时间", "延期时间", "延期理由", "答复时间", "办理结果", "备注"]


def row(reference, received, applicant="自然人", content="学区划分依据", form="网络", **later):
    """One line of the register; `later`: the columns from 告知补正时间 on, by header."""
    return [reference, received, applicant, "张三丰", content, form, *(later.get(h, "") for h in HEADER[6:])]


GOOD = [
    row("YS001", "2026-03-02 10:00", 答复时间="2026-03-20 09:00", 办理结果="（一）予以公开"),
    row("YS002", "2026-03-03 10:00", "法律服务机构", "校车招标文件", "信函", 延期时间="2026-03-25 09:00",
        延期理由="需征求第三方意见"),
    row("YS003", "2026-11-02 10:00", "商业企业", "食堂承包合同", "当面", 告知补正时间="2026-11-04 09:00",
        收到补正时间="2026-11-20 15:00"),
]
BAD = [
    row("YS004", "2026-03-02 10:00", "个体户"),
    row("YS005", "2099-03-02 10:00"),
    row("YS006", "2026-03-02 10:00", form="电报"),
    row("YS007", "2026-03-02 10:00", content=""),
    row("YS008", "2026-03-02 10:00", 答复时间="2026-03-10 09:00", 办理结果="都行"),
    row("YS009", "2026-03-02 10:00", 告知补正时间="2026-03-01 09:00"),
    row("YS001", "2026-03-02 10:00"),
]
REASONS = {
    "YS004": "申请人类型“个体户”无法识别",
    "YS005": "收到申请时间“2099-03-02 10:00”晚于现在，不能导入将来的时间",
    "YS006": "申请方式“电报”无法识别",
    "YS007": "申请内容为空",
    "YS008": "办理结果“都行”不是年度报告表三的处理结果",
    "YS009": "告知补正的时间不能早于收到申请的时间",
    "YS001": "编号 YS001 与第 2 行重复",
}


def run(url, path, **kwargs):
    with session_scope(url) as session:
        return import_disclosures(session, path, **kwargs)


def test_good_rows_become_requests_with_their_history(any_database, tmp_path):
    result = run(any_database, write_xlsx(tmp_path / "requests.xlsx", HEADER, GOOD))
    assert (result.rows, result.new, result.rejects, result.rejects_file) == (3, 3, [], None)
    assert result.ignored_columns == ["备注"]
    with session_scope(any_database) as session:
        rows = {r.reference: r for r in session.scalars(select(DisclosureRequest))}
        assert rows["YS001"].result == "r03" and rows["YS001"].case.status == CaseStatus.CLOSED
        assert rows["YS002"].applicant_type == "legal" and rows["YS002"].case.status == CaseStatus.EXTENDED
        # Received Tuesday 3 March; 20 + 20 working days (no holiday in March and April but Qingming).
        assert rows["YS002"].due_at is not None and rows["YS002"].due_at > datetime(2026, 4, 28, tzinfo=LOCAL)
        # The completed request arrived on Friday 20 November: due 18 December.
        assert rows["YS003"].due_at == datetime(2026, 12, 18, 23, 59, 59, tzinfo=LOCAL)
    again = run(any_database, tmp_path / "requests.xlsx")
    assert (again.new, again.unchanged, again.rejects) == (0, 3, [])


def test_bad_rows_go_to_the_rejects_file_with_a_reason(any_database, tmp_path):
    path = write_csv(tmp_path / "requests.csv", HEADER, GOOD[:1] + BAD)
    result = run(any_database, path)
    assert result.new == 1 and result.rows == 1 + len(BAD)
    with open(result.rejects_file, encoding="utf-8-sig") as fh:
        rejected = list(csv.reader(fh))[1:]
    assert len(rejected) == len(BAD)  # every bad row, none dropped
    for _line, reason, reference, *_ in rejected:
        assert REASONS[reference] in reason and reason.endswith("。"), (reference, reason)
    with session_scope(any_database) as session:
        assert session.scalar(select(func.count(DisclosureRequest.id))) == 1
        assert session.scalar(select(func.count(Case.id))) == 1  # a refused replay leaves nothing


def test_wrong_columns_stop_the_import_with_one_sentence(any_database, tmp_path):
    header = ["编号", "收到申请时间", "申请内容"]
    path = write_csv(tmp_path / "requests.csv", header, [["A", "2026-03-02", "x"]])
    with pytest.raises(InputError, match="no column for the 申请人类型, 申请人, 申请方式"):
        run(any_database, path)


def test_the_command(tmp_path, migrated_env):
    path = write_csv(tmp_path / "requests.csv", HEADER, GOOD + BAD[:1], encoding="utf-8")
    done = huiying("import", "--kind", "disclosure", "--json", str(path), env=migrated_env)
    summary = json.loads(done.stdout)
    assert (summary["new"], summary["rejected"]) == (3, 1)
    assert "申请人类型“个体户”无法识别" in summary["rejects"][0]["reason"]
    bad = huiying("import", "--kind", "disclosure", str(tmp_path / "none.csv"), env=migrated_env, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
