"""calendar overrides and entered holiday notices; crawl claims

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-02 03:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crawl_started_at", huiying.models.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        "calendar_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_working_day", sa.Boolean(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_override")),
    )
    with op.batch_alter_table("calendar_override", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_override_day"), ["day"], unique=False)
    op.create_table(
        "calendar_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_notice")),
        sa.UniqueConstraint("year", name=op.f("uq_calendar_notice_year")),
    )


def downgrade() -> None:
    op.drop_table("calendar_notice")
    with op.batch_alter_table("calendar_override", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_override_day"))
    op.drop_table("calendar_override")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("crawl_started_at")
