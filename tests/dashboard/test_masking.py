"""Personal data masking, as plain functions (no app needed)."""

import pytest
from markupsafe import Markup

from dashboard.masking import mask_name, mask_text


@pytest.mark.parametrize(("text", "expected"), [
    ("电话13812341234", "电话138****1234"),
    ("13812341234，19987654321", "138****1234，199****4321"),
    ("+8613812341234", "+86138****1234"),
    ("86 13812341234", "86 138****1234"),
    ("订单号2138123412345不是手机号", "订单号2138123412345不是手机号"),
    ("12812341234", "12812341234"),  # 12x is no mobile prefix
    ("座机0851-1234567", "座机0851-****4567"),
    ("座机057188886666", "座机0571****6666"),
    ("电话(0571) 8888-6666转12", "电话(0571) ****6666"),
    ("138-1234-5678", "138****5678"),
    ("138 1234 5678。", "138****5678。"),
    ("138.1234.5678", "138****5678"),
    ("手机１３９１２３４５６７８，谢谢", "手机139****5678，谢谢"),  # full-width digits, comma kept
    ("+86 138 1234 5678", "+86 138****5678"),
    ("老身份证330102800101123", "老身份证330102*****1123"),
    ("邮箱 zhang.san@example.com 联系", "邮箱 z***@example.com 联系"),
    ("ＺＨＡＮＧ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "Z***@EXAMPLE.COM"),
    # not personal data: dates, times, amounts, long ticket numbers
    ("2019-01-10 14:03", "2019-01-10 14:03"),
    ("2019年01月10日下午", "2019年01月10日下午"),
    ("学费1200.50元", "学费1200.50元"),
    ("工单号202301010001234", "工单号202301010001234"),
    ("身份证110101199003071234。", "身份证110101********1234。"),
    ("身份证11010119900307123X", "身份证110101********123X"),
    ("身份证11010119900307123x号", "身份证110101********123x号"),
    ("19位1101011990030712345", "19位1101011990030712345"),
    ("", ""),
    (None, ""),
])
def test_mask_text(text, expected):
    assert mask_text(text) == expected


def test_an_official_reply_keeps_the_office_landline():
    reply = "请拨打0851-1234567咨询，或联系家长13812341234。"
    assert mask_text(reply, official=True) == "请拨打0851-1234567咨询，或联系家长138****1234。"


@pytest.mark.parametrize(("name", "expected"), [
    ("张三丰", "张**"),
    ("李四", "李**"),
    ("王", "王"),
    ("  ", "匿名"),
    (None, "匿名"),
    ("Alice", "A**"),
])
def test_mask_name(name, expected):
    assert mask_name(name) == expected


def test_masked_text_is_still_escaped():
    result = mask_text("<b>13812341234</b>")
    assert not isinstance(result, Markup)
    assert result == "<b>138****1234</b>"
