"""The `huiying` command: the one place that wires crawler, worker and dashboard together.

Errors a user can fix are printed as one sentence on stderr with exit status 2.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

import click

from huiying import __version__
from huiying import settings as settings_module
from huiying.cli.calendar import calendar
from huiying.cli.clock import clock
from huiying.cli.export import export, report
from huiying.cli.imports import import_command
from huiying.errors import HuiyingError
from huiying.settings import Settings

log = logging.getLogger("huiying")


def _only_problems_from_libraries(record: logging.LogRecord) -> bool:
    # Scrapy re-enables its own DEBUG logging on every crawl; the service log wants
    # their warnings and errors only.
    noisy = record.name.split(".", 1)[0] in ("scrapy", "twisted", "alembic", "py")
    return not noisy or record.levelno >= logging.WARNING


def _database() -> Settings:
    """Settings of a command that uses the database: reachable and at the current schema."""
    from huiying.db import check_reachable
    from huiying.migrate import check_current

    settings = _settings()
    check_reachable(settings.database_url)
    check_current(settings.database_url)
    return settings


def _settings() -> Settings:
    settings = settings_module.load()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_only_problems_from_libraries)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="huiying")
def cli() -> None:
    """Huiying (回应): public-opinion monitoring and response."""
    settings_module.warn_unknown_variables()


# --- database and users -------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from huiying.bootstrap import prepare

    settings = _settings()
    password = prepare(settings)
    click.echo(f"database is up to date: {settings_module.mask_url(settings.database_url)}")
    _print_admin_password(password)


def _print_admin_password(password: str | None) -> None:
    # A message for the person, on stderr: stdout carries only the result (`--json` output).
    if password:
        click.echo(f"First administrator created: user 'admin', password '{password}' "
                   "(shown only this once; change it after logging in, at /auth/password).", err=True)


@cli.group()
def users() -> None:
    """Accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "press", "department", "leader"]))
