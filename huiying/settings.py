"""All settings, read from HUIYING_* environment variables in one place.

Every value is validated when read, so a mistyped setting stops the start with one sentence
that names the variable instead of failing later deep inside a library.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from huiying.errors import SettingsError

PREFIX = "HUIYING_"
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
BROKER_SCHEMES = ("filesystem", "redis", "rediss", "amqp", "pyamqp", "sqla+sqlite", "sqla+postgresql")

# Every variable anybody reads: load() below, the CLI (passwords) and the test suite.
# Anything else starting with HUIYING_ is reported as a probable typo.
KNOWN_VARIABLES = frozenset(PREFIX + name for name in (
    "ENV", "DATA_DIR", "DATABASE_URL", "BROKER_URL", "SECRET_KEY", "TIMEZONE", "LOG_LEVEL",
    "SOURCES_DIR", "CRAWL_INTERVAL", "CRAWL_TIMEOUT", "CRAWL_CONTACT", "SWEEP_INTERVAL", "SWEEP_GRACE",
    "SENTIMENT_ENGINE",
    "SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_STARTTLS",
    "WEB_HOST", "WEB_PORT", "BASE_URL", "NEGATIVE_SPIKE", "BRIEF_HOUR",
    "BUREAU_NAME", "WECOM_WEBHOOK", "DINGTALK_WEBHOOK", "DINGTALK_SECRET", "WEBHOOK_KINDS",
    "NEW_PASSWORD", "ADMIN_PASSWORD",
    "TEST_DATABASE_URL", "TEST_REDIS_URL", "TEST_PG_ADMIN", "TEST_SHOTS_DIR", "SHARED_DATA",
    "BENCH_DATABASE_URL", "BENCH_PIPELINE_DATABASE_URL", "BENCH_REDIS_URL", "BENCH_COMMENTS",
    "BENCH_LATENCY_RATE",
    "DRILL_COMMENTS",
))


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None,
         unit: str = "") -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}{name} must be a whole number{' of ' + unit if unit else ''}, got {raw!r}."
        ) from None
    if value < minimum:
        raise SettingsError(f"{PREFIX}{name} must be at least {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{PREFIX}{name} must be at most {maximum}, got {value}.")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}.")


def _check_scheme(name: str, url: str, allowed: tuple[str, ...], example: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in allowed:
        raise SettingsError(
            f"{PREFIX}{name} has an unknown scheme {scheme or url!r}; "
            f"use one of {', '.join(s + '://' for s in allowed)} (for example {example})."
        )


DEFAULT_CRAWL_CONTACT = "https://github.com/huiying"
_CONTACT = re.compile(r"^[^\s\x00-\x1f\x7f;()]{3,200}$")  # one token: it goes into a header


def load_crawl_contact() -> str:
    """HUIYING_CRAWL_CONTACT: an email address or a web address, checked (it is sent in a header)."""
    contact = _env("CRAWL_CONTACT", DEFAULT_CRAWL_CONTACT) or DEFAULT_CRAWL_CONTACT
    if not _CONTACT.match(contact) or ("@" not in contact and "://" not in contact):
        raise SettingsError(f"HUIYING_CRAWL_CONTACT must be one email or web address (no spaces), "
                            f"got {contact!r}.")
    return contact


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broker_url: str
    secret_key: str
    production: bool
    timezone: str = "Asia/Shanghai"
    sources_dir: Path | None = None
    crawl_interval_minutes: int = 30
    crawl_timeout_seconds: int = 20
    # Who a site's webmaster can reach about our crawler: in the User-Agent of every request.
    crawl_contact: str = DEFAULT_CRAWL_CONTACT
    sweep_interval_seconds: int = 60
    # A comment stored this recently is not swept: its own message is still on its way.
    sweep_grace_seconds: int = 120
    sentiment_engine: str = "default"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "huiying@localhost"
    smtp_starttls: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    # The dashboard's address as readers reach it: links in emails point there.
    base_url: str = "http://127.0.0.1:8080"
    # More negative relevant comments than this within an hour alert the press office.
    negative_spike: int = 10
    # The local hour (HUIYING_TIMEZONE) from which the daily briefing of the day before is sent.
    brief_hour: int = 8
    # The bureau whose figures these are: the title of the monthly and annual reports.
    bureau_name: str = "某县教育体育局"
    log_level: str = "INFO"
    # The group robots (huiying/notify/channels/webhook.py): their URLs carry a token (secret).
    wecom_webhook: str | None = field(default=None, repr=False)
    dingtalk_webhook: str | None = field(default=None, repr=False)
    dingtalk_secret: str | None = field(default=None, repr=False)
    # The kinds of notification the group robots post (huiying.notify.kinds.Kind values).
    webhook_kinds: tuple[str, ...] = ("alert", "spike", "brief", "crawl")

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def https(self) -> bool:
        """Readers reach the dashboard over HTTPS: cookies are then sent over HTTPS only.

        Read from the address, not from production mode: a county intranet may serve production
        over plain http://, where a Secure cookie would never come back and nobody could log in.
        """
        return urlsplit(self.base_url).scheme == "https"


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def _secret_key(data_dir: Path, production: bool) -> str:
    configured = _env("SECRET_KEY")
    if configured:
        if production and len(configured) < 16:
            raise SettingsError("HUIYING_SECRET_KEY is too short; use at least 16 random characters.")
        return configured
    if production:
        raise SettingsError(
            "HUIYING_SECRET_KEY is not set; a production start needs one "
            "(for example: python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    # Embedded mode: generate once and keep it in the data directory so sessions
    # survive a restart.
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def warn_unknown_variables(stream=sys.stderr) -> list[str]:
    """Report HUIYING_* variables nobody reads: they are usually typos."""
    unknown = sorted(n for n in os.environ if n.startswith(PREFIX) and n not in KNOWN_VARIABLES)
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(KNOWN_VARIABLES), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        print(f"warning: {name} is not a Huiying setting and is ignored{hint}", file=stream)
    return unknown


def load_timezone() -> str:
    """HUIYING_TIMEZONE, checked; for commands that need nothing else (no data directory)."""
    timezone = _env("TIMEZONE", "Asia/Shanghai") or "Asia/Shanghai"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:
        raise SettingsError(
            f"HUIYING_TIMEZONE {timezone!r} is not a known time zone; use e.g. Asia/Shanghai."
        ) from None
    return timezone


def load_database_url() -> tuple[Path, str]:
    """The data directory and HUIYING_DATABASE_URL, checked; nothing is created."""
    data_dir = Path(_env("DATA_DIR", "var") or "var").expanduser().resolve()
    database_url = _env("DATABASE_URL") or f"sqlite:///{data_dir / 'huiying.sqlite3'}"
    _check_scheme("DATABASE_URL", database_url, DATABASE_SCHEMES,
                  "postgresql+psycopg://huiying@127.0.0.1/huiying")
    if database_url.startswith("postgresql://"):
        # One driver everywhere: psycopg 3.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    return data_dir, database_url
def _bureau_name() -> str:
    name = (_env("BUREAU_NAME", "某县教育体育局") or "").strip()
    if not name or len(name) > 60:
        raise SettingsError(f"HUIYING_BUREAU_NAME must be the bureau's name (1 to 60 characters), "
                            f"got {name!r}.")
    return name


def _webhook(name: str, host_hint: str) -> str | None:
    """A group robot's webhook URL: https (or http on an intranet gateway) with a host. The
    message never repeats the URL: its query holds the robot's token."""
    url = _env(name)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in url:
        raise SettingsError(f"{PREFIX}{name} must be the robot's webhook address starting with https:// "
                            f"(for example https://{host_hint}/…), got a value starting with {url[:8]!r}.")
    return url


