"""Topic taxonomies other than the lexicon's: what an admin's edits do to the analysis."""

from analysis import analyse_many
from analysis.lexicon import TOPICS
from analysis.rules import TopicMatcher, topic_matcher, topic_of

TEXTS = ["请问今年小学招生划片范围什么时候公布？", "校车临时停运，通知太晚", "学校食堂饭菜发霉，孩子拉肚子",
         "课后服务能否延长到下午六点？", "初中作业太多能不能减负", "小区物业乱收费，业主投诉无门",
         "学校乱收费，家长不满", "全民健身中心羽毛球场收费太贵", "研学旅行费用太高"]


def test_default_matcher_keeps_the_lexicon_results():
    expected = {"请问今年小学招生划片范围什么时候公布？": ("招生入学", True),
                "校车临时停运，通知太晚": ("校车交通", True),
                "学校乱收费，家长不满": ("教育收费", False),  # weak word beside 学校
                "小区物业乱收费，业主投诉无门": (None, False),  # weak word, no education term
                "研学旅行费用太高": (None, False)}
    for text, result in expected.items():
        assert topic_of(text) == result
        assert topic_of(text, topic_matcher(TOPICS)) == result
    # a mapping with the lexicon's content is the lexicon's matcher: same version, same results
    as_lists = {name: (list(strong), list(weak)) for name, (strong, weak) in TOPICS.items()}
    assert topic_matcher(as_lists) is topic_matcher()
    default, same = analyse_many(TEXTS), analyse_many(TEXTS, topics=as_lists)
    assert [(r.topic, r.relevant) for r in default] == [(r.topic, r.relevant) for r in same]
    assert default[0].model_version == same[0].model_version
    assert "topics-" not in default[0].model_version


def test_custom_topics_change_topic_of_and_analyse_many():
    custom = dict(TOPICS)
    custom["研学实践"] = (("研学",), ("旅行",))
    del custom["校车交通"]
    matcher = topic_matcher(custom)
    assert topic_of("研学旅行费用太高", matcher) == ("研学实践", True)
    assert topic_of("校车临时停运，通知太晚", matcher) == (None, False)
    assert topic_of("学校乱收费，家长不满", matcher) == ("教育收费", False)

    results = analyse_many(["研学旅行费用太高", "校车临时停运，通知太晚"], topics=custom)
    assert results[0].topic == "研学实践"
    assert results[1].topic is None
    assert results[0].model_version.endswith(f";topics-{matcher.digest}")


def test_weak_words_of_a_custom_topic_need_an_education_term():
    matcher = topic_matcher({"研学实践": (("研学",), ("旅行",))})
    assert topic_of("旅行社价格太贵", matcher) == (None, False)
    assert topic_of("学校组织旅行太贵", matcher) == ("研学实践", False)


def test_ties_go_to_the_first_topic_and_an_empty_taxonomy_finds_nothing():
    first = topic_matcher({"甲": (("研学",), ()), "乙": (("游学",), ())})
    second = topic_matcher({"乙": (("游学",), ()), "甲": (("研学",), ())})
    assert topic_of("研学还是游学", first)[0] == "甲"
    assert topic_of("研学还是游学", second)[0] == "乙"
    assert topic_of("学校食堂", topic_matcher({})) == (None, False)
    assert topic_of("学校食堂", topic_matcher({"空": ((), ())})) == (None, False)


def test_matcher_is_compiled_once_per_content():
    one = {"研学实践": (["研学"], ["旅行"])}
    same_content = {"研学实践": (("研学",), ("旅行",))}
    assert topic_matcher(one) is topic_matcher(same_content)
    edited = {"研学实践": (["研学", "夏令营"], ["旅行"])}
    assert topic_matcher(edited) is not topic_matcher(one)
    assert topic_matcher(edited).digest != topic_matcher(one).digest
    assert isinstance(topic_matcher(one), TopicMatcher)