@click.option("--department", help="Department name, for role 'department'.")
@click.option("--email")
def users_add(username: str, role: str, department: str | None, email: str | None) -> None:
    """Create a user; the password comes from HUIYING_NEW_PASSWORD or a prompt."""
    from huiying.db import session_scope
    from huiying.users import create_user

    settings = _database()
    password = os.environ.get("HUIYING_NEW_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    with session_scope(settings.database_url) as session:
        create_user(session, username, password, role, department, email)
    click.echo(f"user {username!r} created with role {role}")


@users.command("passwd")
@click.argument("username")
def users_passwd(username: str) -> None:
    """Set a user's password; it comes from HUIYING_NEW_PASSWORD or a prompt."""
    from huiying.db import session_scope
    from huiying.users import set_password_by_name

    settings = _database()
    password = os.environ.get("HUIYING_NEW_PASSWORD") or click.prompt(
        "New password", hide_input=True, confirmation_prompt=True)
    with session_scope(settings.database_url) as session:
        set_password_by_name(session, username, password)
    click.echo(f"password of {username!r} changed; their open sessions have ended")


@users.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Revoke the user's token instead of making a new one.")
def users_token(username: str, revoke: bool) -> None:
    """Print a new API token (Authorization: Bearer …); the old one stops working."""
    from huiying.db import session_scope
    from huiying.users import new_api_token, revoke_api_token

    settings = _database()
    with session_scope(settings.database_url) as session:
        if not revoke:
            click.echo(new_api_token(session, username))
        elif revoke_api_token(session, username):
            click.echo(f"the API token of {username!r} is revoked")
        else:
            click.echo(f"{username!r} had no API token")


# --- sources and crawling -----------------------------------------------------------------

@cli.group()
def sources() -> None:
    """Source configurations."""


@sources.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object: {"items": N, "first": [{"external_id", "title"}…]}.')
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Stop after this many comments (a quick check of the selectors).")
def sources_check(file: Path, as_json: bool, limit: int | None) -> None:
    """Validate a source config and show what its first page yields (of each keyword)."""
    from crawler.run import crawl_to_items
    from huiying.sources import load_file

    config = load_file(file)
    first_page = replace(config, max_pages=1)
    overrides = _crawler_overrides()
    if limit:
        overrides["CLOSESPIDER_ITEMCOUNT"] = limit
    crawled = crawl_to_items(first_page, overrides)
    items = crawled.items[:limit]
    if as_json:
        first = [{"external_id": i["external_id"], "title": i["title"][:100]} for i in items[:5]]
        click.echo(json.dumps({"items": len(items), "first": first, "errors": crawled.errors},
                              ensure_ascii=False))
        return
    page = {"board": "list page", "feed": "feed page", "json_api": "API page", "forum": "thread list page",
            "search": "results page of each keyword"}.get(config.kind, "page")
    click.echo(f"{file}: valid; the first {page} yields {len(items)} comments")
    for item in items[:5]:
        click.echo(f"  [{item['external_id']}] {item['title'][:60]}")
    _summarise_errors(config.name, crawled.errors)


@sources.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per source, a list.")
def sources_status(as_json: bool) -> None:
    """Crawl health per source: last run, pages, comments, errors, duration, incident."""
    from huiying.crawl_health import health
    from huiying.db import session_scope

    settings = _database()
    with session_scope(settings.database_url) as session:
        found = health(session)
    if as_json:
        click.echo(json.dumps([source.as_dict() for source in found], ensure_ascii=False))
        return
    if not found:
        click.echo("no crawled sources yet (see docs/sources.md)")
    for source in found:
        if source.last_started_at is None:
            click.echo(f"{source.name}: never crawled")
            continue
        state = f"INCIDENT since {source.incident.since:%Y-%m-%d %H:%M} UTC: {source.incident.kind}" \
            if source.incident else ("ok" if source.enabled else "disabled")
        click.echo(f"{source.name}: {state}; last run {source.last_started_at:%Y-%m-%d %H:%M} UTC, "
                   f"{source.last_seconds} s, {source.last_pages} pages, {source.last_items} comments "
                   f"({source.last_new} new), {source.last_errors} errors; {source.runs} runs, "
                   f"{source.errors_total} errors recorded")


def _crawler_overrides(settings: Settings | None = None) -> dict:
    """Scrapy settings from the installation's: the download timeout and the User-Agent's
    contact (read alone when the command needs no database)."""
    from crawler.settings import user_agent
    from huiying.settings import load_crawl_contact

    if settings is None:
        return {"USER_AGENT": user_agent(load_crawl_contact())}
    return {"USER_AGENT": user_agent(settings.crawl_contact),
            "DOWNLOAD_TIMEOUT": settings.crawl_timeout_seconds}


def _unthrottled(configs) -> dict:
    from crawler.settings import unthrottled

    try:
        return unthrottled([url for config in configs for url in config.start_urls])
    except ValueError as exc:
        raise HuiyingError(f"--bench-unthrottled: {exc}.") from exc


ERRORS_SHOWN = 10


def _summarise_errors(source: str, errors: list[str]) -> None:
    """Page errors on stderr: how many, and the first few with their URL and reason."""
    if not errors:
        return
    click.echo(f"{source}: {len(errors)} page error(s):", err=True)
    for line in errors[:ERRORS_SHOWN]:
        click.echo(f"  {line}", err=True)
    if len(errors) > ERRORS_SHOWN:
        click.echo(f"  … and {len(errors) - ERRORS_SHOWN} more (all are in the crawl_error table "
                   "when the crawl stores)", err=True)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--source-file", type=click.Path(path_type=Path),
              help="Crawl this config without storing anything.")
@click.option("--output", type=click.Path(path_type=Path), help="JSONL file for --source-file.")
# A worker's crawl_source task has claimed the source already (huiying.sources.claim_crawl).
@click.option("--claimed-at", hidden=True, default=None)
@click.option("--follow", is_flag=True,
              help="Keep following the sources (default: those with follow_seconds) until stopped, "
                   "re-reading their start pages every follow_seconds (default 5).")
