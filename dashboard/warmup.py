"""Work a web process does once at start instead of in its first requests.

Jinja compiles a template the first time a page renders it: about 85 ms for the overview
(base, overview and macros) at a city's volume — the difference between the first visitor's
page and every later one. `warm(app)` compiles them all when the process starts, before it
serves. Test apps skip it (hundreds are made per run); the WSGI entry point and `huiying web`
call it, and `huiying bench dashboard` measures a warmed app like the one users get.
"""

from __future__ import annotations

from flask import Flask


def warm(app: Flask) -> int:
    """Compile every HTML template into the app's template cache; returns how many."""
    env = app.jinja_env
    names = env.list_templates(extensions=["html"])  # ours, and Bootstrap-Flask's macros
    with app.app_context():
        for name in names:
            env.get_template(name)
    return len(names)
