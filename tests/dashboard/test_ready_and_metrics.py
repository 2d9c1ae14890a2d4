"""/readyz (database, broker, the scheduler's heartbeat) and /metrics (Prometheus text, read
from the database), on SQLite and PostgreSQL."""

from dataclasses import replace
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from dashboard import create_app
from huiying.db import session_scope
from huiying.heartbeat import SCHEDULER, STALE_AFTER, beat
from huiying.models import Case, Comment, Notification, Source, utcnow
from huiying.users import new_api_token


def scheduler_beat(url, age=timedelta(0)):
    with session_scope(url) as session:
        beat(session, SCHEDULER, now=utcnow() - age)


def test_ready_only_while_the_scheduler_beats(client, database_url):
    never = client.get("/readyz")
    assert never.status_code == 503
    assert never.json["status"] == "not ready" and never.json["scheduler"] == "never started"
    assert never.json["database"] == "ok" and never.json["broker"] == "ok"
    scheduler_beat(database_url)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ready"
    scheduler_beat(database_url, age=STALE_AFTER + timedelta(seconds=5))
    stopped = client.get("/readyz")
    assert stopped.status_code == 503 and stopped.json["scheduler"] == "stopped"


def test_not_ready_without_the_broker(app, database_url):
    scheduler_beat(database_url)
    broken = replace(app.config["HUIYING_SETTINGS"], broker_url="redis://127.0.0.1:1/0")
    response = create_app({"TESTING": True, "HUIYING_SETTINGS": broken}).test_client().get("/readyz")
    assert response.status_code == 503 and response.json["broker"] == "unreachable"
    assert response.json["scheduler"] == "ok"


def families(text: str) -> dict[str, list]:
    """Samples by their name (a counter's carry `_total`); a family without samples, empty."""
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, [])
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def value(found, name, **labels):
    matches = [s.value for s in found[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matches) == 1, f"{name} {labels}: {matches}"
    return matches[0]


def test_metrics_count_what_the_database_holds(client, cases, database_url):
    now = utcnow()
    with session_scope(database_url) as session:
        source = Source(name="metrics-board")
        session.add(source)
        session.flush()
        for n in range(3):  # stored, not analysed yet
            session.add(Comment(source_id=source.id, external_id=f"m{n}", title="t", content_hash=f"m{n}"))
        late = session.get(Case, cases["enrolment"].id)
        late.due_at = now - timedelta(hours=1)
        session.add_all([Notification(key="m-1", kind="alert", recipient="a@x.cn", subject="s", body="b",
                                      status="sent"),
                         Notification(key="m-2", kind="alert", recipient="b@x.cn", subject="s", body="b",
                                      status="failed")])
    with session_scope(database_url) as session:
        stored = session.query(Comment).count()
        processed = session.query(Comment).filter(Comment.processed_at.is_not(None)).count()
        open_cases = session.query(Case).filter(Case.status.not_in(["办结", "不予处理", "合并"])).count()
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    found = families(response.text)
    assert value(found, "huiying_comments_stored_total") == stored
    assert value(found, "huiying_comments_processed_total") == processed == stored - 3
    assert value(found, "huiying_comments_waiting") == 3
    assert value(found, "huiying_cases_open") == open_cases > 0
    assert value(found, "huiying_cases_overdue") == 1
    assert value(found, "huiying_notifications", channel="email", kind="alert", status="sent") == 1
    assert value(found, "huiying_notifications", channel="email", kind="alert", status="failed") == 1
    assert value(found, "huiying_broker_up") == 1
    assert {s.labels["queue"] for s in found["huiying_queue_depth"]} == {"analysis", "crawl", "mail"}
    assert value(found, "huiying_processing_latency_seconds", quantile="0.95") >= 0
    assert found["huiying_scheduler_heartbeat_age_seconds"] == []  # no scheduler ever ran here


def test_metrics_need_loopback_or_an_administrators_token(client, users, database_url):
    remote = {"REMOTE_ADDR": "10.20.30.40"}
    refused = client.get("/metrics", environ_base=remote)
    assert refused.status_code == 401 and "huiying users token" in refused.text
    with session_scope(database_url) as session:
        admin_token = new_api_token(session, "admin")
        department_token = new_api_token(session, "jichu")
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": f"Bearer {department_token}"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
