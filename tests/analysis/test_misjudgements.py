"""Misjudgements seen on the demo board, each kept as a case (issue 9, item 6)."""

import pytest

from analysis import analyse_many
from analysis.hotwords import hot_words, terms
from analysis.rules import SEVERITY_ORDER, severity_of


def judged(title, body):
    (result,) = analyse_many([(title, body)])
    return result


@pytest.mark.parametrize(("title", "body", "at_least"), [
    ("流感暴发多个班级停课", "我们学校最近流感暴发，好几个班停课了，家长很担心，学校也不通知。", "较大"),
    ("老师集体停课", "城关三小的老师集体停课了，说是绩效工资一直没发，孩子们在教室没人管。", "重大"),
    ("多人腹泻", "青石镇中学昨天多名学生腹泻呕吐，怀疑是食堂饭菜有问题。", "较大"),
    ("班上好几个孩子发烧", "二小三年级班上好几个孩子发烧咳嗽，学校也不消毒，也不让家长知道。", "较大"),
])
def test_an_outbreak_or_a_collective_stop_is_not_general(title, body, at_least):
    result = judged(title, body)
    assert result.relevant
    assert SEVERITY_ORDER[result.severity] >= SEVERITY_ORDER[at_least], result.severity_reasons


def test_a_collective_stop_is_told_as_such_not_as_its_parts():
    level, reasons = severity_of("老师集体停课", 0.5)
    assert (level, reasons) == ("重大", ["风险词：集体停课"])


def test_one_child_with_a_fever_is_no_outbreak():
    level, reasons = severity_of("孩子发烧了，明天能在学校请假吗", 0.5)
    assert (level, reasons) == ("一般", [])


def test_a_thank_you_for_a_settled_matter_is_no_alert():
    result = judged("感谢教育局",
                    "上次反映孩子在学校受伤的事，孩子已经出院，感谢关心，感谢学校和教育局的及时处理。")
    assert result.severity == "一般"
    assert result.severity_reasons[-1] == "致谢，事已解决：已经出院、感谢"
    # The short form seen on the board, judged on its own text.
    assert severity_of("孩子在学校摔倒受伤，孩子已经出院，感谢关心", 0.6)[0] == "一般"


@pytest.mark.parametrize("text", [
    "孩子受伤已经出院，感谢关心，但是学校至今没有说法。",  # thanks, then a complaint again
    "谢谢关心。孩子受伤后学校一直推脱责任。",  # nothing settled
])
def test_thanks_do_not_hide_a_matter_still_open(text):
    assert severity_of(text, 0.5)[0] == "较大"


def test_a_settled_major_matter_stays_major():
    assert severity_of("学生溺亡一事已经处理，感谢关心", 0.5)[0] == "重大"


HOTLINE = [
    "市民来电反映，城关二小校车超载，咨询是否有人管，请相关部门核实处理。",
    "来电人称孩子所在学校校车超载严重，来电咨询投诉，诉求尽快处理。",
    "市民来电咨询：校车超载问题反映多次，要求回复。联系电话已登记。",
]


def test_hotline_boilerplate_is_no_hot_word():
    boilerplate = {"来电", "咨询", "市民", "反映", "来电人", "诉求", "投诉", "处理", "核实", "相关部门"}
    assert not boilerplate & set(terms(HOTLINE[0]))
    words = [w for w, _ in hot_words(HOTLINE)]
    assert words[:2] == ["校车", "超载"] or words[:2] == ["超载", "校车"]
    assert not boilerplate & set(words)
