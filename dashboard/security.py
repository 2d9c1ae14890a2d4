"""Security headers and cookie hardening, in one place (CSRF is Flask-WTF's CSRFProtect)."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError

# Everything is served from our own origin (Bootstrap included); Bootstrap's CSS uses
# data: URIs for small SVG icons, hence img-src data:.
CSP = "; ".join((
    "default-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

STATIC_ENDPOINTS = {"static", "bootstrap.static"}


def _set_headers(response: Response, production: bool) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if production:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint not in STATIC_ENDPOINTS:
        # Pages show personal data: keep them out of shared and browser caches.
        headers.setdefault("Cache-Control", "no-store")
    return response


def _csrf_error(error: CSRFError):
    return render_template("error.html", code=400,
                           message="表单已失效，请刷新页面后重试。"), 400


def init_app(app: Flask) -> None:
    production = bool(app.config.get("PRODUCTION"))
    app.after_request(lambda response: _set_headers(response, production))
    app.register_error_handler(CSRFError, _csrf_error)
    for code, message in ((403, "您没有权限访问此页面。"), (404, "页面不存在。")):
        app.register_error_handler(
            code, lambda _e, code=code, message=message: (
                render_template("error.html", code=code, message=message), code)
        )
