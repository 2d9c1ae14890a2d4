"""`huiying run`: one-shot (`--once`) and supervised (child processes) modes."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib.resources import files

import click
import yaml
from sqlalchemy import func, select

from huiying.cases import (
    installation_relevance,
    installation_router,
    process_comments,
    unprocessed_ids,
)
from huiying.db import session_scope
from huiying.errors import HuiyingError
from huiying.models import Case, Comment, CrawlError, Department, Source, utcnow
from huiying.settings import Settings
from huiying.source_kinds import FOLLOWED_KINDS
from huiying.sources import (
    IMPORT_KIND,
    SourceConfig,
    claim_crawl,
    from_row,
    holds_claim,
    load_dir,
    parse_config,
    release_crawl,
    renew_claim,
    sync,
)

log = logging.getLogger("huiying.run")
DRAIN_BATCH = 200
# (queue, processes) of the workers `huiying run` starts on one machine.
SUPERVISED_WORKERS = (("analysis", 2), ("crawl", 1), ("mail", 1))


def demo_config(url: str) -> SourceConfig:
    text = files("crawler").joinpath("sources/demo.yml").read_text("utf-8")
    return parse_config(yaml.safe_load(text.replace("{demo_url}", url)), "demo source")


def sync_sources(settings: Settings, demo_url: str | None = None) -> list[str]:
    """Register configured sources; with none configured, the demo (when it is served)."""
    configs = load_dir(settings.sources_dir)
    demo = demo_config(demo_url) if demo_url and not configs else None
    with session_scope(settings.database_url) as session:
        return sync(session, configs, demo=demo)


def enabled_configs(settings: Settings, names: tuple[str, ...] = ()) -> list[SourceConfig]:
    with session_scope(settings.database_url) as session:
        rows = {r.name: r for r in session.scalars(select(Source).where(
            Source.enabled.is_(True), Source.kind != IMPORT_KIND))}
        unknown = [n for n in names if n not in rows]
        if unknown:
            raise HuiyingError(f"no enabled source named {', '.join(unknown)}; "
                               f"enabled sources: {', '.join(sorted(rows)) or 'none'}.")
        return [from_row(r.config, r.name) for r in rows.values() if not names or r.name in names]


@contextmanager
def claimed_crawls(settings: Settings, configs: list[SourceConfig], claimed_at: str | None
                   ) -> Iterator[list[SourceConfig]]:
    """The configs this process may crawl: claimed now (or by the worker task that started
    it, `claimed_at`), released afterwards. A source crawled elsewhere is skipped, said on stderr."""
    started = datetime.fromisoformat(claimed_at) if claimed_at else utcnow()
    names = [c.name for c in configs]
    with session_scope(settings.database_url) as session:
        if claimed_at:
            mine = [n for n in names if holds_claim(session, n, started)]
        else:
            mine = claim_crawl(session, names, started)
    for name in names:
        if name not in mine:
            click.echo(f"{name}: another crawl of this source is running; skipped.", err=True)
    try:
        yield [c for c in configs if c.name in mine]
    finally:
        with session_scope(settings.database_url) as session:
            release_crawl(session, mine, started)


# While another crawl of a source to follow runs, how often to try for its claim again.
CLAIM_RETRY_SECONDS = 2.0


@contextmanager
def followed_crawls(settings: Settings, configs: list[SourceConfig]
                    ) -> Iterator[Callable[[str], bool]]:
    """Claim the sources to follow, waiting while another crawl of one runs (a supervised
    follower restarted during a scheduled crawl takes over after it); yield `keep(name)`,
    which renews a claim and says whether it is still ours; release the claims afterwards."""
    unfollowable = [c.name for c in configs if c.kind not in FOLLOWED_KINDS]
    if unfollowable:
        raise HuiyingError(f"--follow: {', '.join(unfollowable)} cannot be followed; only "
                           f"{' and '.join(FOLLOWED_KINDS)} sources can (the others are crawled "
                           "every interval).")
    held: dict[str, datetime] = {}

    def keep(name: str) -> bool:
        now = utcnow()
        with session_scope(settings.database_url) as session:
            if not renew_claim(session, name, held[name], now):
                return False
        held[name] = now
        return True

    try:
        _claim_waiting(settings, [c.name for c in configs], held)
        yield keep
    finally:  # Ctrl-C while waiting too: the claims taken so far are given back
        with session_scope(settings.database_url) as session:
            for name, started in held.items():
                release_crawl(session, [name], started)


def _claim_waiting(settings: Settings, names: list[str], held: dict[str, datetime]) -> None:
    """Claim every named source into `held` (name → claim time), trying again while another
    crawl holds one."""
    told = False
    while waiting := [name for name in names if name not in held]:
        now = utcnow()
        with session_scope(settings.database_url) as session:
            held.update((name, now) for name in claim_crawl(session, waiting, now))
        if len(held) == len(names):
            return
        if not told:
            click.echo(f"{', '.join(n for n in names if n not in held)}: another crawl of this source "
                       "is running; following starts when it ends.", err=True)
            told = True
        time.sleep(CLAIM_RETRY_SECONDS)


def drain(settings: Settings) -> int:
    """Process every stored-but-unprocessed comment in this process."""
    total = 0
    while True:
        with session_scope(settings.database_url) as session:
            ids = unprocessed_ids(session, limit=DRAIN_BATCH)
            if not ids:
                return total
            done = process_comments(session, ids, engine=settings.sentiment_engine,
                                    router=installation_router(settings.data_dir),
                                    relevance=installation_relevance(settings.data_dir),
                                    tz=settings.timezone)
        if done == 0:  # another process holds them; the sweep will see to it
            return total
        total += done


def _counts(settings: Settings) -> dict:
    with session_scope(settings.database_url) as session:
        by_department = dict(session.execute(
            select(Department.name, func.count(Case.id))
            .join(Case, Case.department_id == Department.id).group_by(Department.name)
        ).all())
        triage = session.scalar(select(func.count(Case.id)).where(Case.department_id.is_(None)))
        if triage:
            by_department["待研判"] = triage
        return {
            "comments": session.scalar(select(func.count(Comment.id))),
            "cases": session.scalar(select(func.count(Case.id))),
            "errors": session.scalar(select(func.count(CrawlError.id))),
            "by_department": by_department,
        }


def run_once(settings: Settings) -> dict:
    from crawler.demo import serve
    from crawler.run import crawl

    demo = None if load_dir(settings.sources_dir) else serve(new_post_every=None)
    try:
        sync_sources(settings, demo.url if demo else None)
        configs = enabled_configs(settings)
        before = _counts(settings)
        with claimed_crawls(settings, configs, None) as mine:
            stats = crawl(mine, settings.database_url, enqueue=None,
                          settings={"DOWNLOAD_TIMEOUT": settings.crawl_timeout_seconds}) if mine else {}
        processed = drain(settings)
    finally:
        if demo:
            demo.shutdown()
    after = _counts(settings)
    return {
        "sources": len(configs),
        "comments": after["comments"],
        "cases": after["cases"],
        "new_comments": after["comments"] - before["comments"],
        "new_cases": after["cases"] - before["cases"],
        "processed": processed,
        "by_department": after["by_department"],
        "errors": [e for s in stats.values() for e in s.errors],
    }


# --- supervised mode ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            time.sleep(0.2)
    raise HuiyingError(f"{url} did not answer within {seconds:.0f} s; see the messages above.")


class Child:
    def __init__(self, name: str, argv: list[str], restart: bool = True) -> None:
        self.name, self.argv, self.restart = name, argv, restart
        self.process: subprocess.Popen | None = None
        self.crashes: list[float] = []

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()


def crawl_children(settings: Settings, python: str) -> list[Child]:
    """A following crawl per source that sets follow_seconds (started again if it stops), and
    one crawl of the others now rather than at the scheduler's first tick."""
    configs = enabled_configs(settings)
    followed = [c.name for c in configs if c.follow_seconds]
    children = [Child(f"follow-{name}", [python, "-m", "huiying", "crawl", "--follow", name])
                for name in followed]
    others = [c.name for c in configs if not c.follow_seconds]
    if others:
        # All enabled sources when none is followed: what `huiying crawl` crawls.
        names = others if followed else []
        children.append(Child("crawl", [python, "-m", "huiying", "crawl", *names], restart=False))
    return children


