"""The notification texts are pure: huiying/notify/texts.py imports no database code, and every
kind renders from hand-made plain data, with no database anywhere (no fixture, no session)."""

from __future__ import annotations

import ast
import inspect
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from huiying.notify import texts
from huiying.notify.texts import FOOTER, BriefFacts, CaseFacts, MonthlyFacts, Texts

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
TEXTS = Texts(base_url="https://yq.edu.example.cn", bureau_name="某县教育体育局", negative_spike=10,
              zone=ZoneInfo("Asia/Shanghai"), now=NOW)
CASE = CaseFacts(id=7, title="城关二小门口聚集 电话13812345678", severity="重大", topic="招生入学",
                 status="已派单", department="基础教育股", due_at=NOW + timedelta(hours=5),
                 first_text="今天下午很多家长在城关二小门口。身份证号110101201001011234",
                 severity_reasons=("聚集",), heat=3)


def test_the_renderers_module_imports_no_database_code():
    tree = ast.parse(inspect.getsource(texts))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported
                if name.split(".")[0] == "sqlalchemy" or name in ("huiying.db", "huiying.models")}
    assert "session" not in inspect.getsource(texts).lower()


def test_every_kind_renders_from_plain_data():
    rendered = {
        "assign": TEXTS.assignment(CASE, NOW, "请核实 13812345678"),
        "alert": TEXTS.alert(CASE, "重大"),
        "spike": TEXTS.spike(12, [(5, CASE)]),
        "remind": TEXTS.reminder(CASE),
        "overdue": TEXTS.overdue(replace(CASE, due_at=NOW - timedelta(hours=3))),
        "brief": TEXTS.brief(BriefFacts(
            day=date(2026, 12, 2), start=NOW - timedelta(days=1), end=NOW, new_cases=[CASE],
            comments=20, negative=5, overdue=[CASE], overdue_total=1, replied=3, replied_on_time=2,
            hot_words=["划片", "校车"])),
        "monthly": TEXTS.monthly(MonthlyFacts(
            month=date(2026, 11, 1), file_name="回应月报-2026年11月.xlsx", total=4, needing_answer=3,
            replied=2, on_time=1, overdue_unanswered=1, response_rate=2 / 3, on_time_rate=0.5,
            median_response_hours=30.0, first_working_day=date(2026, 12, 1), calendar_known=True)),
        "crawl": TEXTS.crawl(SimpleNamespace(
            name="board", title="县政府留言板", last_started_at=NOW, last_seconds=3.2, last_pages=0,
            last_items=0, last_new=0, last_errors=2,
            incident=SimpleNamespace(since=NOW - timedelta(hours=2), text="连续 3 次采集出错"))),
    }
    for kind, (subject, body) in rendered.items():
        assert subject.startswith("【回应】") and body.endswith(FOOTER + "\n"), kind
        for clear in ("13812345678", "110101201001011234"):
            assert clear not in subject and clear not in body, kind
    assert "https://yq.edu.example.cn/cases/7" in rendered["assign"][1]
    assert "2026-12-03 15:00" in rendered["assign"][1]  # the due time in local time
    assert "已超时 3 小时" in rendered["overdue"][1]
    assert "一、新增案件：1 件（重大 1、较大 0、一般 0）" in rendered["brief"][1]
    assert "五、昨日热词：划片、校车" in rendered["brief"][1]
    assert "回应率 66.7%" in rendered["monthly"][1]
    assert "《回应月报-2026年11月.xlsx》" in rendered["monthly"][1]
    assert "（5 条）" in rendered["spike"][1] and "县政府留言板" in rendered["crawl"][0]

