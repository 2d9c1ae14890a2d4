"""What a spider hands to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CommentItem:
    source: str
    external_id: str
    url: str
    title: str = ""
    body: str = ""
    author: str | None = None
    published_at: str | None = None  # as the page shows it; parsed by the pipeline
    reply: str | None = None
    replied_at: str | None = None
    thread: str | None = None  # a forum floor: the external id of its thread's post
