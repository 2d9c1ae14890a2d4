"""`scan` reports the rows it inserted, on SQLite and PostgreSQL alike.

On PostgreSQL the rowcount of `INSERT … ON CONFLICT DO NOTHING` is -1, which once made the
worker log negative counts; the scan counts the rows the insert returned instead. The counts
are of the email rows; the in-app rows made alongside are counted once too.
"""

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from huiying.models import Department, Notification
from huiying.notify import scan


def test_scan_counts_exactly_the_rows_it_inserted(app, db, cases):
    for department in db.scalars(select(Department)):
        department.email = f"dept{department.id}@edu.example.gov.cn"
    db.commit()
    settings = app.config["HUIYING_SETTINGS"]
    now = datetime(2024, 9, 2, 6, 0, tzinfo=UTC)

    created = scan(db, settings, now=now)
    db.commit()
    stored = Counter(db.scalars(select(Notification.kind).where(Notification.channel == "email")))
    assert sum(stored.values()) > 0
    assert {kind: n for kind, n in created.items() if n} == dict(stored)

    again = scan(db, settings, now=now)
    db.commit()
    assert set(again.values()) == {0}  # nothing new: nothing counted, and never negative
    assert Counter(db.scalars(select(Notification.kind).where(Notification.channel == "email"))) == stored
    inapp = db.scalars(select(Notification.key).where(Notification.channel == "inapp")).all()
    assert inapp and len(inapp) == len(set(inapp))