# `huiying bench crawl` and `bench pipeline` only: politeness off
# (crawler.settings.BENCH_UNTHROTTLED), loopback only.
@click.option("--bench-unthrottled", is_flag=True, hidden=True)
def crawl(names: tuple[str, ...], source_file: Path | None, output: Path | None,
          claimed_at: str | None, follow: bool, bench_unthrottled: bool) -> None:
    """Crawl the named sources (default: all enabled) once, or follow them, store and enqueue."""
    if source_file and follow:
        raise HuiyingError("--follow stores what it reads; it cannot be used with --source-file.")
    if source_file:
        from crawler.run import crawl_to_items
        from huiying.sources import load_file

        config = load_file(source_file)
        crawled = crawl_to_items(config, _crawler_overrides())
        lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in crawled.items)
        if output:
            output.write_text(lines, encoding="utf-8")
        else:
            sys.stdout.write(lines)
        click.echo(f"{len(crawled.items)} comments", err=True)
        _summarise_errors(config.name, crawled.errors)
        return
    from crawler.run import crawl as run_crawl
    from huiying.cli.runner import claimed_crawls, enabled_configs, sync_sources
    from huiying.queue import check_broker, enqueue_comments

    settings = _database()
    sync_sources(settings)
    configs = enabled_configs(settings, names)
    if follow and not names:
        configs = _followed(configs)
    check_broker(settings)
    overrides = _crawler_overrides(settings)
    if bench_unthrottled:
        overrides.update(_unthrottled(configs))
    enqueue = functools.partial(enqueue_comments, settings)
    if follow:
        stats = _follow(settings, configs, enqueue, overrides)
    else:
        with claimed_crawls(settings, configs, claimed_at) as mine:
            stats = run_crawl(mine, settings.database_url, enqueue=enqueue,
                              settings=overrides) if mine else {}
    click.echo(json.dumps({name: s.__dict__ for name, s in stats.items()}, ensure_ascii=False))
    for name, source_stats in stats.items():
        _summarise_errors(name, source_stats.errors)


def _followed(configs) -> list:
    chosen = [config for config in configs if config.follow_seconds]
    if not chosen:
        raise HuiyingError("--follow: no enabled source sets follow_seconds; name the sources to "
                           "follow, or set follow_seconds in their files (docs/sources.md).")
    return chosen


def _follow(settings: Settings, configs, enqueue, overrides: dict) -> dict:
    """Follow the sources until SIGTERM or Ctrl-C, holding (and renewing) their claims; every
    page is read again each crawl interval, as a periodic crawl would."""
    from crawler.run import Following, crawl
    from huiying.cli.runner import followed_crawls
    from huiying.sources import CLAIM_RENEW_EVERY

    with followed_crawls(settings, configs) as keep:
        return crawl(configs, settings.database_url, enqueue=enqueue, settings=overrides,
                     following=Following(full_seconds=settings.crawl_interval_minutes * 60.0, keep=keep,
                                         keep_seconds=CLAIM_RENEW_EVERY.total_seconds()))


# --- processes ----------------------------------------------------------------------------

@cli.command()
@click.option("--host", default=None, help="Address to listen on (default HUIYING_WEB_HOST).")
@click.option("--port", default=None, type=int, help="Port (default HUIYING_WEB_PORT).")
def web(host: str | None, port: int | None) -> None:
    """Serve the dashboard."""
    from waitress import serve

    from dashboard import create_app

    settings = _database()
    host, port = host or settings.web_host, port or settings.web_port
    click.echo(f"dashboard: http://{host}:{port}/")
    if settings.production and not settings.https:
        click.echo(f"note: HUIYING_BASE_URL is {settings.base_url}: session cookies are sent over plain "
                   "HTTP; set an https:// address once the site is served over HTTPS.", err=True)
    from dashboard.warmup import warm

    app = create_app()
    warm(app)
    # Behind the nginx of deploy/: trust its X-Forwarded-* headers from loopback only.
    serve(app, host=host, port=port, threads=8, ident="huiying",
          trusted_proxy="127.0.0.1", trusted_proxy_count=1,
          trusted_proxy_headers="x-forwarded-for x-forwarded-proto x-forwarded-host",
          clear_untrusted_proxy_headers=True)


@cli.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option("--queues", "queue_names", default="analysis,crawl,mail", show_default=True,
              help="Queues to consume: analysis (comments, sweeps), crawl, mail (notifications).")
