"""The bundled demo site: a fictional county education bureau message board.

``huiying run`` serves it on loopback and crawls it when no source is configured.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoServer", "load_posts", "make_app", "serve"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that ``python -m crawler.demo.server`` runs the module only once.
    if name in __all__:
        from crawler.demo import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
