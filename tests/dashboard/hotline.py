"""A hotline import (12345 工单) made the way production makes it: `huiying import`'s
import_file, then process_comments. Shared by the case list and API tests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from huiying.cases import process_comments
from huiying.imports import import_file
from huiying.models import Case, Comment

TICKET = "RX2024090300017"
ROWS = [
    "工单编号,标题,诉求内容,来电时间,诉求类型,来电人",
    f"{TICKET},城关中学违规有偿补课,城关中学老师周末组织学生有偿补课，每人收费八百元，"
    "家长反映强烈，请教育局查处。联系电话13912345678,2024-09-03 10:15,投诉,赵六",
]


@pytest.fixture
def hotline(db, tmp_path):
    """The case of one imported hotline ticket (工单编号 TICKET, 诉求类型 投诉)."""
    path = tmp_path / "12345.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    result = import_file(db, path, kind="hotline")
    db.commit()
    process_comments(db, result.to_process)
    comment = db.scalar(select(Comment).where(Comment.external_id == TICKET))
    assert comment.case_id is not None, "the hotline ticket made no case"
    return db.get(Case, comment.case_id)