def load_webhook_kinds() -> tuple[str, ...]:
    """HUIYING_WEBHOOK_KINDS: the comma list of kinds the group robots post."""
    from huiying.notify.kinds import DEFAULT_WEBHOOK_KINDS, Kind

    raw = _env("WEBHOOK_KINDS")
    if raw is None:
        return tuple(map(str, DEFAULT_WEBHOOK_KINDS))
    kinds = [k.strip().lower() for k in re.split(r"[,，\s]+", raw) if k.strip()]
    unknown = [k for k in kinds if k not in set(Kind)]
    if unknown:
        raise SettingsError(f"HUIYING_WEBHOOK_KINDS has an unknown kind {unknown[0]!r}; "
                            f"use a comma list of {', '.join(Kind)}.")
    return tuple(dict.fromkeys(kinds))


def load() -> Settings:
    """Read and validate every setting from the environment."""
    env_name = (_env("ENV", "embedded") or "embedded").lower()
    if env_name not in ("embedded", "development", "production"):
        raise SettingsError(
            f"HUIYING_ENV must be embedded, development or production, got {env_name!r}."
        )
    production = env_name == "production"
    data_dir, database_url = load_database_url()

    broker_url = _env("BROKER_URL") or "filesystem://"
    _check_scheme("BROKER_URL", broker_url, BROKER_SCHEMES, "redis://127.0.0.1:6379/0")

    timezone = load_timezone()

    log_level = (_env("LOG_LEVEL", "INFO") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"HUIYING_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}.")

    base_url = (_env("BASE_URL", "http://127.0.0.1:8080") or "").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
        raise SettingsError(f"HUIYING_BASE_URL must be the dashboard's address starting with http:// "
                            f"or https://, got {base_url!r}.")

    sources_dir = _env("SOURCES_DIR")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        broker_url=broker_url,
        secret_key=_secret_key(data_dir, production),
        production=production,
        timezone=timezone,
        sources_dir=Path(sources_dir).expanduser().resolve() if sources_dir else data_dir / "sources",
        crawl_interval_minutes=_int("CRAWL_INTERVAL", 30, minimum=1, unit="minutes"),
        crawl_timeout_seconds=_int("CRAWL_TIMEOUT", 20, minimum=1, unit="seconds"),
        crawl_contact=load_crawl_contact(),
        sweep_interval_seconds=_int("SWEEP_INTERVAL", 60, minimum=5, unit="seconds"),
        sweep_grace_seconds=_int("SWEEP_GRACE", 120, minimum=0, unit="seconds"),
        sentiment_engine=_env("SENTIMENT_ENGINE", "default") or "default",
        smtp_host=_env("SMTP_HOST"),
        smtp_port=_int("SMTP_PORT", 25, minimum=1, unit="port"),
        smtp_user=_env("SMTP_USER"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_from=_env("SMTP_FROM", "huiying@localhost") or "huiying@localhost",
        smtp_starttls=_bool("SMTP_STARTTLS", False),
        web_host=_env("WEB_HOST", "127.0.0.1") or "127.0.0.1",
        web_port=_int("WEB_PORT", 8080, minimum=1, unit="port"),
        base_url=base_url,
        negative_spike=_int("NEGATIVE_SPIKE", 10, minimum=1, unit="comments"),
        brief_hour=_int("BRIEF_HOUR", 8, minimum=0, maximum=23, unit="hours (0-23)"),
        bureau_name=_bureau_name(),
        log_level=log_level,
        wecom_webhook=_webhook("WECOM_WEBHOOK", "qyapi.weixin.qq.com"),
        dingtalk_webhook=_webhook("DINGTALK_WEBHOOK", "oapi.dingtalk.com"),
        dingtalk_secret=_env("DINGTALK_SECRET"),
        webhook_kinds=load_webhook_kinds(),
    )
