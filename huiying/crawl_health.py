"""Crawl health: each source's recent runs (crawl_run rows) and what is wrong with them now.

An incident is one of:
- `robots`: the last run had requests the site's robots.txt refused;
- `failing`: the last FAILING_RUNS runs or more read no comment and recorded errors;
- `empty`: the last run read no comment where the three runs before it read at least
  EMPTY_AFTER each — typically a layout change the selectors no longer match (told at once,
  before it has failed twice).
It lasts from the first run of the streak (`since_run_id`), which names it: its notification
is sent once (huiying/notify/scan.py keys it by that run, whatever its kind becomes), and a later
incident after a recovery is a new one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from huiying.models import CrawlError, CrawlRun, Source
from huiying.sources import IMPORT_KIND

RECENT_RUNS = 10
FAILING_RUNS = 2
EMPTY_AFTER = 5  # comments a run read, in each of the runs before an empty one

INCIDENT_TEXTS = {
    "robots": "网站的 robots.txt 拒绝采集",
    "failing": "连续多次采集失败",
    "empty": "采集到 0 条留言（此前每次都有），可能是网站改版",
}


@dataclass(frozen=True)
class Incident:
    kind: str
    since_run_id: int
    since: datetime

    @property
    def text(self) -> str:
        return INCIDENT_TEXTS[self.kind]


@dataclass(frozen=True)
class SourceHealth:
    name: str
    title: str
    enabled: bool
    last_started_at: datetime | None
    last_seconds: float | None
    last_pages: int | None
    last_items: int | None
    last_new: int | None
    last_errors: int | None
    errors_total: int
    runs: int
    incident: Incident | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_started_at"] = self.last_started_at.isoformat() if self.last_started_at else None
        if self.incident:
            data["incident"] = {"kind": self.incident.kind, "text": self.incident.text,
                                "since": self.incident.since.isoformat(),
                                "since_run_id": self.incident.since_run_id}
        return data


def _streak(runs: list[CrawlRun], test) -> list[CrawlRun]:
    """The newest runs, as long as each passes `test` (newest first)."""
    streak = []
    for run in runs:
        if not test(run):
            break
        streak.append(run)
    return streak


def incident_of(runs: list[CrawlRun]) -> Incident | None:
    """What is wrong now, from the source's recent runs (newest first)."""
    if not runs:
        return None

    def since(streak: list[CrawlRun]) -> tuple[int, datetime]:
        return streak[-1].id, streak[-1].started_at

    robots = _streak(runs, lambda run: run.robots_refused > 0)
    if robots:
        return Incident("robots", *since(robots))
    failing = _streak(runs, lambda run: run.items == 0 and run.errors > 0)
    if len(failing) >= FAILING_RUNS:
        return Incident("failing", *since(failing))
    empty = _streak(runs, lambda run: run.items == 0)
    before = runs[len(empty):len(empty) + 3]
    if empty and len(before) == 3 and all(run.items >= EMPTY_AFTER for run in before):
        return Incident("empty", *since(empty))
    return None


def health(session: Session) -> list[SourceHealth]:
    """Every crawled source (imports are not crawled), in name order. The notification scan
    calls this every minute: the counts are one grouped query each, the runs one per source."""
    errors = dict(session.execute(select(CrawlError.source_id, func.count())
                                  .group_by(CrawlError.source_id)).all())
    run_counts = dict(session.execute(select(CrawlRun.source_id, func.count())
                                      .group_by(CrawlRun.source_id)).all())
    found = []
    for source in session.scalars(select(Source).where(Source.kind != IMPORT_KIND).order_by(Source.name)):
        runs = list(session.scalars(select(CrawlRun).where(CrawlRun.source_id == source.id)
                                    .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
                                    .limit(RECENT_RUNS)))
        last = runs[0] if runs else None
        found.append(SourceHealth(
            name=source.name, title=source.title or source.name, enabled=source.enabled,
            last_started_at=last.started_at if last else None,
            last_seconds=round((last.finished_at - last.started_at).total_seconds(), 1) if last else None,
            last_pages=last.pages if last else None, last_items=last.items if last else None,
            last_new=last.new if last else None, last_errors=last.errors if last else None,
            errors_total=errors.get(source.id, 0),
            runs=run_counts.get(source.id, 0),
            incident=incident_of(runs) if source.enabled else None))
    return found
