"""A relevance model trained for the installation (data_dir/models/relevance) is the one
processing uses; without one, the shipped model."""

from sqlalchemy import select

from analysis.pipeline import relevance_model
from analysis.relevance import train_relevance
from huiying import settings as settings_module
from huiying.cases import installation_relevance
from huiying.cli.runner import drain
from huiying.db import session_scope
from huiying.models import Comment
from tests.core.conftest import add_comments

EDUCATION = ["孩子转学需要什么手续", "小学招生划片范围什么时候公布", "学校食堂饭菜质量差", "校车超载严重"]
OTHER = ["小区物业乱收费", "道路坑洼需要修补", "公交车班次太少", "医院挂号难"]


def tiny_model(seed: int):
    texts = [f"{t}{i}" for i in range(6) for t in EDUCATION + OTHER]
    labels = ["教育文体" if t[:-1] in EDUCATION else "城乡建设" for t in texts]
    return train_relevance(texts, labels, seed=seed)


def test_processing_uses_the_installations_relevance_model(database):
    settings = settings_module.load()
    folder = settings.data_dir / "models" / "relevance"
    assert installation_relevance(settings.data_dir) is None

    ids = add_comments(database, ("县一中食堂饭菜质量差", "请尽快解决"))
    drain(settings)
    with session_scope(database) as session:
        shipped = session.scalar(select(Comment.model_version).where(Comment.id == ids[0]))
    assert relevance_model().version in shipped.split(";")

    trained = tiny_model(seed=13)
    trained.save(folder)
    local = installation_relevance(settings.data_dir)
    assert local.version == trained.version and installation_relevance(settings.data_dir) is local
    ids = add_comments(database, ("城关小学招生划片范围什么时候公布", ""))
    drain(settings)
    with session_scope(database) as session:
        version = session.scalar(select(Comment.model_version).where(Comment.id == ids[0]))
    assert trained.version in version.split(";") and relevance_model().version not in version

    retrained = tiny_model(seed=14)  # written again: the next batch loads it
    retrained.save(folder)
    assert installation_relevance(settings.data_dir).meta["trainer"]["seed"] == 14
