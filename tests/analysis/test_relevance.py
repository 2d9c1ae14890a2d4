import re

import numpy as np
import pytest

from analysis.relevance import DEFAULT_DIR, RelevanceModel, evaluate_relevance, train_relevance
from tests.analysis._data import HOSTILE, SMALL, labelled_slice, sha256_of

# measured 2026-11 on the first 500 DEV rows (seen in training: a regression floor only)
DEV_SLICE_F1_FLOOR = 0.95


@pytest.fixture(scope="module")
def model():
    return RelevanceModel.load()


def test_shipped_model_loads_without_pickle(model):
    assert set(np.load(DEFAULT_DIR / "weights.npz", allow_pickle=False).files) >= {"cols", "weights"}
    assert re.fullmatch(r"relevance-\d{4}\.\d{2}-[0-9a-f]{8}", model.version)
    assert 0 < model.threshold < 1 and model.combination in ("classifier", "max", "blend")


def test_parent_questions_are_relevant(model):
    texts = ["孩子今年上一年级，户口不在学区能不能报名入学？",
             "幼儿园每天下午三点半就放学，双职工家庭根本接不了孩子",
             "我家孩子在学校被同学欺负，班主任不管，该向哪里反映？",
             "孩子转学到县城小学，学籍怎么转？"]
    assert all(model.is_relevant(texts)), model.score(texts)


@pytest.mark.xfail(reason="known gap: short questions whose words the government messages lack "
                   "(军训, 减负) score low; see docs/router-and-relevance.md")
def test_parent_questions_known_misses(model):
    texts = ["请问县一中高一新生什么时候军训，要交哪些费用？", "初中作业太多，孩子每天写到十一点，能不能减负"]
    assert all(model.is_relevant(texts)), model.score(texts)


def test_spam_and_off_topic_are_not(model):
    texts = ["低息贷款，当天放款，加微信详询",
             "城南新楼盘火热认购中，首付三成即可入住，学区房现房发售",
             "信用卡套现，代办各类证件",
             "小区楼下广场舞噪音扰民，晚上十点还在放音乐",
             "我们村到镇上的道路坑坑洼洼，下雨天根本没法走"]
    assert not any(model.is_relevant(texts)), model.score(texts)


def test_hostile_input_never_raises(model):
    scores = model.score(HOSTILE)
    assert len(scores) == len(HOSTILE) and all(0 <= s <= 1 for s in scores)
    assert model.score([]) == []


def test_training_is_deterministic(tmp_path):
    texts, labels = zip(*SMALL, strict=True)
    for name in ("a", "b"):
        train_relevance(texts, labels, folds=2).save(tmp_path / name)
    for file in ("weights.npz", "meta.json"):
        assert sha256_of(tmp_path / "a" / file) == sha256_of(tmp_path / "b" / file)


def test_dev_slice_above_floor(model):
    texts, labels = labelled_slice(500)
    assert evaluate_relevance(model, texts, labels)["f1"] >= DEV_SLICE_F1_FLOOR