def worker(concurrency: int, queue_names: str) -> None:
    """Run a Celery worker on some or all of the queues (docs/operations.md)."""
    from huiying.queue import ANALYSIS, check_broker, parse_queues

    queues = parse_queues(queue_names)
    settings = _database()
    check_broker(settings)
    import worker.app
    from worker.app import app

    worker.app.WARM_SEGMENTER = ANALYSIS in queues  # processing counts the hot-word terms
    if worker.app.WARM_SEGMENTER:
        worker.app.warm_up_analysis()  # once, before the pool forks
    argv = ["worker", f"--loglevel={settings.log_level}", f"--concurrency={concurrency}",
            f"--queues={','.join(queues)}", f"--hostname={'+'.join(queues)}@%h"]
    # No gossip or mingle: nothing here revokes tasks or reads worker events, and mingle holds
    # each start about a second waiting for other workers' replies.
    argv += ["--without-gossip", "--without-mingle"]
    if settings.broker_url.startswith("filesystem"):
        argv += ["--without-heartbeat"]
    app.worker_main(argv)


@cli.command()
def scheduler() -> None:
    """Run the one periodic scheduler (celery beat). A second one stands by until the first stops."""
    from huiying.queue import check_broker
    from huiying.scheduler_lock import SchedulerLock

    settings = _settings()
    check_broker(settings)
    # Exactly one beat per installation, however many hosts start one (huiying/scheduler_lock.py).
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
    lock = SchedulerLock(settings.database_url, settings.data_dir)
    lock.wait()
    lock.watch()
    logging.getLogger("huiying.scheduler").info("scheduler lock taken; starting celery beat")
    from worker.app import app

    app.start(["beat", f"--loglevel={settings.log_level}", "--scheduler=worker.beat:HeartbeatScheduler",
               f"--schedule={settings.data_dir / 'celerybeat-schedule'}"])
    if lock.lost:  # not a clean stop: a service manager restarts it, and it stands by or takes over
        click.echo("scheduler stopped: it lost the scheduler lock (its database connection); "
                   "start it again to stand by or take over.", err=True)
        sys.exit(3)


@cli.command()
@click.option("--once", is_flag=True, help="Crawl every enabled source once, process all, exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the summary as JSON.")
def run(once: bool, as_json: bool) -> None:
    """Start everything (web, worker, scheduler, crawls) on the configured settings."""
    from huiying.bootstrap import prepare

    settings = _settings()
    password = prepare(settings)
    if once:
        from huiying.cli.runner import run_once

        _emit(run_once(settings), as_json)
        _print_admin_password(password)
        return
    from huiying.cli.runner import supervise
    from huiying.queue import check_broker

    check_broker(settings)
    supervise(settings, password)


# --- analysis -----------------------------------------------------------------------------

@cli.command()
@click.option("--engine", default=None, help="Sentiment engine (default HUIYING_SENTIMENT_ENGINE).")
def analyze(engine: str | None) -> None:
    """JSONL {"id", "text"} on stdin → JSONL analysis on stdout, in batches."""
    from huiying.cases import enabled_topics, routing_rules
    from huiying.db import session_scope
    from huiying.errors import InputError

    settings = _database()
    with session_scope(settings.database_url) as session:
        rules = routing_rules(session)
        topics = enabled_topics(session)
    engine = engine or settings.sentiment_engine
    batch: list[tuple[object, str]] = []
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            batch.append((record.get("id"), str(record["text"])))
        except (json.JSONDecodeError, KeyError, AttributeError):
            raise InputError(f"line {number} of the input is not a JSON object with a "
                             '"text" field.') from None
        if len(batch) >= ANALYZE_BATCH:
            _analyze_batch(batch, rules, engine, topics)
            batch = []
    _analyze_batch(batch, rules, engine, topics)


ANALYZE_BATCH = 1000


def _analyze_batch(batch: list[tuple[object, str]], rules, engine: str, topics) -> None:
    from analysis import analyse_many
    from huiying.errors import InputError

    try:
        results = analyse_many([text for _, text in batch], rules=rules, engine=engine,
                               topics=topics)
    except ValueError as exc:  # an unknown engine name
        raise InputError(str(exc)) from None
    for (ident, _), result in zip(batch, results, strict=True):
        out = {"id": ident, "sentiment": result.sentiment, "label": result.label,
               "relevance": result.relevance, "topic": result.topic,
               "department": result.department, "severity": result.severity,
               "model_version": result.model_version}
        if result.error:
            out["error"] = result.error
        click.echo(json.dumps(out, ensure_ascii=False))


