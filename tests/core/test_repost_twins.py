"""A word-for-word repost joins the case its identical twin is in, also where the twin joined
that case as a near-duplicate and opened none (found by the fault drills' 10,000-comment runs,
tests/e2e/test_fault_drills.py; no fault was needed to show it)."""

from __future__ import annotations

from sqlalchemy import text

from huiying.cases import process_comments
from huiying.db import session_scope
from huiying.queue import BATCH
from tests.e2e.drill_services import store_comments

# The pipeline bench's texts (seed 7): the first reposts outside their twin's case come by then.
COMMENTS = 2100


def test_a_repost_joins_the_case_of_its_twin(database):
    ids = store_comments(database, COMMENTS)
    for start in range(0, len(ids), BATCH):  # one worker, one batch after the other: no fault
        with session_scope(database) as session:
            process_comments(session, ids[start:start + BATCH])
    with session_scope(database) as session:
        astray = session.execute(text(
            'SELECT c.id, c.case_id, k.id FROM comment c JOIN "case" k ON k.fingerprint = c.fingerprint '
            "WHERE c.case_id <> k.id")).all()
        split = session.execute(text(
            "SELECT fingerprint FROM comment WHERE case_id IS NOT NULL GROUP BY fingerprint "
            "HAVING count(DISTINCT case_id) > 1")).all()
    assert astray == [], "comments outside the case their text opened (comment, its case, the text's case)"
    assert split == [], "texts whose reposts are in several cases"
