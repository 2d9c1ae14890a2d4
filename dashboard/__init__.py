"""The Flask dashboard: an application factory, nothing happens at import time."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_bootstrap import Bootstrap5
from flask_wtf.csrf import CSRFProtect
from jinja2 import BytecodeCache

from huiying import settings as settings_module

csrf = CSRFProtect()
bootstrap = Bootstrap5()


class _CompiledTemplates(BytecodeCache):
    """Compiled templates shared by every app this process makes, by template name (Jinja
    compiles again a template whose source checksum changed): a process that makes many apps
    (the test suite makes one per test) compiles each template once instead of once an app."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_compiled_templates = _CompiledTemplates()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Defaults → HUIYING_* settings → test overrides; then extensions and blueprints."""
    app = Flask(__name__)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": _compiled_templates}
    settings = settings_module.load()
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        TIMEZONE=settings.timezone,
        PRODUCTION=settings.production,
        HTTPS=settings.https,
        BOOTSTRAP_SERVE_LOCAL=True,  # government intranets often cannot reach a CDN
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.https,
        CASES_PER_PAGE=25,
        HUIYING_SETTINGS=settings,
        # Login attempts are counted where every web process sees them (Redis in production).
        RATELIMIT_STORAGE_URI=settings.broker_url if settings.broker_url.startswith("redis")
        else "memory://",
    )
    if test_config:
        app.config.from_mapping(test_config)

    from dashboard import (
        accounts,
        admin,
        api,
        audit,
        auth,
        bulk,
        calendar,
        cases,
        db,
        departments,
        disclosure,
        filters,
        health,
        i18n,
        mail,
        notifications,
        overview,
        permissions,
        reports,
        security,
        sources,
        workflow,
    )

    db.init_app(app)
    i18n.init_app(app)
    auth.login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    filters.init_app(app)
    permissions.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(workflow.bp)
    app.register_blueprint(disclosure.bp)
    app.register_blueprint(bulk.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # read-only GETs authenticated by a bearer token, never by the session cookie
    app.register_blueprint(admin.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(departments.bp)
    app.register_blueprint(sources.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(mail.bp)
    notifications.init_app(app)  # /notifications and the nav bar's unread count
    app.register_blueprint(reports.bp)
    app.register_blueprint(health.bp)
    overview.init_app(app)  # `/` (endpoint "index") and the panel's JSON
    security.init_app(app)  # last: it wraps the registered login view
    return app
