from collections import Counter

from analysis.hotwords import hot_words, rank, terms

BEFORE = ["请问城关一小什么时候开始报名？", "青石镇中学的食堂饭菜价格太贵", "幼儿园保教费是否会上涨",
          "请问转学需要哪些材料", "学校操场什么时候对外开放"] * 4
NOW = ["城关二小多个班级学生发烧，流感会不会停课？", "流感来了，学校是否停课请给个说法",
       "孩子班上一半人流感请假，为什么还不停课", "食堂饭菜价格又涨了"]


def test_burst_terms_rank_first_and_stop_words_never_appear():
    ranked = [w for w, _ in hot_words(NOW, BEFORE, top_k=5)]
    assert sorted(ranked[:2]) == ["停课", "流感"]
    assert "价格" not in ranked[:2]  # as common before as now
    assert not {"学校", "孩子", "什么", "请问"} & set(ranked)


def test_user_dictionary_keeps_policy_terms_whole():
    assert "课后服务" in terms("双减以后课后服务收费怎么算")
    assert "双减" in terms("双减以后课后服务收费怎么算")
    assert "随班就读" in terms("孩子申请随班就读被拒绝")


def test_hot_words_of_nothing():
    assert hot_words([], []) == []
    assert hot_words(["", "😀"], []) == []


def test_rank_on_counted_documents_is_hot_words():
    """What the worker stores (texts per term) ranks as segmenting the texts again does."""
    period = Counter(w for t in NOW for w in set(terms(t)))
    before = Counter(w for t in BEFORE for w in set(terms(t)))
    assert rank(period, before, len(BEFORE), 5) == hot_words(NOW, BEFORE, top_k=5)


def test_rank_needs_two_texts_and_breaks_ties_by_the_word():
    # 2 * log((0 + 2) / (0 + 1)) each; "校车" < "食堂" in code point order
    ranked = rank(Counter({"食堂": 2, "校车": 2, "停课": 1}), Counter(), 0)
    assert ranked == [("校车", 1.386), ("食堂", 1.386)]
    assert rank(Counter({"食堂": 3}), Counter({"食堂": 9}), 9) == [("食堂", 0.286)]  # 3 * log(11 / 10)
    assert rank({}, {}, 0) == []
