"""indexes for the case list, overview and reports; case.search_text for Chinese search

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 5_000


def _backfill_search_text(bind) -> None:
    """Existing cases get their tokens (huiying/search.py), in batches."""
    from huiying.search import search_text

    case = sa.table("case", sa.column("id", sa.Integer), sa.column("title", sa.String),
                    sa.column("summary", sa.Text), sa.column("search_text", sa.Text))
    last = 0
    while True:
        rows = bind.execute(sa.select(case.c.id, case.c.title, case.c.summary)
                            .where(case.c.id > last).order_by(case.c.id).limit(BATCH)).all()
        if not rows:
            return
        bind.execute(case.update().where(case.c.id == sa.bindparam("row_id"))
                     .values(search_text=sa.bindparam("tokens")),
                     [{"row_id": i, "tokens": search_text(t, s)} for i, t, s in rows])
        last = rows[-1][0]


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.create_index("ix_case_first_seen", ["first_seen_at", "id"], unique=False)
        batch_op.create_index("ix_case_status_first_seen", ["status", "first_seen_at"], unique=False)
        batch_op.create_index("ix_case_department_first_seen", ["department_id", "first_seen_at"],
                              unique=False)
        batch_op.create_index("ix_case_due", ["due_at"], unique=False)
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_action_at", ["action", "at"], unique=False)
    op.create_index("ix_comment_written", "comment", [sa.text("coalesce(published_at, fetched_at)")],
                    unique=False)
    _backfill_search_text(bind)
    if bind.dialect.name == "postgresql":
        op.create_index("ix_case_search", "case", [sa.text("to_tsvector('simple', search_text)")],
                        unique=False, postgresql_using="gin")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_index("ix_case_search", table_name="case")
    op.drop_index("ix_comment_written", table_name="comment")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_case_event_action_at")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_due")
        batch_op.drop_index("ix_case_department_first_seen")
        batch_op.drop_index("ix_case_status_first_seen")
        batch_op.drop_index("ix_case_first_seen")
        batch_op.drop_column("search_text")
