"""hot-word terms counted per local day (term_day, term_day_total) and per comment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UNCOUNTED = sa.text("relevant AND processed_at IS NOT NULL AND terms_day IS NULL")


def upgrade() -> None:
    op.create_table(
        "term_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "term", name=op.f("pk_term_day")),
    )
    op.create_index("ix_term_day_term_day", "term_day", ["term", "day"], unique=False)
    op.create_table(
        "term_day_total",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_term_day_total")),
    )
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("terms_day", sa.Date(), nullable=True))
    # After the columns exist (a batch on SQLite rebuilds the table at the end of the block).
    op.create_index("ix_comment_terms_uncounted", "comment", ["id"], unique=False,
                    postgresql_where=UNCOUNTED, sqlite_where=UNCOUNTED)


def downgrade() -> None:
    op.drop_index("ix_comment_terms_uncounted", table_name="comment")
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_column("terms_day")
        batch_op.drop_column("terms")
    op.drop_table("term_day_total")
    op.drop_index("ix_term_day_term_day", table_name="term_day")
    op.drop_table("term_day")
