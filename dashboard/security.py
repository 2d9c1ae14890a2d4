"""Security in one place: headers (Flask-Talisman), login rate limit (Flask-Limiter),
error pages. CSRF is Flask-WTF's CSRFProtect, set up in the factory."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_babel import lazy_gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError

# Everything is served from our own origin (Bootstrap included); Bootstrap's CSS uses
# data: URIs for small SVG icons, hence img-src data:.
CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
LOGIN_LIMIT = "10 per minute"  # per client address: enough for typos, too few for guessing
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}  # seconds
STATIC_ENDPOINTS = {"static", "bootstrap.static"}
API_PREFIX = "/api/"


def _no_store(response: Response) -> Response:
    if request.endpoint not in STATIC_ENDPOINTS:
        # Pages show personal data: keep them out of shared and browser caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(code: int, message):
    def page(error):
        # Under /api/ an error is JSON, also when routing fails before the API's own handlers
        # are chosen (an unknown path, a POST).
        if request.path.startswith(API_PREFIX):
            from dashboard.api import http_error

            return http_error(error)
        return render_template("error.html", code=code, message=message), code

    return page


def init_app(app: Flask) -> None:
    """Call after the blueprints are registered: the login view gets its rate limit here."""
    https = bool(app.config.get("HTTPS"))
    Talisman(
        app,
        force_https=False,  # nginx redirects to HTTPS; health checks may come over HTTP
        strict_transport_security=https,
        session_cookie_secure=https,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    app.after_request(_no_store)
    # One limiter per app, so that test apps do not share counters. The counters live in the
    # broker's Redis so every web process sees them; while Redis is down each process counts in
    # its own memory (in_memory_fallback) instead of failing the login with a 500, and goes
    # back to Redis when it answers. Short timeouts: a dead Redis must not hold the login.
    storage_uri = app.config.get("RATELIMIT_STORAGE_URI", "memory://")
    options = REDIS_TIMEOUTS if storage_uri.startswith("redis") else {}
    limiter = Limiter(get_remote_address, app=app, default_limits=[], storage_uri=storage_uri,
                      storage_options=options, in_memory_fallback_enabled=True)
    # Only failed attempts count (a successful login redirects): an office behind one address
    # where everyone logs in each morning is never shut out.
    app.view_functions["auth.login"] = limiter.limit(
        LOGIN_LIMIT, methods=["POST"], deduct_when=lambda response: response.status_code != 302)(
        app.view_functions["auth.login"])
    app.register_error_handler(CSRFError, _error_page(400, lazy_gettext("表单已失效，请刷新页面后重试。")))
    app.register_error_handler(429, _error_page(429, lazy_gettext("尝试次数过多，请一分钟后再试。")))
    for code, message in ((403, lazy_gettext("您没有权限访问此页面。")), (404, lazy_gettext("页面不存在。")),
                          (405, lazy_gettext("不支持此请求方式。"))):
        app.register_error_handler(code, _error_page(code, message))
