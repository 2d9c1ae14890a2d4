"""Where the shared evaluation data lives: $HUIYING_SHARED_DATA, else a `shared/data` folder
beside some parent folder of the repository."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pytest

LABELLED = "gov_messages_tipdm2020_labelled_dev.csv"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def shared_data(*needed: str) -> Path:
    """The shared data folder holding every file in `needed`.

    Missing, the test is skipped on a developer's machine but fails under CI (CI=true), where
    the data is provisioned: a skip there would hide that the accuracy floors never ran.
    """
    env = os.environ.get("HUIYING_SHARED_DATA")
    candidates = [Path(env)] if env else [p / "shared" / "data" for p in Path(__file__).resolve().parents]
    for folder in candidates:
        if all((folder / name).is_file() for name in needed):
            return folder
    where = f"HUIYING_SHARED_DATA={env}" if env else "shared/data beside a parent folder of the repository"
    message = f"{', '.join(needed)} not found in {where} (set HUIYING_SHARED_DATA to the folder)"
    if on_ci():
        pytest.fail(f"CI=true but the shared data is missing: {message}", pytrace=False)
    pytest.skip(message)


def labelled_slice(n: int = 500) -> tuple[list[str], list[str]]:
    """The first n rows of the DEV labelled messages (skipped, or failed on CI, without them)."""
    folder = shared_data(LABELLED)
    with open(folder / LABELLED, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    return [r["text"] for r in rows], [r["category"] for r in rows]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


HOSTILE = ["", "   ", "😀😀🎉", "\ud800", "学" * 200_000, "<script>x</script>", "\x00\x01", None]

# a tiny labelled set for the determinism tests (written for these tests)
SMALL = [
    ("孩子明年上小学，划片范围怎么查", "教育文体"), ("学校食堂饭菜质量差，请教育局管管", "教育文体"),
    ("初中老师周末组织有偿补课", "教育文体"), ("幼儿园保教费涨价是否合理", "教育文体"),
    ("县体育馆什么时候对外开放", "教育文体"), ("高中分班考试不公平", "教育文体"),
    ("小区楼下烧烤噪音扰民到深夜", "环境保护"), ("化工厂排放废气味道刺鼻", "环境保护"),
    ("河道里有人倾倒垃圾污水", "环境保护"), ("工地夜间施工噪音太大", "环境保护"),
    ("村里道路坑洼多年没人修", "城乡建设"), ("小区物业乱收停车费", "城乡建设"),
    ("安置房迟迟不交房", "城乡建设"), ("老旧小区改造进度太慢", "城乡建设"),
]
