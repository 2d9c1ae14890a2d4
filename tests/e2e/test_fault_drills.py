"""Fault drills, counted: real worker processes (`python -m huiying worker`), a real Redis,
PostgreSQL and SMTP server, and one part made to fail in the middle of the work.

1. a worker killed (SIGKILL to its process group) with comments in flight;
2. the broker (a private redis-server, nothing on disk) restarted: its queues are lost;
3. the database (a private PostgreSQL cluster) stopped and started again;
4. the SMTP server stopped, then started again on the same port.

After each, everything is counted (`assert_counted`): every stored comment processed exactly
once (processed_at set; exactly one `create` or `merge_comment` event names each comment in a
case, and its case is the comment's), no duplicate case (one case per fingerprint; each
case's heat is its comment count; a text's reposts all in one case, see
tests/core/test_repost_twins.py), no notification lost or doubled; and what /healthz,
/readyz and the logs said during and after the fault.

Size: HUIYING_DRILL_COMMENTS comments per drill (default 400, a few seconds of work each);
docs/operations.md ("Fault drills") has the figures of a 10,000-comment run.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from huiying import settings as settings_module
from huiying.db import engine_for, session_scope
from huiying.models import Department, Notification
from huiying.queue import ANALYSIS, BATCH, enqueue_comments, producer
from tests.conftest import clean_env, empty_database, prepared_in, use_env, wait_until
from tests.e2e.drill_services import PrivatePostgres, PrivateRedis, Process, postgres_bin, store_comments

pytestmark = pytest.mark.integration

COMMENTS = int(os.environ.get("HUIYING_DRILL_COMMENTS", "400"))
SWEEP = "worker.tasks.sweep_unprocessed"
SWEEP_GRACE = 2  # seconds (HUIYING_SWEEP_GRACE): every comment of a drill is older by the sweep
# Long enough for a drill of 10,000 comments on a busy two-core machine; they end much sooner.
WORK_TIMEOUT = 120 + COMMENTS * 0.1


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def processes():
    """Start `huiying` processes; every one still running is ended after the test."""
    started: list[Process] = []

    def start(env, log: Path, *args: str) -> Process:
        process = Process(env, log, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def drill_env(tmp_path: Path, database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    return clean_env(HUIYING_DATA_DIR=str(tmp_path / "data"), HUIYING_DATABASE_URL=database_url,
                     HUIYING_BROKER_URL=broker_url, HUIYING_SECRET_KEY="x" * 32,
                     HUIYING_ADMIN_PASSWORD="admin-password-1",
                     HUIYING_SWEEP_GRACE=str(SWEEP_GRACE), HUIYING_LOG_LEVEL="INFO", **extra)


@pytest.fixture
def shared_database(request, pg_url):
    """The session's PostgreSQL database, migrated; left empty afterwards (also on failure)."""
    request.addfinalizer(lambda: empty_database(pg_url))
    return pg_url


def prepare(env: dict[str, str], monkeypatch) -> settings_module.Settings:
    """Migrate and seed the drill's database (`huiying db upgrade`'s work); this process then
    has the drill's settings (it stores comments and sends tasks as production does)."""
    prepared_in(env)
    use_env(monkeypatch, env)
    return settings_module.load()


def health_client():
    """The dashboard's app on this process's settings: /healthz and /readyz as a load
    balancer asks them."""
    from dashboard import create_app

    return create_app({"TESTING": True}).test_client()


# --- the work -------------------------------------------------------------------------------

def unprocessed(engine, ids: list[int] | None = None) -> set[int]:
    with engine.connect() as db:
        found = set(db.scalars(text("SELECT id FROM comment WHERE processed_at IS NULL")))
    return found if ids is None else found & set(ids)


def processed_count(engine) -> int:
    try:
        with engine.connect() as db:
            return db.scalar(text("SELECT count(*) FROM comment WHERE processed_at IS NOT NULL"))
    except Exception:  # the database of drill 3 is down
        return -1


