"""The layout of the 政府信息公开工作年度报告 (国办公开办函〔2021〕30号) and its consistency checks.

Pure data and arithmetic, nothing read or written: huiying.annual fills the cells (admin input,
and 依申请公开 cases), huiying.annual_export and the dashboard draw them. A cell is
identified by a key such as "t3.r01.natural"; a value of None is a cell nobody has entered
(未填报) and is never taken for zero. The checks name the first cell that does not add up in
one Chinese sentence, because that sentence is what the admin reads before correcting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Values = Mapping[str, float | None]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    unit: str = ""
    decimal: bool = False  # amounts in 万元; everything else counts


# 一、总体情况: what the admin enters beside the figures counted from the cases.
OVERVIEW_FIELDS = (
    Field("overview.published", "主动公开政府信息", "条"),
    Field("overview.interpretations", "发布政策解读", "篇"),
    Field("overview.press_conferences", "召开新闻发布会", "场"),
    Field("overview.interviews", "开展在线访谈", "期"),
)

# 二、主动公开政府信息情况: (item of 第二十条, row label, [(key, column label)…]).
TABLE2 = (
    ("第二十条第（一）项", [
        ("规章", [("t2.rules.issued", "本年制发件数"), ("t2.rules.repealed", "本年废止件数"),
                ("t2.rules.valid", "现行有效件数")]),
        ("行政规范性文件", [("t2.normative.issued", "本年制发件数"),
                     ("t2.normative.repealed", "本年废止件数"),
                     ("t2.normative.valid", "现行有效件数")]),
    ]),
    ("第二十条第（五）项", [("行政许可", [("t2.licensing", "本年处理决定数量")])]),
    ("第二十条第（六）项", [("行政处罚", [("t2.penalty", "本年处理决定数量")]),
                     ("行政强制", [("t2.coercion", "本年处理决定数量")])]),
    ("第二十条第（八）项", [("行政事业性收费", [("t2.fees", "本年收费金额（单位：万元）")])]),
)
DECIMAL_KEYS = frozenset({"t2.fees"})

# 三、收到和处理政府信息公开申请情况: 25 rows × 7 applicant columns.
T3_COLUMNS = (("natural", "自然人"), ("business", "商业企业"), ("research", "科研机构"),
              ("nonprofit", "社会公益组织"), ("legal", "法律服务机构"), ("other", "其他"),
              ("total", "总计"))
T3_APPLICANTS = tuple(key for key, _ in T3_COLUMNS[:-1])
T3_ORGANISATIONS = T3_COLUMNS[1:6]  # under 法人或其他组织


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    group: str = ""  # the heading it sits under: （三）不予公开 …


T3_ROWS = (
    Row("r01", "一、本年新收政府信息公开申请数量"),
    Row("r02", "二、上年结转政府信息公开申请数量"),
    Row("r03", "（一）予以公开"),
    Row("r04", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    *(Row(f"r{5 + n:02d}", label, "（三）不予公开") for n, label in enumerate((
        "1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”", "4.保护第三方合法权益",
        "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷", "8.属于行政查询事项"))),
    *(Row(f"r{13 + n:02d}", label, "（四）无法提供") for n, label in enumerate((
        "1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"))),
    *(Row(f"r{16 + n:02d}", label, "（五）不予处理") for n, label in enumerate((
        "1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物", "4.无正当理由大量反复申请",
        "5.要求行政机关确认或重新出具已获取信息"))),
    *(Row(f"r{21 + n:02d}", label, "（六）其他处理") for n, label in enumerate((
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "3.其他"))),
    Row("r24", "（七）总计"),
    Row("r25", "四、结转下年度继续办理"),
)
T3_RESULT_ROWS = tuple(row.id for row in T3_ROWS[2:23])  # （一）…（六）, summed by （七）
T3_SECTION = "三、本年度办理结果"  # the heading of rows （一） to （七）

# 四、政府信息公开行政复议、行政诉讼情况: one row of 15 columns.
T4_OUTCOMES = (("upheld", "结果维持"), ("corrected", "结果纠正"), ("other", "其他结果"),
               ("pending", "尚未审结"), ("total", "总计"))
T4_GROUPS = (("review", "行政复议"), ("direct", "行政诉讼 未经复议直接起诉"),
             ("after_review", "行政诉讼 复议后起诉"))


def t3_key(row: str, column: str) -> str:
    return f"t3.{row}.{column}"


def t4_key(group: str, outcome: str) -> str:
    return f"t4.{group}.{outcome}"


def t3_row_name(row: Row) -> str:
    return f"{row.group}{row.label}" if row.group else row.label


def all_fields() -> list[Field]:
    """Every cell a person can enter, in the order of the report."""
    fields = list(OVERVIEW_FIELDS)
    for item, rows in TABLE2:
        for label, columns in rows:
            fields += [Field(key, f"表二 {item} {label} {column}", decimal=key in DECIMAL_KEYS)
                       for key, column in columns]
    for row in T3_ROWS:
        fields += [Field(t3_key(row.id, column), f"表三 {t3_row_name(row)} {name}")
                   for column, name in T3_COLUMNS]
    for group, group_name in T4_GROUPS:
        fields += [Field(t4_key(group, outcome), f"表四 {group_name} {name}")
                   for outcome, name in T4_OUTCOMES]
    return fields


FIELDS = {field.key: field for field in all_fields()}


T3_NAMES = {row.id: t3_row_name(row) for row in T3_ROWS}
T3_COLUMN_NAMES = dict(T3_COLUMNS)


def parse_value(key: str, text: str) -> float | None:
    """The number typed into the cell `key`: empty → None (未填报); otherwise a whole number of at
    least 0 (an amount in 万元 may have up to 4 decimals). ValueError: a Chinese sentence."""
    field = FIELDS[key]
    text = (text or "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"“{field.label}”应填写数字，收到“{text}”。")
    if value < 0:
        raise ValueError(f"“{field.label}”不能为负数，收到“{text}”。")
    if field.decimal:
        if round(value, 4) != value:
            raise ValueError(f"“{field.label}”最多保留 4 位小数，收到“{text}”。")
        return value
    if value != int(value):
        raise ValueError(f"“{field.label}”应填写整数，收到“{text}”。")
    return float(int(value))


def number(value: float | None) -> int | float | None:
    """A cell as it is shown: counts as int, amounts as they are."""
    if value is None:
        return None
    return int(value) if value == int(value) else value


def _sum(values: Values, keys: list[str]) -> float | None:
    """The sum of the cells, or None when one of them is not entered (nothing to check)."""
    found = [values.get(key) for key in keys]
    return None if any(v is None for v in found) else sum(found)  # type: ignore[arg-type]


def _fmt(value: float) -> str:
    return str(number(value))


def check(values: Values) -> list[str]:
    """The cells that do not add up, each as one Chinese sentence naming its row and column.

    A relation with a cell not entered is not checked (the cell shows 未填报 instead)."""
    problems: list[str] = []
    for row in T3_ROWS:  # 总计 = 自然人 + the five kinds of 法人或其他组织
        total = values.get(t3_key(row.id, "total"))
        parts = _sum(values, [t3_key(row.id, c) for c in T3_APPLICANTS])
        if total is not None and parts is not None and total != parts:
            problems.append(f"表三“{T3_NAMES[row.id]}”行“总计”列为 {_fmt(total)}，"
                            f"但自然人与法人或其他组织各列之和为 {_fmt(parts)}。")
    for column, name in T3_COLUMNS:
        total = values.get(t3_key("r24", column))
        parts = _sum(values, [t3_key(r, column) for r in T3_RESULT_ROWS])
        if total is not None and parts is not None and total != parts:
            problems.append(f"表三“（七）总计”行“{name}”列为 {_fmt(total)}，"
                            f"但（一）至（六）各项之和为 {_fmt(parts)}。")
    for column, name in T3_COLUMNS:  # 一 + 二 = 三（七）+ 四
        received = _sum(values, [t3_key("r01", column), t3_key("r02", column)])
        handled = _sum(values, [t3_key("r24", column), t3_key("r25", column)])
        if received is not None and handled is not None and received != handled:
            problems.append(f"表三“{name}”列：第一项加第二项之和为 {_fmt(received)}，"
                            f"第三项（七）总计加第四项之和为 {_fmt(handled)}，两者应相等。")
    for group, group_name in T4_GROUPS:
        total = values.get(t4_key(group, "total"))
        parts = _sum(values, [t4_key(group, o) for o, _ in T4_OUTCOMES[:-1]])
        if total is not None and parts is not None and total != parts:
            problems.append(f"表四“{group_name}”的“总计”列为 {_fmt(total)}，"
                            f"但结果维持、结果纠正、其他结果、尚未审结之和为 {_fmt(parts)}。")
    return problems


def missing(values: Values) -> list[str]:
    """The keys of the cells nobody has entered, in report order."""
    return [key for key in FIELDS if values.get(key) is None]
