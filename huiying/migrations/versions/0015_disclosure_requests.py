"""disclosure_request: 依申请公开 requests, one per case

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("applicant_type", sa.String(length=20), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("form", sa.String(length=10), nullable=False),
        sa.Column("received_at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("correction_asked_at", huiying.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("correction_received_at", huiying.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("extended_at", huiying.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("answered_at", huiying.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=4), nullable=True),
        sa.Column("due_at", huiying.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_disclosure_request_case_id_case"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_request")),
        sa.UniqueConstraint("case_id", name=op.f("uq_disclosure_request_case_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_disclosure_request_reference")),
    )
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_request_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_disclosure_request_answered_at"), ["answered_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disclosure_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_request_answered_at"))
        batch_op.drop_index(batch_op.f("ix_disclosure_request_received_at"))
    op.drop_table("disclosure_request")
