"""`huiying bench dashboard`: the dashboard's pages at a bureau's scale, on PostgreSQL.

Seeds a database of its own with 1,000,000 comments in 200,000 cases over two years and ten
departments (set-based SQL: a few minutes, once — a later run reuses it), then requests each
page as a logged-in admin through the Flask app and reports p50/p95 beside a baseline page
that reads nothing from the database, measured in the same run.
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/huiying_bench"
CASES = 200_000
COMMENTS_PER_CASE = 5
DAYS = 730
DEPARTMENTS = 10
REQUESTS = 20  # per page, after the first
TIMEZONE = "Asia/Shanghai"  # the default HUIYING_TIMEZONE
TARGET_P95_MS = 200
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 (the bench database's own admin)
TITLES = ["城关小学招生划片不合理", "校车超载严重", "幼儿园乱收费", "食堂饭菜质量差", "课后服务收费过高",
          "教师有偿补课", "学校门口交通拥堵", "宿舍冬天没有热水", "午休时间太短", "作业负担过重",
          "校服价格太贵", "操场塑胶跑道有异味", "营养餐分量不足", "转学手续繁琐", "教师编制招聘"]
BODY = ("今年小学招生入学划片政策不公平，孩子上学要走很远，家长每天接送很困难，"
        "希望教育局重新考虑划片范围并尽快答复。")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _server_url(url: str, database: str) -> str:
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    return urlunsplit(parts._replace(path=f"/{database}"))


def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"HUIYING_BENCH_DATABASE_URL: unsafe database name {name!r}")
    return name


def _seeded(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(_server_url(url, _database_name(url)), connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM comment").fetchone()[0] >= CASES * COMMENTS_PER_CASE
    except psycopg.Error:
        return False


def _recreate(url: str) -> None:
    import psycopg

    name = _database_name(url)
    with psycopg.connect(_server_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _env(url: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIYING_")}
    return {**env, "HUIYING_DATABASE_URL": url, "HUIYING_DATA_DIR": data_dir,
            "HUIYING_ADMIN_PASSWORD": ADMIN_PASSWORD}


SEED = [
    # Ten departments (the defaults and more), four sources of every kind.
    """INSERT INTO department (name) SELECT '测试科室' || g
       FROM generate_series(1, :departments - (SELECT count(*) FROM department)) g""",
    """INSERT INTO source (name, title, kind, config, enabled, created_at) VALUES
       ('bench-board', '县政府留言板', 'board', '{}', true, now()),
       ('bench-forum', '本地论坛', 'board', '{}', true, now()),
       ('hotline', '12345 热线', 'import', '{}', true, now()),
       ('mailbox', '局长信箱', 'import', '{}', true, now())""",
    # Case g was first seen g * 2 years / CASES ago: the newest first. The newest 2 % are
    # still being worked; the rest answered (on time or late), closed, or refused.
    """INSERT INTO "case" (id, title, summary, fingerprint, match_text, search_text, status, topic,
         severity, severity_reasons, sentiment, sentiment_label, department_id, heat, first_seen_at, due_at,
         first_comment_id, first_reply_at, replied_on_time, initial_severity, created_at, updated_at)
       SELECT g, t.titles[1 + g % array_length(t.titles, 1)] || '（' || g || '）', :body,
         md5('bench-case-' || g), '',
         t.tokens[1 + g % array_length(t.titles, 1)] || ' ' || g || ' ' || :body_tokens,
         s.status, tp.names[1 + g % array_length(tp.names, 1)],
         CASE WHEN g % 100 = 0 THEN '重大' WHEN g % 100 < 5 THEN '较大' ELSE '一般' END, '[]',
         -0.5, (ARRAY['negative', 'neutral', 'positive'])[1 + g % 3],
         CASE WHEN s.status = '待研判' THEN NULL ELSE d.ids[1 + g % array_length(d.ids, 1)] END,
         :per_case, s.seen, s.seen + interval '48 hours', (g - 1) * :per_case + 1,
         CASE WHEN s.answered THEN s.seen + (g % 96) * interval '1 hour' END,
         CASE WHEN s.answered THEN g % 96 <= 48 END,
         CASE WHEN g % 100 = 0 THEN '重大' WHEN g % 100 < 5 THEN '较大' ELSE '一般' END,
         s.seen, s.seen
       FROM generate_series(1, :cases) g
       CROSS JOIN (SELECT CAST(:titles AS text[]) AS titles, CAST(:title_tokens AS text[]) AS tokens) t
       CROSS JOIN (SELECT array_agg(name ORDER BY id) AS names FROM topic) tp
       CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM department) d
       CROSS JOIN LATERAL (
         SELECT status, status IN ('已回复', '已回访', '办结') AS answered,
                CAST(:now AS timestamptz) - (g::float / :cases) * :days * interval '1 day' AS seen
         FROM (SELECT CASE
                 WHEN g % 50 = 0 THEN '不予处理'
                 WHEN g <= :cases / 50 THEN (ARRAY['待研判', '已派单', '已签收', '延期', '已回复'])[1 + g % 5]
                 WHEN g % 3 = 0 THEN '已回复' WHEN g % 3 = 1 THEN '已回访' ELSE '办结' END AS status) x
       ) s""",
    """INSERT INTO comment (id, source_id, external_id, url, title, body, author, published_at,
         content_hash, fetched_at, processed_at, text_norm, relevant, relevance, sentiment,
         sentiment_label, topic, severity, fingerprint, model_version, request_type, case_id,
         terms, terms_day)
       SELECT n, src.ids[1 + n % 4], 'b' || n, 'https://liuyan.example.gov.cn/' || n,
         c.title, :body, '网友' || (n % 5000), c.first_seen_at + ((n - 1) % :per_case) * interval '1 hour',
         md5('bench-comment-' || n), c.first_seen_at + ((n - 1) % :per_case) * interval '1 hour',
         c.first_seen_at + ((n - 1) % :per_case) * interval '1 hour', c.title || :body, true, 0.9, -0.5,
         c.sentiment_label, c.topic, c.severity, c.fingerprint, 'bench',
         CASE WHEN n % 4 >= 2 THEN (ARRAY['咨询', '投诉', '建议', '求助'])[1 + n % 4] END, c.id,
         CAST(tt.terms[1 + c.id % array_length(tt.terms, 1)] AS json),
         CAST(timezone(:tz, c.first_seen_at + ((n - 1) % :per_case) * interval '1 hour') AS date)
       FROM generate_series(1, :cases * :per_case) n
       JOIN "case" c ON c.id = (n - 1) / :per_case + 1
       CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM source) src
       CROSS JOIN (SELECT CAST(:title_terms AS text[]) AS terms) tt""",
    # The hot-word counts the worker would have kept (huiying/hot_terms.py).
    """INSERT INTO term_day (day, term, docs)
       SELECT terms_day, term, count(*) FROM comment, json_array_elements_text(terms) term
       GROUP BY terms_day, term""",
    """INSERT INTO term_day_total (day, docs) SELECT terms_day, count(*) FROM comment
       GROUP BY terms_day""",
    """INSERT INTO case_event (case_id, at, action, from_status, to_status, note, data)
       SELECT id, first_seen_at, 'create', NULL, '待研判', '由留言生成', '{}' FROM "case" """,
    """INSERT INTO case_event (case_id, at, action, from_status, to_status, note, data)
       SELECT id, first_seen_at + interval '5 minutes', 'assign', '待研判', '已派单',
              '按分办规则派单', '{}' FROM "case" WHERE department_id IS NOT NULL""",
    """INSERT INTO case_event (case_id, at, action, from_status, to_status, note, data)
       SELECT id, first_reply_at, 'reply', '已签收', '已回复', '已答复留言人', '{}'
       FROM "case" WHERE first_reply_at IS NOT NULL""",
    "SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), (SELECT max(id) FROM \"case\"))",
    "SELECT setval(pg_get_serial_sequence('comment', 'id'), (SELECT max(id) FROM comment))",
]


def seed(url: str, now: datetime) -> float:
    """A fresh database at `url`, migrated and seeded; returns the seconds it took."""
    import tempfile

    start = time.perf_counter()
    _recreate(url)
    with tempfile.TemporaryDirectory(prefix="huiying-bench-") as tmp:
        subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=_env(url, tmp),
                       check=True, capture_output=True)
    engine = create_engine(url)
    import json

    from huiying.hot_terms import terms_of
    from huiying.search import search_text

    params = {"departments": DEPARTMENTS, "cases": CASES, "per_case": COMMENTS_PER_CASE,
              "days": DAYS, "now": now, "body": BODY, "titles": TITLES,
              # what huiying.search.search_text gives a title "（g）" and the body, as SQL parts
              "title_tokens": [search_text(title) for title in TITLES], "body_tokens": search_text(BODY),
              # each comment's text is its case's title and the body (text_norm below)
              "title_terms": [json.dumps(terms_of(title + BODY), ensure_ascii=False) for title in TITLES],
              "tz": TIMEZONE}
    with engine.begin() as db:
        for statement in SEED:
            names = set(re.findall(r"(?<!:):(\w+)", statement))
            db.execute(text(statement), {k: v for k, v in params.items() if k in names})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - start


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed(get: Callable[[], object]) -> float:
    start = time.perf_counter()
    response = get()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.path}: HTTP {response.status_code}")
    return elapsed


def measure(url: str, data_dir: str) -> dict:
    """p50/p95 (ms) of each page: the first request apart, then REQUESTS more."""
    os.environ.update(_env(url, data_dir))
    from dashboard import create_app
    from dashboard.warmup import warm
    from huiying.db import session_scope
    from huiying.users import new_api_token

    started = time.perf_counter()
    app = create_app()
    warm(app)  # as `huiying web` and dashboard.wsgi start it
    client = app.test_client()
    login = client.get("/auth/login")
    client.post("/auth/login", data={"csrf_token": CSRF.search(login.text).group(1),
                                     "username": "admin", "password": ADMIN_PASSWORD})
    with session_scope(url) as session:
        token = new_api_token(session, "admin")
        department = session.execute(text(
            "SELECT id FROM department ORDER BY id LIMIT 1")).scalar_one()
    api = {"Authorization": f"Bearer {token}"}
    anonymous = app.test_client()
    case_ids = iter(range(1, CASES, CASES // (REQUESTS + 1)))
    pages: dict[str, Callable[[], object]] = {
        "baseline_login_page": lambda: anonymous.get("/auth/login"),
        "overview": lambda: client.get("/"),
        "case_list": lambda: client.get("/cases/"),
        "case_list_filtered": lambda: client.get(
            f"/cases/?status=已派单&department={department}&severity=一般&sort=time_left"),
        "case_list_overdue": lambda: client.get("/cases/?due=overdue"),
        "case_list_searched": lambda: client.get("/cases/?q=校车"),
        "case_list_page_500": lambda: client.get("/cases/?page=500"),
        "case_detail": lambda: client.get(f"/cases/{next(case_ids)}"),
        "monthly_report": lambda: client.get("/reports/monthly"),
        "api_cases": lambda: client.get("/api/cases", headers=api),
    }
    results = {}
    for name, get in pages.items():
        first = _timed(get)
        times = [_timed(get) for _ in range(REQUESTS)]
        results[name] = {"first_ms": round(first, 1), "p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(_percentile(times, 0.95), 1)}
    baseline = results["baseline_login_page"]["p95_ms"]
    for figures in results.values():
        figures["p95_ratio_to_baseline"] = round(figures["p95_ms"] / baseline, 1) if baseline else None
    return {"pages": results, "seconds": round(time.perf_counter() - started, 1),
            "web_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def bench_dashboard(machine: dict) -> dict:
    import tempfile

    url = os.environ.get("HUIYING_BENCH_DATABASE_URL", DEFAULT_URL)
    now = datetime.now(UTC)
    seeded_seconds = None if _seeded(url) else round(seed(url, now), 1)
    with tempfile.TemporaryDirectory(prefix="huiying-bench-") as tmp:
        if seeded_seconds is None:
            # Seeded by an older commit: its schema brought up to this one's, as an upgrade would.
            subprocess.run([sys.executable, "-m", "huiying", "db", "upgrade"], env=_env(url, tmp),
                           check=True, capture_output=True)
        measured = measure(url, tmp)
    slow = sorted(name for name, figures in measured["pages"].items()
                  if figures["p95_ms"] > TARGET_P95_MS or figures["first_ms"] > TARGET_P95_MS)
    return {"suite": "dashboard", "comments": CASES * COMMENTS_PER_CASE, "cases": CASES,
            "days": DAYS, "departments": DEPARTMENTS, "requests_per_page": REQUESTS,
            "seed_seconds": seeded_seconds, **measured, "target_p95_ms": TARGET_P95_MS,
            "over_target": slow, **machine}