@cli.group(invoke_without_command=True)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366),
              help="Length of the period in local days, ending today.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def hotwords(ctx: click.Context, days: int, top: int, as_json: bool) -> None:
    """Hot words of the last days among relevant comments (舆情热词), from the terms the
    worker counted; `huiying hotwords rebuild` counts every stored comment again."""
    if ctx.invoked_subcommand is not None:
        return
    from huiying.db import session_scope
    from huiying.models import utcnow
    from huiying.trends import hot_words_of_period

    settings = _database()
    with session_scope(settings.database_url) as session:
        result = hot_words_of_period(session, utcnow(), days=days, top_k=top, tz=settings.timezone)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"{result['comments']} comments in the last {days} days "
               f"(against {result['background_comments']} before):")
    for rank, item in enumerate(result["words"], 1):
        click.echo(f"{rank:>3}. {item['word']}  {item['score']}")


@hotwords.command("rebuild")
def hotwords_rebuild() -> None:
    """Count the hot-word terms of every stored comment again (after an upgrade, a change of
    HUIYING_TIMEZONE or of the user dictionary); workers may go on meanwhile. Prints the
    counts as one JSON object; progress on stderr."""
    from huiying.bootstrap import stderr_progress
    from huiying.db import session_scope
    from huiying.hot_terms import rebuild

    settings = _database()
    with session_scope(settings.database_url) as session:
        result = rebuild(session, settings.timezone, progress=stderr_progress())
    click.echo(json.dumps(result, ensure_ascii=False))


@cli.group()
def topics() -> None:
    """The topic taxonomy (edited at /admin/topics)."""


@topics.command("reclassify")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def topics_reclassify(as_json: bool) -> None:
    """Give stored comments and their cases the topics of the current taxonomy (what the
    dashboard asks a worker to do after a topic edit); topics people corrected are kept.
    Comments a new topic word makes relevant are analysed again here and become cases."""
    from huiying.cases import installation_relevance, installation_router, process_comments, unprocessed_ids
    from huiying.db import session_scope
    from huiying.topics import reclassify_topics

    settings = _database()
    with session_scope(settings.database_url) as session:
        summary = reclassify_topics(session, router=installation_router(settings.data_dir))
        if summary["comments_reanalysed"]:
            process_comments(session, unprocessed_ids(session), engine=settings.sentiment_engine,
                             router=installation_router(settings.data_dir),
                             relevance=installation_relevance(settings.data_dir), tz=settings.timezone)
    _emit(summary, as_json)


@cli.group()
def notify() -> None:
    """Notifications (email, group robots, in-app): assignments, alerts, reminders, 催办, briefings."""


@notify.command("run")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def notify_run(as_json: bool) -> None:
    """Scan for what must be told and send what is due, once (what the worker does every minute):
    rows created per kind, then sent, retrying, failed, and still pending."""
    from huiying.db import session_scope
    from huiying.notify import counts, scan, send_pending

    settings = _database()
    with session_scope(settings.database_url) as session:
        summary = {**scan(session, settings), **send_pending(session, settings)}
        summary["pending"] = counts(session)["pending"]
    _emit(summary, as_json)


