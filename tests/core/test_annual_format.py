"""The 国办公开办函〔2021〕30号 layout and its consistency checks (huiying.annual_format): pure."""

import pytest

from huiying import annual_format as fmt


def consistent() -> dict[str, float]:
    """Every cell entered, adding up: 12 new + 3 carried over = 13 handled + 2 carried forward."""
    values = {key: 0.0 for key in fmt.FIELDS}
    per_row = {"r01": (8, 3, 0, 0, 1, 0), "r02": (2, 1, 0, 0, 0, 0), "r03": (4, 2, 0, 0, 0, 0),
               "r04": (1, 0, 0, 0, 1, 0), "r13": (2, 1, 0, 0, 0, 0), "r17": (1, 0, 0, 0, 0, 0),
               "r24": (8, 3, 0, 0, 1, 0), "r25": (2, 1, 0, 0, 0, 0)}
    for row, cells in per_row.items():
        for column, value in zip(fmt.T3_APPLICANTS, cells, strict=True):
            values[fmt.t3_key(row, column)] = float(value)
        values[fmt.t3_key(row, "total")] = float(sum(cells))
    for group, _ in fmt.T4_GROUPS:
        values[fmt.t4_key(group, "upheld")] = 2.0
        values[fmt.t4_key(group, "pending")] = 1.0
        values[fmt.t4_key(group, "total")] = 3.0
    values["t2.fees"] = 1.25
    return values


def test_the_format_has_its_rows_and_columns():
    assert len(fmt.T3_ROWS) == 25 and len(fmt.T3_COLUMNS) == 7
    assert [name for _, name in fmt.T3_COLUMNS] == ["自然人", "商业企业", "科研机构", "社会公益组织",
                                                  "法律服务机构", "其他", "总计"]
    assert fmt.T3_NAMES["r01"] == "一、本年新收政府信息公开申请数量"
    assert fmt.T3_NAMES["r07"] == "（三）不予公开3.危及“三安全一稳定”"
    assert fmt.T3_NAMES["r15"] == "（四）无法提供3.补正后申请内容仍不明确"
    assert fmt.T3_NAMES["r24"] == "（七）总计" and fmt.T3_NAMES["r25"] == "四、结转下年度继续办理"
    assert len(fmt.T3_RESULT_ROWS) == 21  # （一）, （二） and the 19 items of （三） to （六）
    assert len([k for k in fmt.FIELDS if k.startswith("t4.")]) == 15
    assert len([k for k in fmt.FIELDS if k.startswith("t3.")]) == 25 * 7
    assert not fmt.check(consistent())


@pytest.mark.parametrize(("cell", "value", "sentences"), [
    # A row total that is not the sum of its applicants: that row's 总计, and its column's checks.
    (fmt.t3_key("r03", "total"), 7, [
        "表三“（一）予以公开”行“总计”列为 7，但自然人与法人或其他组织各列之和为 6。",
        "表三“（七）总计”行“总计”列为 12，但（一）至（六）各项之和为 13。"]),
    # A sub-row that makes （七） wrong, in one applicant column (with its row total kept right).
    (fmt.t3_key("r16", "natural"), 1, [
        "表三“（五）不予处理1.信访举报投诉类申请”行“总计”列为 0，但自然人与法人或其他组织各列之和为 1。",
        "表三“（七）总计”行“自然人”列为 8，但（一）至（六）各项之和为 9。"]),
    # 一 + 二 ≠ 三（七）+ 四 in the column 法律服务机构 (and that row's total).
    (fmt.t3_key("r02", "legal"), 2, [
        "表三“二、上年结转政府信息公开申请数量”行“总计”列为 3，但自然人与法人或其他组织各列之和为 5。",
        "表三“法律服务机构”列：第一项加第二项之和为 3，第三项（七）总计加第四项之和为 1，两者应相等。"]),
    (fmt.t4_key("after_review", "total"), 4, [
        "表四“行政诉讼 复议后起诉”的“总计”列为 4，但结果维持、结果纠正、其他结果、尚未审结之和为 3。"]),
])
def test_a_cell_that_does_not_add_up_is_named(cell, value, sentences):
    values = consistent()
    values[cell] = float(value)
    assert fmt.check(values) == sentences


def test_cells_not_entered_are_missing_not_zero():
    values = consistent()
    values[fmt.t3_key("r03", "natural")] = None
    assert fmt.missing(values) == ["t3.r03.natural"]
    # The relations with a cell not entered are not checked: nothing to compare it with.
    assert not fmt.check(values)
    assert fmt.missing({}) == list(fmt.FIELDS)


@pytest.mark.parametrize(("key", "text", "value"), [
    ("t3.r01.natural", " 12 ", 12.0), ("t3.r01.natural", "", None), ("t3.r01.natural", "1,200", 1200.0),
    ("t2.fees", "3.1415", 3.1415), ("overview.press_conferences", "4.0", 4.0)])
def test_values_parse(key, text, value):
    assert fmt.parse_value(key, text) == value


@pytest.mark.parametrize(("key", "text", "message"), [
    ("t3.r01.natural", "abc", "“表三 一、本年新收政府信息公开申请数量 自然人”应填写数字，收到“abc”。"),
    ("t3.r01.natural", "-1", "“表三 一、本年新收政府信息公开申请数量 自然人”不能为负数，收到“-1”。"),
    ("t4.review.total", "1.5", "“表四 行政复议 总计”应填写整数，收到“1.5”。"),
    ("t2.fees", "0.123456",
     "“表二 第二十条第（八）项 行政事业性收费 本年收费金额（单位：万元）”"
     "最多保留 4 位小数，收到“0.123456”。"),
    ("overview.interviews", "nan", "“开展在线访谈”应填写数字，收到“nan”。"),
])
def test_bad_values_are_one_sentence_naming_the_cell(key, text, message):
    with pytest.raises(ValueError) as raised:
        fmt.parse_value(key, text)
    assert str(raised.value) == message