def supervise(settings: Settings, admin_password: str | None) -> None:
    """Run web, worker, scheduler (and the demo site) as children until Ctrl-C."""
    python = sys.executable
    os.environ["HUIYING_DATA_DIR"] = str(settings.data_dir)  # children must agree
    children: list[Child] = []
    if not load_dir(settings.sources_dir):
        port = _free_port()
        demo = Child("demo", [python, "-m", "crawler.demo.server", "--port", str(port)])
        demo.start()
        children.append(demo)
        demo_url = f"http://127.0.0.1:{port}"
        _wait_for(demo_url + "/robots.txt")
        sync_sources(settings, demo_url)
        click.echo(f"No sources configured: serving the demo board at {demo_url}/")
    else:
        sync_sources(settings)
    started = len(children)
    children.append(Child("web", [python, "-m", "huiying", "web"]))
    # One worker per queue: a 30-minute crawl holds the crawl worker only, never the slots
    # analysis and mail need (docs/operations.md, "Workers and queues").
    for queue, concurrency in SUPERVISED_WORKERS:
        children.append(Child(f"worker-{queue}", [python, "-m", "huiying", "worker", "--queues", queue,
                                                  "--concurrency", str(concurrency)]))
    children.append(Child("scheduler", [python, "-m", "huiying", "scheduler"]))
    children.extend(crawl_children(settings, python))
    for child in children[started:]:
        child.start()

    stopping = False

    def _stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{settings.web_host}:{settings.web_port}/"
    try:
        _wait_for(url + "healthz", seconds=60)
    except HuiyingError:
        stopping = True
        log.error("the dashboard did not start")
    else:
        click.echo(f"Huiying is running: open {url} (Ctrl-C stops everything)")
        if admin_password:
            click.echo(f"Log in as 'admin' with password '{admin_password}' "
                       f"(shown only this once; change it after logging in: {url}auth/password).")
        else:
            click.echo("Log in with your account (first admin: user 'admin').")
    failed = False
    while not stopping:
        time.sleep(1)
        if stopping:  # Ctrl-C reached the children too: their exit is no crash
            break
        for child in children:
            code = child.process.poll() if child.process else None
            if code is None or not child.restart:
                continue
            now = time.monotonic()
            child.crashes = [t for t in child.crashes if now - t < 60] + [now]
            if len(child.crashes) > 5:
                log.error("%s keeps failing (exit %s); stopping everything", child.name, code)
                stopping = failed = True
                break
            log.warning("%s exited with %s; restarting it", child.name, code)
            child.start()
    for child in children:
        child.stop()
    deadline = time.monotonic() + 15
    for child in children:
        if child.process:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
    click.echo("Huiying stopped.")
    if failed:
        sys.exit(1)