@notify.command("retry")
@click.option("--failed", "include_failed", is_flag=True,
              help="Also send again the rows that failed for good (after six attempts or a refusal).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def notify_retry(include_failed: bool, as_json: bool) -> None:
    """Send the waiting notifications now instead of after their backoff (e.g. after fixing SMTP):
    rows released, then sent, retrying, failed, and still pending."""
    from huiying.db import session_scope
    from huiying.models import utcnow
    from huiying.notify import counts, release, send_pending

    settings = _database()
    now = utcnow()
    with session_scope(settings.database_url) as session:
        released = release(session, now, include_failed=include_failed)
        summary = {f"released_{kind}": n for kind, n in released.items()}
        session.commit()
        summary.update(send_pending(session, settings, now=now))
        summary["pending"] = counts(session)["pending"]
    _emit(summary, as_json)


@notify.command("test")
@click.argument("email")
def notify_test(email: str) -> None:
    """Send one test email to EMAIL now, to check the HUIYING_SMTP_* settings."""
    from huiying.notify import send_test

    settings = _settings()
    send_test(settings, email)
    click.echo(f"test email sent to {email} via {settings.smtp_host}:{settings.smtp_port}")


@cli.group()
def model() -> None:
    """Train and evaluate the models analysis uses."""


@model.group("train")
def model_train() -> None:
    """Train a model from labelled CSV files."""


@model.group("eval")
def model_eval() -> None:
    """Evaluate a model on a labelled CSV file; print JSON metrics."""


def _data_files(paths: tuple[Path, ...]) -> list[str]:
    from huiying.errors import InputError

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InputError(f"no such data file: {', '.join(missing)}.")
    return [str(p) for p in paths]


def _user_input_errors(fn, *args, **kwargs):
    """Bad CSV content (wrong columns, bad labels) is the user's to fix: one sentence."""
    from huiying.errors import InputError

    try:
        return fn(*args, **kwargs)
    except SystemExit as exc:  # analysis' own command lines exit with a message
        raise InputError(str(exc.code)) from None
    except KeyError as exc:
        raise InputError(f"a column is missing: {exc.args[0]}.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(str(exc)) from None


@model_train.command("sentiment")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(path_type=Path),
              help="CSV with text,label columns (1 positive, 0 negative); repeat for more.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Model folder (default: the shipped model, analysis/models/sentiment).")
@click.option("--seed", default=13, show_default=True)
@click.option("--cv", is_flag=True, help="Also run 5-fold cross-validation and store the figures.")
@click.option("--with-labels", is_flag=True,
              help="Also train on the sentiment corrections made in the dashboard "
                   "(positive 1, negative 0, neutral skipped).")
def model_train_sentiment(data: tuple[Path, ...], out: Path | None, seed: int, cv: bool,
                          with_labels: bool) -> None:
    """Rebuild the default sentiment model (same data and seed → the same files)."""
    import importlib.util
    import tempfile

    from analysis.sentiment import MODEL_DIR
    from huiying.cases import sentiment_corrections
    from huiying.errors import InputError

    if importlib.util.find_spec("sklearn") is None:
        raise InputError("training the sentiment model needs scikit-learn; install it with "
                         "`pip install 'huiying[train]'` (make test installs it too).")
    from analysis.sentiment_train import cross_validate, train

    paths = _data_files(data)
    with tempfile.TemporaryDirectory(prefix="huiying-labels-") as tmp:
        rows = _dashboard_labels(sentiment_corrections) if with_labels else []
        if rows:
            # One more data file, so the trainer needs to know nothing about the database.
            paths.append(_write_labels_csv(Path(tmp) / LABELS_CSV, rows))
        figures = _user_input_errors(cross_validate, paths, seed=seed) if cv else None
        meta = _user_input_errors(train, paths, seed=seed, out_dir=out or MODEL_DIR, cv=figures)
    click.echo(json.dumps({**meta, "labels_included": len(rows)}, ensure_ascii=False))


# The name the labels file has in the model's training_data list.
LABELS_CSV = "dashboard-labels.csv"


def _dashboard_labels(corrections) -> list:
    """The rows a huiying.cases `…_corrections` function finds: what people corrected."""
    from huiying.db import session_scope

    settings = _database()
    with session_scope(settings.database_url) as session:
        return corrections(session)


def _write_labels_csv(path: Path, rows: list[tuple[str, int]]) -> str:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


@model_eval.command("sentiment")
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="CSV with text,label columns.")
@click.option("--engine", default="default", show_default=True, help="default or snownlp.")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of a default-engine model (default: the shipped one).")
def model_eval_sentiment(data: Path, engine: str, model_dir: Path | None) -> None:
    """Print {"engine", "accuracy", "n", "texts_per_s"}."""
    from analysis.sentiment import NgramSentiment, get_engine
    from analysis.sentiment_train import evaluate
    from huiying.errors import InputError

    (path,) = _data_files((data,))
    try:
        chosen = NgramSentiment.load(model_dir) if model_dir else get_engine(engine)
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    click.echo(json.dumps(_user_input_errors(evaluate, chosen, path), ensure_ascii=False))


