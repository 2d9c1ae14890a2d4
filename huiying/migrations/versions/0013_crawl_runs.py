"""crawl_run: one row per crawl of a source, for crawl health

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:05:00.000000
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawl_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("robots_refused", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"], name=op.f("fk_crawl_run_source_id_source"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_run")),
    )
    op.create_index("ix_crawl_run_source_started", "crawl_run", ["source_id", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crawl_run_source_started", table_name="crawl_run")
    op.drop_table("crawl_run")