def wait_all_processed(engine, workers: list[Process], what: str) -> None:
    def done():
        for worker in workers:
            assert worker.running(), f"a worker exited:\n{worker.output()[-4000:]}"
        return not unprocessed(engine)

    wait_until(done, timeout=WORK_TIMEOUT, interval=0.3, message=what)


def send_task(settings, name: str, task_id: str | None = None) -> str:
    """Send a task by name, as the scheduler does (worker/app.py's beat schedule)."""
    return producer(settings).send_task(name, task_id=task_id).id


def message_ids(raw: bytes) -> list[int]:
    """The comment ids a process_comments message in Redis carries: kombu's JSON envelope
    (in the `unacked` hash, [envelope, exchange, routing key]), its body base64-encoded
    [args, kwargs, embed]."""
    message = json.loads(raw)
    if isinstance(message, list):
        message = message[0]
    body = message["body"]
    if message.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body)
    args = json.loads(body)[0]
    return list(args[0]) if args else []


def log_lines(process: Process, pattern: str) -> list[str]:
    return [line for line in process.output().splitlines() if re.search(pattern, line)]


# --- the count ------------------------------------------------------------------------------

def assert_counted(url: str, ids: list[int]) -> dict[str, int]:
    """Every comment of `ids` processed exactly once, no duplicate case, each case's heat its
    comment count; returns the figures."""
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as db:
            comments = db.execute(text(
                "SELECT id, processed_at IS NOT NULL, relevant, analysis_error IS NOT NULL, "
                "case_id, fingerprint FROM comment")).all()
            events = db.execute(text(
                "SELECT case_id, action, data FROM case_event "
                "WHERE action IN ('create', 'merge_comment')")).all()
            cases = db.execute(text('SELECT id, fingerprint, heat, status FROM "case"')).all()
            merged = dict(db.execute(text(
                'SELECT id, merged_into_id FROM "case" WHERE merged_into_id IS NOT NULL')).all())
    finally:
        engine.dispose()
    by_id = {row[0]: row for row in comments}
    assert set(ids) <= set(by_id), "stored comments went missing"
    assert [i for i in ids if not by_id[i][1]] == [], "comments left unprocessed"

    named = Counter()
    event_case: dict[int, set[int]] = {}
    for case_id, _action, data in events:
        data = data if isinstance(data, dict) else json.loads(data)
        named[data["comment_id"]] += 1
        event_case.setdefault(data["comment_id"], set()).add(case_id)
    in_cases = {i for i in ids if by_id[i][4] is not None}

    def carried(case_id: int) -> int:
        """The case a case is now in: near-duplicates two workers opened at the same moment are
        folded, the newer into the older (huiying/cases.py, _fold_concurrent)."""
        while case_id in merged:
            case_id = merged[case_id]
        return case_id

    event_case = {i: {carried(case_id) for case_id in found} for i, found in event_case.items()}
    twice = {i: n for i, n in named.items() if n != 1}
    assert twice == {}, f"comments named by more than one create/merge_comment event: {twice}"
    assert set(named) == in_cases, (
        f"comments in a case without an event: {sorted(in_cases - set(named))[:20]}; "
        f"events naming a comment in no case: {sorted(set(named) - in_cases)[:20]}")
    wrong_case = [i for i in in_cases if event_case[i] != {by_id[i][4]}]
    assert wrong_case == [], f"events naming another case than the comment's: {wrong_case[:20]}"
    relevant = {i for i in ids if by_id[i][2] and not by_id[i][3]}
    assert relevant <= in_cases, f"relevant comments in no case: {sorted(relevant - in_cases)[:20]}"

    fingerprints = Counter(fingerprint for _, fingerprint, _, _ in cases)
    assert [f for f, n in fingerprints.items() if n > 1] == [], "two cases of one fingerprint"
    # The reposts of a text follow it word for word, also where the text joined a case as a
    # near-duplicate (tests/core/test_repost_twins.py): no comment outside the case its text
    # opened (`astray`), no text's comments in several cases (`split`).
    opened_by = {fingerprint: carried(case_id) for case_id, fingerprint, _, _ in cases}
    astray = [i for i in in_cases if by_id[i][5] in opened_by and by_id[i][4] != opened_by[by_id[i][5]]]
    cases_of_text: dict[str, set[int]] = {}
    for i in in_cases:
        cases_of_text.setdefault(by_id[i][5], set()).add(by_id[i][4])
    split = sum(1 for found in cases_of_text.values() if len(found) > 1)
    assert astray == [], f"comments outside the case their text opened: {astray[:20]}"
    assert split == 0, "texts whose comments are in several cases"
    members = Counter(by_id[i][4] for i in in_cases)
    heat = {case_id: (h, members[case_id]) for case_id, _, h, status in cases
            if status != "合并" and h != members[case_id]}
    assert heat == {}, f"cases whose heat is not their comment count (heat, comments): {heat}"
    return {"comments": len(ids), "processed": len(ids), "relevant": len(relevant),
            "in_cases": len(in_cases), "cases": len(cases),
            "folded": len(in_cases) - len(cases), "max_heat": max(members.values(), default=0),
            "texts_in_several_cases": split, "reposts_outside_their_texts_case": len(astray)}


