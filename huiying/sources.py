"""Source configurations: one YAML file per board, no code for a new board.

A configuration is validated here, before any crawl, so that a typo is reported as one
sentence naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select, update

from huiying.errors import InputError
from huiying.models import Source

KINDS = ("board",)
# Sources filled by `huiying import` (hotline and mailbox exports): stored, never crawled.
IMPORT_KIND = "import"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


@dataclass(frozen=True)
class SourceConfig:
    name: str
    title: str
    kind: str
    start_urls: list[str]
    list: dict[str, Any]
    detail: dict[str, Any]
    encoding: str | None = None
    enabled: bool = True
    max_pages: int = 50
    timezone: str = "Asia/Shanghai"
    interval_minutes: int | None = None  # None: HUIYING_CRAWL_INTERVAL
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "kind": self.kind,
            "start_urls": self.start_urls, "list": self.list, "detail": self.detail,
            "encoding": self.encoding, "enabled": self.enabled, "max_pages": self.max_pages,
            "timezone": self.timezone, "interval_minutes": self.interval_minutes,
        }


def parse_config(data: Any, origin: str = "source config") -> SourceConfig:
    """Validate a parsed YAML mapping; raise InputError naming the bad key."""
    if not isinstance(data, dict):
        raise InputError(f"{origin}: expected a mapping of keys (name, start_urls, list, detail).")

    def need(key: str, kind: type, where: dict[str, Any] = data, prefix: str = "") -> Any:
        if key not in where:
            raise InputError(f"{origin}: the key '{prefix}{key}' is missing.")
        value = where[key]
        if not isinstance(value, kind):
            raise InputError(
                f"{origin}: '{prefix}{key}' must be a {kind.__name__}, got {type(value).__name__}."
            )
        return value

    name = need("name", str)
    if not NAME.match(name):
        raise InputError(
            f"{origin}: name {name!r} must be lower-case letters, digits, '-' or '_'."
        )
    kind = data.get("kind", "board")
    if kind not in KINDS:
        raise InputError(f"{origin}: kind {kind!r} is not supported; use one of {', '.join(KINDS)}.")
    start_urls = need("start_urls", list)
    if not start_urls or not all(isinstance(u, str) and u.startswith(("http://", "https://"))
                                 for u in start_urls):
        raise InputError(f"{origin}: 'start_urls' must list http:// or https:// addresses.")
    listing = need("list", dict)
    need("link", str, listing, "list.")
    detail = need("detail", dict)
    need("title", str, detail, "detail.")
    need("body", str, detail, "detail.")
    id_spec = detail.get("id", {"from": "url"})
    if not isinstance(id_spec, dict) or id_spec.get("from", "url") not in ("url", "css"):
        raise InputError(f"{origin}: 'detail.id.from' must be 'url' or 'css'.")
    if "pattern" in id_spec:
        try:
            re.compile(id_spec["pattern"])
        except re.error as exc:
            raise InputError(f"{origin}: 'detail.id.pattern' is not a valid regex ({exc}).") from None
    max_pages = data.get("max_pages", 50)
    if not isinstance(max_pages, int) or max_pages < 1:
        raise InputError(f"{origin}: 'max_pages' must be a positive whole number.")
    interval = data.get("interval_minutes")
    if interval is not None and (not isinstance(interval, int) or interval < 1):
        raise InputError(f"{origin}: 'interval_minutes' must be a positive whole number.")
    return SourceConfig(
        name=name,
        interval_minutes=interval,
        title=str(data.get("title", name)),
        kind=kind,
        start_urls=start_urls,
        list=listing,
        detail=detail,
        encoding=data.get("encoding"),
        enabled=bool(data.get("enabled", True)),
        max_pages=max_pages,
        timezone=str(data.get("timezone", "Asia/Shanghai")),
    )


def load_file(path: Path) -> SourceConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such source file.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid UTF-8 YAML ({str(exc).splitlines()[0]}).") from None
    return parse_config(data, str(path))


def load_dir(directory: Path | None) -> list[SourceConfig]:
    if directory is None or not directory.is_dir():
        return []
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    return [load_file(p) for p in files]


def sync(session, configs: list[SourceConfig], *, demo: SourceConfig | None = None) -> list[str]:
    """Mirror configured sources into the database; return the enabled names.

    The bundled demo source is enabled only while no real source is configured.
    """
    wanted = list(configs) + ([demo] if demo else [])
    existing = {s.name: s for s in session.scalars(select(Source))}
    for config in wanted:
        source = existing.get(config.name) or Source(name=config.name)
        source.title, source.kind = config.title, config.kind
        source.config, source.enabled = config.as_dict(), config.enabled
        session.add(source)
    if configs and "demo" in existing and all(c.name != "demo" for c in configs):
        existing["demo"].enabled = False  # real sources configured: the demo has done its job
    session.flush()
    return [c.name for c in wanted if c.enabled]


def from_row(config: dict[str, Any], name: str) -> SourceConfig:
    return parse_config(config, f"source {name!r} in the database")


def due_source_names(session, now, default_minutes: int) -> list[str]:
    """Enabled sources whose own interval (or the default) has passed since their last crawl."""
    rows = session.execute(select(Source.name, Source.last_crawled_at, Source.config)
                           .where(Source.enabled.is_(True), Source.kind != IMPORT_KIND)).all()
    return [name for name, last, config in rows
            if last is None or now - last >= timedelta(
                minutes=(config or {}).get("interval_minutes") or default_minutes)]


# A claim older than this belongs to a crawl that died (or a task never run): it may be taken
# again. Longer than the longest crawl a worker lets run (worker.tasks CRAWL_TIMEOUT_SECONDS).
CLAIM_STALE_AFTER = timedelta(minutes=45)


def claim_crawl(session, names: list[str], now) -> list[str]:
    """Mark the named sources' crawls started, atomically, one source at a time; return the
    names claimed now. A source another process crawls (a fresh claim) is left out, so two
    crawls of one source never run at once. Commits: the claim must be seen before the spawn.
    """
    claimed = []
    for name in names:
        result = session.execute(
            update(Source).where(Source.name == name, or_(
                Source.crawl_started_at.is_(None), Source.crawl_started_at < now - CLAIM_STALE_AFTER))
            .values(crawl_started_at=now))
        session.commit()
        if result.rowcount == 1:
            claimed.append(name)
    return claimed


def holds_claim(session, name: str, started_at) -> bool:
    """Whether the claim `started_at` on the source is still the one in force."""
    return session.scalar(select(Source.crawl_started_at).where(Source.name == name)) == started_at


def release_crawl(session, names: list[str], started_at) -> None:
    """End the claims taken at `started_at` (a newer claim by someone else stays)."""
    session.execute(update(Source).where(Source.name.in_(names), Source.crawl_started_at == started_at)
                    .values(crawl_started_at=None))
    session.commit()


def due_unclaimed(session, now, default_minutes: int) -> list[str]:
    """The due sources that no crawl holds now."""
    due = due_source_names(session, now, default_minutes)
    held = set(session.scalars(select(Source.name).where(
        Source.name.in_(due), Source.crawl_started_at >= now - CLAIM_STALE_AFTER)))
    return [name for name in due if name not in held]