@model_train.command("router")
@click.option("--data", "data", multiple=True, type=click.Path(path_type=Path),
              help="CSV of past messages with their department; repeat for more.")
@click.option("--text-col", "text_cols", multiple=True,
              help="Text column; 'title+body' joins columns; one for all files or one per file.")
@click.option("--label-col", help="Department (label) column.")
@click.option("--from-history", is_flag=True,
              help="Train on this installation's own cases and the departments they went to.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Model folder (default: $HUIYING_DATA_DIR/models/router, which the worker uses).")
@click.option("--seed", default=13, show_default=True)
def model_train_router(data: tuple[Path, ...], text_cols: tuple[str, ...], label_col: str | None,
                       from_history: bool, out: Path | None, seed: int) -> None:
    """Learn which department answers what; print the cross-validated figures as JSON."""
    from analysis.router import read_many, train_router
    from huiying.errors import InputError

    settings = _settings()
    if from_history:
        from huiying.cases import routing_history
        from huiying.db import session_scope

        settings = _database()
        with session_scope(settings.database_url) as session:
            texts, labels = routing_history(session)
        digest = None
    else:
        if not (data and text_cols and label_col):
            raise InputError("give --data FILE --text-col C --label-col C, or --from-history.")
        texts, labels, digest = _user_input_errors(read_many, [str(p) for p in _data_files(data)],
                                                   list(text_cols), label_col)
    if len(set(labels)) < 2 or len(texts) < 10:
        raise InputError(f"{len(texts)} labelled texts in {len(set(labels))} departments are too "
                         "few to learn from; at least 10 texts in 2 departments are needed.")
    model = train_router(texts, labels, seed=seed, data_file_sha256=digest)
    target = out or settings.data_dir / "models" / "router"
    model.save(target)
    click.echo(json.dumps({"version": model.version, "n": len(texts), "labels": model.labels,
                           "out": str(target), **model.meta["cv"]}, ensure_ascii=False))


def _labelled_csv_options(command):
    """--data, --text-col and --label-col of the commands that evaluate on one labelled CSV."""
    command = click.option("--label-col", required=True)(command)
    command = click.option("--text-col", required=True,
                           help="Text column; 'title+body' joins columns.")(command)
    return click.option("--data", required=True, type=click.Path(path_type=Path))(command)


@model_eval.command("router")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="Model folder (default: the shipped 7-category demonstration model).")
@_labelled_csv_options
def model_eval_router(model_dir: Path | None, data: Path, text_col: str, label_col: str) -> None:
    """Print {"accuracy", "macro_f1", "n", "texts_per_s", "model_version"}."""
    import time

    from analysis.router import DEFAULT_DIR, RouterModel, evaluate_router, read_labelled_csv
    from huiying.errors import InputError

    (path,) = _data_files((data,))
    folder = model_dir or DEFAULT_DIR
    if not (Path(folder) / "meta.json").is_file():
        raise InputError(f"{folder} holds no router model; train one with "
                         "`huiying model train router`.")
    model = RouterModel.load(folder)
    texts, labels = _user_input_errors(read_labelled_csv, path, text_col, label_col)
    start = time.perf_counter()
    result = evaluate_router(model, texts, labels)
    result["texts_per_s"] = round(len(texts) / max(time.perf_counter() - start, 1e-9), 1)
    result["model_version"] = model.version
    click.echo(json.dumps(result, ensure_ascii=False))


# Cross-validation needs a few rows of each side in every fold.
MIN_RELEVANCE_ROWS = 5
# analysis.relevance.POSITIVE, written out so that `huiying --help` need not load numpy.
RELEVANT_CATEGORY = "教育文体"


@model_train.command("relevance")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(path_type=Path),
              help="CSV of labelled messages; repeat for more.")
@click.option("--text-col", "text_cols", multiple=True, required=True,
              help="Text column; 'title+body' joins columns; one for all files or one per file.")