def report(name: str, figures: dict) -> None:
    """The drill's figures on one line (pytest -s shows them; docs/operations.md quotes them)."""
    print(f"\nDRILL {name}: " + json.dumps(figures, ensure_ascii=False))


# --- 1. a worker killed with comments in flight ---------------------------------------------

def test_worker_killed_with_comments_in_flight(request, shared_database, redis_server, processes,
                                               tmp_path, monkeypatch):
    """SIGKILL to a worker's whole process group in the middle of the run: the batches it held
    stay unacknowledged in Redis (redelivered only after the visibility timeout, an hour), a
    new worker takes the rest of the queue, and the sweep re-enqueues what the dead one held."""
    url = shared_database
    env = drill_env(tmp_path, url, redis_server.url)
    settings = prepare(env, monkeypatch)
    engine = create_engine(url, pool_pre_ping=True)
    request.addfinalizer(engine.dispose)
    broker = redis_server.client()
    ids = store_comments(url, COMMENTS)
    enqueue_comments(settings, ids)

    first = processes(env, tmp_path / "worker-1.log", "worker", "--concurrency", "2", "--queues", ANALYSIS)
    wait_until(lambda: processed_count(engine) >= min(BATCH, COMMENTS // 4), timeout=WORK_TIMEOUT,
               interval=0.05, message="the first worker processed nothing")
    first.kill_group(signal.SIGKILL)
    first.popen.wait(timeout=10)
    # Nothing consumes now: what the dead worker held is what is unprocessed and in no queued
    # message (held unacknowledged, or taken off the list and not yet recorded as unacked).
    done_when_killed = processed_count(engine)
    dead = {tag: message_ids(raw) for tag, raw in broker.hgetall("unacked").items()}
    queued = {i for raw in broker.lrange(ANALYSIS, 0, -1) for i in message_ids(raw)}
    in_flight = unprocessed(engine) - queued
    assert done_when_killed < COMMENTS, "the run was over before the kill"
    assert in_flight, "the killed worker held no unfinished batch (killed between commit and ack?)"

    second = processes(env, tmp_path / "worker-2.log", "worker", "--concurrency", "2", "--queues", ANALYSIS)

    def queue_done():
        # The queue is empty, every message left unacknowledged is the dead worker's, and the
        # comments still unprocessed are those it held: no message names them any more.
        assert second.running(), second.output()[-4000:]
        return (broker.llen(ANALYSIS) == 0 and set(broker.hkeys("unacked")) <= set(dead)
                and unprocessed(engine) <= in_flight)

    wait_until(queue_done, timeout=WORK_TIMEOUT, message="the new worker did not take the queue")
    lost = unprocessed(engine)
    assert lost == in_flight, "the new worker processed comments no message named"

    send_task(settings, SWEEP)  # what the scheduler sends every HUIYING_SWEEP_INTERVAL
    wait_all_processed(engine, [second], "the sweep did not recover the killed worker's comments")
    wait_until(lambda: log_lines(second, r"sweep re-enqueued \d+ unprocessed"), timeout=10,
               message="the worker did not log the sweep")
    swept = int(re.search(r"sweep re-enqueued (\d+)", log_lines(second, "sweep re-enqueued")[0]).group(1))
    assert swept == len(lost)
    figures = assert_counted(url, ids)
    with health_client() as client:
        health = client.get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "ok", health.json
    report("worker kill -9", {**figures, "processed_when_killed": done_when_killed,
                              "messages_unacked_by_killed_worker": len(dead),
                              "comments_lost_in_flight": len(lost), "swept": swept})


# --- 2. the broker restarted ----------------------------------------------------------------

def test_redis_restarted_mid_run(request, shared_database, redis_server, processes, tmp_path,
                                 monkeypatch):
    """The private redis-server killed in the middle of the run and started again empty (it
    keeps nothing on disk: every queued message is lost). The worker and the scheduler
    reconnect; the scheduler's sweep (every 5 s here) re-enqueues what was lost."""
    url = shared_database
    env = drill_env(tmp_path, url, redis_server.url, HUIYING_SWEEP_INTERVAL="5")
    settings = prepare(env, monkeypatch)
    engine = create_engine(url, pool_pre_ping=True)
    request.addfinalizer(engine.dispose)
    ids = store_comments(url, COMMENTS)
    enqueue_comments(settings, ids)
    # One process: when its first batch is done, the second is in its hands and the rest queued.
    worker = processes(env, tmp_path / "worker.log", "worker", "--concurrency", "1", "--queues", ANALYSIS)
    scheduler = processes(env, tmp_path / "scheduler.log", "scheduler")
    client = health_client()

    def ready():
        response = client.get("/readyz")
        return response if response.status_code == 200 else None

    before = wait_until(ready, timeout=60, message="/readyz never ready (is the scheduler beating?)")
    assert before.json["broker"] == "ok"
    wait_until(lambda: processed_count(engine) >= 1, timeout=WORK_TIMEOUT,
               interval=0.05, message="the worker processed nothing")
    queued_at_restart = redis_server.client().llen(ANALYSIS)
    redis_server.stop()
    processed_at_restart = processed_count(engine)

    during = client.get("/readyz")
    assert during.status_code == 503, during.json
    assert during.json["broker"] == "unreachable" and during.json["database"] == "ok"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["broker"] == "unreachable"
    wait_until(lambda: log_lines(worker, "Connection to broker lost"), timeout=30,
               message="the worker did not notice the broker was gone")

    redis_server.start()  # the same port, empty
    wait_until(lambda: len(log_lines(worker, r"Connected to redis://")) >= 2, timeout=60,
               message="the worker did not reconnect to the broker")
    wait_all_processed(engine, [worker], "the sweep did not recover the lost queue")
    after = wait_until(ready, timeout=30, message="/readyz not ready again after the restart")
    assert after.json["broker"] == "ok"
    figures = assert_counted(url, ids)
    swept = sum(int(n) for line in log_lines(worker, r"sweep re-enqueued \d+")
                for n in re.findall(r"sweep re-enqueued (\d+)", line))
    if COMMENTS >= 4 * BATCH:  # two batches or more were still queued when Redis went
        assert swept > 0, "nothing was swept: the restart lost no message?"
    assert scheduler.running(), scheduler.output()[-4000:]
    report("redis restart", {**figures, "processed_at_restart": processed_at_restart,
                             "messages_queued_at_restart": queued_at_restart,
                             "swept_total": swept,
                             "readyz_during": [during.status_code, during.json["broker"]],
                             "readyz_after": [after.status_code, after.json["broker"]]})


# --- 3. the database restarted --------------------------------------------------------------

@pytest.fixture
def private_postgres():
    if postgres_bin() is None:
        pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl)")
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def test_postgresql_restarted_mid_run(private_postgres, redis_server, processes, tmp_path, monkeypatch):
    """A private PostgreSQL cluster stopped (`pg_ctl stop -m fast`: every session ended, open
    transactions rolled back) in the middle of the run, kept down a few seconds, started again.
    The tasks that meet the outage retry (autoretry on OperationalError, with backoff); the
    sweep re-enqueues any batch whose retries ran out."""
    private_postgres.create_database("huiying_drill")
    url = private_postgres.url("huiying_drill")
    env = drill_env(tmp_path, url, redis_server.url)
    settings = prepare(env, monkeypatch)
    engine = create_engine(url, pool_pre_ping=True)
    ids = store_comments(url, COMMENTS)
    enqueue_comments(settings, ids)
    worker = processes(env, tmp_path / "worker.log", "worker", "--concurrency", "2", "--queues", ANALYSIS)
    client = health_client()
    try:
        wait_until(lambda: processed_count(engine) >= min(BATCH, COMMENTS // 4), timeout=WORK_TIMEOUT,
                   interval=0.05, message="the worker processed nothing")
        processed_at_stop = processed_count(engine)
        private_postgres.stop("fast")
        stopped = time.monotonic()
        during = client.get("/healthz")
        assert during.status_code == 503 and during.json["database"] == "unreachable", during.json
        assert during.json["broker"] == "ok"
        wait_until(lambda: log_lines(worker, r"[Rr]etry.*OperationalError"), timeout=30,
                   message="no task met the outage")
        time.sleep(max(0.0, 3 - (time.monotonic() - stopped)))  # down for 3 s at least
        private_postgres.start()
        down_seconds = round(time.monotonic() - stopped, 1)
        wait_until(lambda: client.get("/healthz").status_code == 200, timeout=30,
                   message="/healthz not ok after the database came back")
        send_task(settings, SWEEP)  # what the scheduler sends every HUIYING_SWEEP_INTERVAL
        wait_all_processed(engine, [worker], "comments left unprocessed after the database came back")
        figures = assert_counted(url, ids)
    finally:
        engine.dispose()
        engine_for(url).dispose()
    retries = log_lines(worker, r"[Rr]etry.*OperationalError")
    gave_up = log_lines(worker, r"process_comments\[.*\] raised unexpected: OperationalError")
    swept = sum(int(n) for line in log_lines(worker, r"sweep re-enqueued \d+")
                for n in re.findall(r"sweep re-enqueued (\d+)", line))
    report("postgresql restart", {**figures, "processed_at_stop": processed_at_stop,
                                  "down_seconds": down_seconds, "task_retries": len(retries),
                                  "tasks_out_of_retries": len(gave_up), "swept": swept,
                                  "healthz_during": [during.status_code, during.json["database"]]})


# --- 4. the SMTP server down, then up -------------------------------------------------------

class SMTPServer:
    """aiosmtpd on a fixed port, stopped and started again with the same mailbox."""

    def __init__(self, mailbox) -> None:
        from tests.conftest import free_port

        self.mailbox = mailbox
        self.port = free_port()
        self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    from tests.conftest import Mailbox

    server = SMTPServer(Mailbox())
    server.start()
    yield server
    server.stop()


def email_rows(url: str) -> list[Notification]:
    with session_scope(url) as session:
        rows = list(session.scalars(select(Notification).where(Notification.channel == "email")
                                    .order_by(Notification.id)))
        session.expunge_all()
    return rows


def test_smtp_down_then_up(shared_database, redis_server, smtp, processes, tmp_path, monkeypatch):
    """Assignment emails from a worker on the mail queue; the SMTP server stopped between two
    rounds of work and started again on the same port: each notification row is sent once, the
    server receives each message once, none is lost."""
    url = shared_database
    env = drill_env(tmp_path, url, redis_server.url, HUIYING_SMTP_HOST="127.0.0.1",
                    HUIYING_SMTP_PORT=str(smtp.port), HUIYING_SMTP_FROM="yq@edu.example.cn",
                    HUIYING_BASE_URL="https://yq.edu.example.cn")
    settings = prepare(env, monkeypatch)
    with session_scope(url) as session:  # every department has an address: each assignment mails
        for department in session.scalars(select(Department)):
            department.email = f"dept{department.id}@edu.example.cn"
    engine = create_engine(url, pool_pre_ping=True)
    analysis = processes(env, tmp_path / "worker-analysis.log", "worker", "--concurrency", "1",
                         "--queues", ANALYSIS)
    mail = processes(env, tmp_path / "worker-mail.log", "worker", "--concurrency", "1", "--queues", "mail")
    sends = iter(range(1, 10_000))

    def send_round() -> None:
        """send_notifications as the scheduler sends it every minute; waits until it ran."""
        task_id = f"drill-send-{next(sends)}"
        send_task(settings, "worker.tasks.send_notifications", task_id=task_id)
        wait_until(lambda: log_lines(mail, rf"\[{task_id}\] succeeded"), timeout=60,
                   message=f"the mail worker did not run {task_id}")

    def rows_where(predicate) -> list[Notification]:
        return [row for row in email_rows(url) if predicate(row)]

    try:
        # Round 1, server up: the first half's cases are assigned and mailed.
        half = COMMENTS // 2
        first_ids = store_comments(url, half)
        enqueue_comments(settings, first_ids)
        wait_all_processed(engine, [analysis], "the first half was not processed")
        send_task(settings, "worker.tasks.scan_notifications")  # it asks for the sending at once
        wait_until(lambda: rows_where(lambda r: r.status == "sent"), timeout=60,
                   message="round 1's notifications were not sent")
        while rows_where(lambda r: r.status == "pending"):
            send_round()  # a run sends up to 200 rows (huiying/notify/sending.py, SEND_BATCH)
        assert {row.status for row in email_rows(url)} == {"sent"}
        round_1 = {row.key for row in email_rows(url)}
        assert len(smtp.mailbox.messages) == len(round_1)

        # Round 2, server down: the rows back off, marked as an outage.
        smtp.stop()
        second_ids = store_comments(url, COMMENTS - half, first=half)
        enqueue_comments(settings, second_ids)
        wait_all_processed(engine, [analysis], "the second half was not processed")
        send_task(settings, "worker.tasks.scan_notifications")
        wait_until(lambda: len(email_rows(url)) > len(round_1), timeout=60,
                   message="round 2 made no notification")
        while rows_where(lambda r: r.key not in round_1 and r.attempts == 0):
            send_round()  # each run marks up to 200 due rows of the unreachable server
        waiting = rows_where(lambda r: r.key not in round_1)
        assert {(r.status, r.attempts, r.outage) for r in waiting} == {("pending", 1, True)}
        assert all(r.last_error for r in waiting)
        with health_client() as client:
            health = client.get("/healthz").json
        assert health["pending_notifications"] == len(waiting) and health["failed_notifications"] == 0
        send_round()  # still down: the probe fails, no row counts another attempt
        still = rows_where(lambda r: r.key not in round_1)
        assert {(r.status, r.attempts) for r in still} == {("pending", 1)}
        assert len(smtp.mailbox.messages) == len(round_1)

        # The server back on the same port: the next run's probe releases the rows at once.
        smtp.start()
        while rows_where(lambda r: r.status == "pending"):
            send_round()
    finally:
        engine.dispose()

    rows = email_rows(url)
    assert {row.status for row in rows} == {"sent"}
    assert {row.key: row.attempts for row in rows} == {
        row.key: 1 if row.key in round_1 else 2 for row in rows}
    received = Counter(message["X-Huiying-Key"] for message in smtp.mailbox.messages)
    assert received == Counter({row.key: 1 for row in rows}), "a notification lost or doubled"
    assert len(smtp.mailbox.messages) == len(rows)
    by_key = {row.key: row.recipient for row in rows}
    assert all(message["To"] == by_key[message["X-Huiying-Key"]] for message in smtp.mailbox.messages)
    warned = log_lines(mail, r"failed \(attempt 1\), retrying at")
    assert len(warned) == len(waiting)
    figures = assert_counted(url, first_ids + second_ids)
    report("smtp down/up", {**figures, "notifications": len(rows), "sent_before_outage": len(round_1),
                            "waited_out_outage": len(waiting), "smtp_received": len(smtp.mailbox.messages),
                            "duplicates": sum(n - 1 for n in received.values())})
