"""Source configurations: one YAML file per source, no code for a new board, feed, API or forum.

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

from huiying.errors import ChangeRefused, InputError
from huiying.models import Source
from huiying.source_kinds import validate

# Sources filled by `huiying import` (hotline and mailbox exports): stored, never crawled.
IMPORT_KIND = "import"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
# The keys every kind shares; the rest of a file is its kind's (huiying/source_kinds.py).
_COMMON = ("name", "title", "kind", "encoding", "enabled", "max_pages", "timezone",
           "interval_minutes", "follow_seconds", "headers", "include", "exclude")


@dataclass(frozen=True)
class SourceConfig:
    name: str
    title: str
    kind: str
    spec: dict[str, Any]  # the kind's own keys: start_urls, list, detail for a board …
    encoding: str | None = None
    enabled: bool = True
    max_pages: int = 50
    timezone: str = "Asia/Shanghai"
    interval_minutes: int | None = None  # None: HUIYING_CRAWL_INTERVAL
    # Set: `huiying run` keeps a crawl following the source, re-reading its start pages this
    # often (`huiying crawl --follow`); None: crawled every interval only.
    follow_seconds: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    include: tuple[str, ...] = ()  # keep only items naming one of these (empty: keep all)
    exclude: tuple[str, ...] = ()  # drop items naming one of these (counted, not an error)

    @property
    def start_urls(self) -> list[str]:
        return self.spec.get("start_urls", [])

    @property
    def list(self) -> dict[str, Any]:
        return self.spec.get("list", {})

    @property
    def detail(self) -> dict[str, Any]:
        return self.spec.get("detail", {})

    def as_dict(self) -> dict[str, Any]:
        common = {
            "name": self.name, "title": self.title, "kind": self.kind,
            "encoding": self.encoding, "enabled": self.enabled, "max_pages": self.max_pages,
            "timezone": self.timezone, "interval_minutes": self.interval_minutes,
        }
        # Keys a board never had stay out of its row while unused (the row is compared on edit).
        optional = {"follow_seconds": self.follow_seconds, "headers": self.headers,
                    "include": list(self.include), "exclude": list(self.exclude)}
        return {**common, **self.spec, **{k: v for k, v in optional.items() if v}}


def parse_config(data: Any, origin: str = "source config") -> SourceConfig:
    """Validate a parsed YAML mapping; raise InputError naming the bad key."""
    if not isinstance(data, dict):
        raise InputError(f"{origin}: expected a mapping of keys (name, kind, start_urls …).")
    # Rows written before these keys existed, and an unset optional key, read as absent.
    data = {k: v for k, v in data.items() if v is not None}
    name = data.get("name")
    if isinstance(name, str) and not NAME.match(name):
        raise InputError(
            f"{origin}: name {name!r} must be lower-case letters, digits, '-' or '_'."
        )
    kind = validate(data, origin)
    return SourceConfig(
        name=name,
        title=str(data.get("title", name)),
        kind=kind,
        spec={k: v for k, v in data.items() if k not in _COMMON},
        encoding=data.get("encoding"),
        enabled=bool(data.get("enabled", True)),
        max_pages=data.get("max_pages", 50),
        timezone=str(data.get("timezone", "Asia/Shanghai")),
        interval_minutes=data.get("interval_minutes"),
        follow_seconds=data.get("follow_seconds"),
        headers=dict(data.get("headers", {})),
        include=tuple(w.strip() for w in data.get("include", ()) if w.strip()),
        exclude=tuple(w.strip() for w in data.get("exclude", ()) if w.strip()),
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


# How often a crawl that follows its source (for days) renews its claim: well inside
# CLAIM_STALE_AFTER, so a live follower's claim never looks stale.
CLAIM_RENEW_EVERY = timedelta(minutes=5)


def renew_claim(session, name: str, started_at, now) -> bool:
    """Move the claim `started_at` on the source to `now`; False if it is no longer ours."""
    result = session.execute(update(Source).where(Source.name == name, Source.crawl_started_at == started_at)
                             .values(crawl_started_at=now))
    session.commit()
    return result.rowcount == 1


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
# --- editing source files (the admin's 来源设置 page) -------------------------------------

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.ya?ml$")
CHECK_TIMEOUT_SECONDS = 20
# The page's check stops after this many comments: enough to see the selectors work, and a
# polite one-request-at-a-time crawl of a whole list page can take longer than a web request.
CHECK_LIMIT = 5


@dataclass(frozen=True)
class SourceFile:
    """One YAML file of the sources directory: its config, or why it cannot be used."""

    path: Path
    text: str
    config: SourceConfig | None
    error: str | None


def source_files(directory: Path | None) -> list[SourceFile]:
    """Every source file, broken ones too (an admin must see and fix them)."""
    if directory is None or not directory.is_dir():
        return []
    found = []
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            found.append(SourceFile(path, "", None, f"{path.name}: cannot be read ({exc})."))
            continue
        try:
            found.append(SourceFile(path, text, parse_text(text, path.name), None))
        except InputError as exc:
            found.append(SourceFile(path, text, None, str(exc)))
    return found


def parse_text(text: str, origin: str) -> SourceConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{origin}: not valid YAML ({str(exc).splitlines()[0]}).") from None
    return parse_config(data, origin)


def file_in(directory: Path, file_name: str) -> Path:
    """A file of the sources directory by name; never a path outside it."""
    if not FILE_NAME.match(file_name):
        raise ChangeRefused("file_name", f"{file_name!r} is not a source file name.")
    return directory / file_name


def save_source_text(session, directory: Path, text: str, *, file_name: str | None = None,
                     actor_id: int | None = None) -> SourceConfig:
    """Validate a source's YAML and write it (a new file, or `file_name` edited), then
    mirror it into the `source` table. A source keeps its name: stored comments point at it."""
    from huiying.audit import record

    origin = file_name or "new source"
    config = parse_text(text, origin)
    others = {f.config.name: f.path.name for f in source_files(directory)
              if f.config and f.path.name != file_name}
    if config.name in others:
        raise ChangeRefused("name_taken",
                            f"the source name {config.name!r} is used by {others[config.name]}.",
                            name=config.name, file=others[config.name])
    row = session.scalar(select(Source).where(Source.name == config.name))
    if row is not None and row.kind == IMPORT_KIND:
        raise ChangeRefused("name_taken", f"the source name {config.name!r} is used by imported data.",
                            name=config.name, file="")
    if file_name is None:
        path = directory / f"{config.name}.yml"
        if path.exists():
            raise ChangeRefused("name_taken", f"{path.name} exists already.", name=config.name,
                                file=path.name)
        action, before = "source.add", None
    else:
        path = file_in(directory, file_name)
        before = _config_or_none(path)
        if before is not None and before.name != config.name:
            raise ChangeRefused("name_changed", f"a source keeps its name ({before.name!r}); "
                                "add a new source instead.", name=before.name)
        action = "source.edit"
    _write(path, text)
    sync(session, [config])
    source = session.scalar(select(Source).where(Source.name == config.name))
    changed = sorted(k for k, v in config.as_dict().items()
                     if before is None or before.as_dict().get(k) != v)
    record(session, actor_id, action, "source", source.id,
           f"{'新增' if before is None else '修改'}来源 {config.name}（{path.name}）",
           {"file": path.name, "changed": changed})
    return config


def set_source_enabled(session, directory: Path, source_id: int, enabled: bool, *,
                       actor_id: int | None = None) -> Source:
    """Enable or disable a configured source: in its file (which a restart reads) and its row."""
    from huiying.audit import record

    source = session.get(Source, source_id)
    if source is None:
        raise ChangeRefused("no_source", f"no source with id {source_id}.")
    match = next((f for f in source_files(directory) if f.config and f.config.name == source.name), None)
    if match is None:
        raise ChangeRefused("no_file", f"source {source.name!r} has no file in {directory}; "
                            "only configured sources can be switched.", name=source.name)
    if source.enabled == enabled and match.config.enabled == enabled:
        return source
    _write(match.path, with_enabled(match.text, enabled))
    sync(session, [parse_text(with_enabled(match.text, enabled), match.path.name)])
    record(session, actor_id, "source.enable" if enabled else "source.disable", "source", source.id,
           f"{'启用' if enabled else '停用'}来源 {source.name}", {"file": match.path.name})
    return source


ENABLED_LINE = re.compile(r"^enabled\s*:.*$", re.MULTILINE)


def with_enabled(text: str, enabled: bool) -> str:
    """The YAML text with its top-level `enabled:` set, comments and layout kept."""
    line = f"enabled: {'true' if enabled else 'false'}"
    if ENABLED_LINE.search(text):
        return ENABLED_LINE.sub(line, text, count=1)
    return text.rstrip("\n") + "\n" + line + "\n"


def _config_or_none(path: Path) -> SourceConfig | None:
    try:
        return parse_text(path.read_text(encoding="utf-8"), path.name)
    except (OSError, UnicodeDecodeError, InputError):
        return None


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a crawl reading the file never sees half of it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        raise ChangeRefused("not_writable", f"cannot write {path} ({exc.strerror}).",
                            path=str(path)) from None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    items: int = 0
    first: tuple[tuple[str, str], ...] = ()  # (external id, title) of the first comments
    error: str | None = None
    timed_out: bool = False
    stopped: bool = False  # the check stopped at CHECK_LIMIT comments: the page may have more
    page_errors: tuple[str, ...] = ()  # "url: reason" of each page the check could not read


def check_source_text(text: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> CheckResult:
    """What `huiying sources check FILE` says of a YAML text, run in a child process (a Scrapy
    crawl cannot run twice in one process) that is killed after `timeout` seconds."""
    import json
    import subprocess
    import sys
    import tempfile

    try:
        parse_text(text, "source config")
    except InputError as exc:
        return CheckResult(False, error=str(exc))
    with tempfile.TemporaryDirectory(prefix="huiying-check-") as tmp:
        path = Path(tmp) / "source.yml"
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([sys.executable, "-m", "huiying", "sources", "check", "--json",
                                   "--limit", str(CHECK_LIMIT), str(path)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return CheckResult(False, timed_out=True,
                               error=f"the check did not finish within {timeout:.0f} s.")
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return CheckResult(False, error=(lines[-1] if lines else f"exit status {done.returncode}"))
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return CheckResult(False, error="the check printed no result.")
    return CheckResult(True, items=result["items"], stopped=result["items"] >= CHECK_LIMIT,
                       first=tuple((i["external_id"], i["title"]) for i in result["first"]),
                       page_errors=tuple(result.get("errors", ())))
