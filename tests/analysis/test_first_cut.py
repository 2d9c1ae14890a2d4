from analysis import analyse_many
from analysis.fingerprint import exact_fingerprint
from analysis.normalise import normalise
from analysis.routing import Rule, route

RULES = [Rule("基础教育股", topic="招生入学"), Rule("安全稳定股", topic="校园安全"),
         Rule("学前教育股", keyword="幼儿园")]


def test_normalise_traditional_pinyin_fullwidth_html():
    assert normalise("落實(shí)政策，辦(bàn)理學籍") == "落实政策,办理学籍"
    assert normalise("資（zī）助") == "资助"
    assert normalise("ＡＢＣ１２３") == "ABC123"
    assert normalise("<p>你好<script>alert(1)</script></p>&amp;") == "你好 &"
    assert normalise("  多个\n\t空白  ") == "多个 空白"


def test_normalise_hostile_input_does_not_raise():
    assert normalise("\ud800孤立代理") == "\ufffd孤立代理"
    assert len(normalise("长" * 200_000)) == 20_000
    assert normalise("") == ""


def test_reposts_share_a_fingerprint():
    original = normalise("城关二小校门口放学拥堵，请求增设护学岗！")
    repost = normalise("转发：城关二小校门口放学拥堵 请求增设护学岗")
    traditional = normalise("城關二小校門口放學擁堵，請求增設護學崗。")
    other = normalise("城关二小食堂饭菜发霉")
    assert exact_fingerprint(original) == exact_fingerprint(repost) == exact_fingerprint(traditional)
    assert exact_fingerprint(original) != exact_fingerprint(other)


def test_route_keyword_beats_topic_and_ties_go_to_triage():
    assert route("幼儿园招生", "招生入学", RULES).department == "学前教育股"
    assert route("小学招生划片", "招生入学", RULES).department == "基础教育股"
    tie = route("x", "招生入学", [Rule("甲", topic="招生入学"), Rule("乙", topic="招生入学")])
    assert tie.department is None and sorted(tie.suggestions) == ["乙", "甲"]
    assert route("与教育无关", None, RULES).department is None


def test_analyse_many_batch_with_bad_items():
    results = analyse_many(
        [("请问今年小学招生划片范围什么时候公布？", ""), ("", ""), ("学校食堂饭菜发霉，孩子拉肚子", ""),
         ("低息贷款，加微信办理", "")],
        rules=RULES,
    )
    question, empty, canteen, spam = results
    assert question.topic == "招生入学" and question.relevant and question.department == "基础教育股"
    assert empty.error == "empty text" and not empty.relevant
    assert canteen.relevant and canteen.topic == "校园安全"
    assert canteen.severity == "较大" and "风险词：发霉" in canteen.severity_reasons
    assert not spam.relevant
    assert all(r.model_version.startswith("rules-2;sent-ngram-") for r in results)
    assert "relevance-" in question.model_version


def test_short_local_posts_are_relevant_and_other_bureaus_matters_are_not():
    local = ["食堂饭菜里吃出虫子", "校车临时停运，通知太晚", "课后服务能否延长到下午六点？",
             "初中作业太多能不能减负", "请问公办幼稚园收费标准"]
    other = ["小区物业乱收费，业主投诉无门", "我家门口的路坏了三个月没人修", "广场舞噪音扰民",
             "低息贷款，加微信秒批", "云溪学府学区房火热认购中，首付三成"]
    assert [r.relevant for r in analyse_many(local)] == [True] * len(local)
    assert [r.relevant for r in analyse_many(other)] == [False] * len(other)


def test_hostile_batch_gives_a_result_or_an_error_per_item():
    items = ["", "😀", "长" * 200_000, "English mixed 中文 и русский ١٢٣", "\ud800\udfff孤立\ud800",
             "<div onclick=alert(1)>校车<script>x()</script></div>", "\x00\x01控制字符",
             ("标题", "<p>正文</p>" * 5000)]
    results = analyse_many(items)
    assert len(results) == len(items)
    empty, emoji, huge, mixed, surrogates, html, control, pair = results
    assert empty.error == "empty text"
    assert emoji.error is None and 0 <= emoji.sentiment <= 1
    assert huge.error is None and len(huge.text_norm) == 20_000
    assert mixed.error is None and "русский" in mixed.text_norm
    assert surrogates.error is None and "\ufffd" in surrogates.text_norm
    assert html.text_norm == "校车" and html.topic == "校车交通"
    assert control.error is None
    assert pair.error is None and "<p>" not in pair.text_norm
    for result in results:
        result.text_norm.encode("utf-8")  # storable as it is: no lone surrogate left