@click.option("--label-col", required=True, help="Category (label) column.")
@click.option("--positive", default=RELEVANT_CATEGORY, show_default=True,
              help="The label of the relevant rows; every other label is not relevant.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Model folder (default: $HUIYING_DATA_DIR/models/relevance, which processing "
                   "uses instead of the shipped model).")
@click.option("--seed", default=13, show_default=True)
@click.option("--with-labels", is_flag=True,
              help="Also train on the relevance corrections made in the dashboard (相关 是 relevant, "
                   "否 not; the newest correction of a comment counts).")
def model_train_relevance(data: tuple[Path, ...], text_cols: tuple[str, ...], label_col: str,
                          positive: str, out: Path | None, seed: int, with_labels: bool) -> None:
    """Learn what is about education policy; print the cross-validated figures as JSON."""
    import time

    from analysis.relevance import train_relevance
    from analysis.router import deduplicate, read_many
    from huiying.cases import relevance_corrections
    from huiying.errors import InputError

    settings = _settings()
    texts, labels, digest = _user_input_errors(read_many, _data_files(data), list(text_cols), label_col)
    rows = _dashboard_labels(relevance_corrections) if with_labels else []
    if rows:
        # Corrections first: where a file holds the same text, the person's label is kept.
        texts, labels = deduplicate([text for text, _ in rows] + texts,
                                    [positive if relevant else f"非{positive}" for _, relevant in rows]
                                    + labels)
    positives = sum(1 for y in labels if y == positive)
    if min(positives, len(labels) - positives) < MIN_RELEVANCE_ROWS:
        raise InputError(f"{positives} rows are labelled {positive!r} in column {label_col!r} and "
                         f"{len(labels) - positives} are not, but at least {MIN_RELEVANCE_ROWS} of each "
                         "are needed (check --positive and --label-col).")
    start = time.perf_counter()
    model = train_relevance(texts, labels, positive=positive, seed=seed, data_file_sha256=digest)
    if with_labels:  # without, the files are those `python -m analysis.relevance train` writes
        model.meta["dashboard_labels"] = len(rows)
    target = out or settings.data_dir / "models" / "relevance"
    model.save(target)
    click.echo(json.dumps({"version": model.version, "n": len(texts), "positives": positives,
                           "labels_included": len(rows), "out": str(target),
                           "combination": model.combination, "threshold": model.threshold,
                           "cv": model.meta["cv"]["by_combination"],
                           "seconds": round(time.perf_counter() - start, 1)}, ensure_ascii=False))


@model_eval.command("relevance")
@click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
              help="Model folder (default: the shipped model, analysis/models/relevance).")
@_labelled_csv_options
@click.option("--positive", default=RELEVANT_CATEGORY, show_default=True,
              help="The label of the relevant rows.")
def model_eval_relevance(model_dir: Path | None, data: Path, text_col: str, label_col: str,
                         positive: str) -> None:
    """Print {"precision", "recall", "f1", "accuracy", "n", "threshold", "texts_per_s",
    "model_version"}."""
    from analysis.relevance import DEFAULT_DIR, RelevanceModel, evaluate_relevance
    from analysis.router import print_evaluation, read_labelled_csv
    from huiying.errors import InputError

    (path,) = _data_files((data,))
    folder = model_dir or DEFAULT_DIR
    if not (Path(folder) / "meta.json").is_file():
        raise InputError(f"{folder} holds no relevance model; train one with "
                         "`huiying model train relevance`.")
    model = _user_input_errors(RelevanceModel.load, folder)
    texts, labels = _user_input_errors(read_labelled_csv, path, text_col, label_col)
    if positive not in labels:
        raise InputError(f"no row of {path} is labelled {positive!r} in column {label_col!r} "
                         "(check --positive and --label-col).")
    print_evaluation(lambda: evaluate_relevance(model, texts, labels, positive), len(texts), model.version)


cli.add_command(calendar)
cli.add_command(clock)
cli.add_command(import_command)
cli.add_command(export)
cli.add_command(report)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench(name: str, as_json: bool) -> None:
    """Run one benchmark suite (see `make bench`)."""
    from huiying.cli.bench import run_suite

    _emit(run_suite(name), as_json)


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")


def main() -> None:
    try:
        cli.main(prog_name="huiying", standalone_mode=False)
    except HuiyingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
