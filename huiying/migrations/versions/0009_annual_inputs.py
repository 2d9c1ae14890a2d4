"""annual report inputs entered by the admin

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 03:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annual_input",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"],
                                name=op.f("fk_annual_input_updated_by_id_user"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_input")),
        sa.UniqueConstraint("year", "key", name="uq_annual_input_year_key"),
    )
    with op.batch_alter_table("annual_input", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annual_input_year"), ["year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("annual_input", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annual_input_year"))
    op.drop_table("annual_input")
