"""heartbeat: the scheduler's last sign of life, for /readyz

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:05:00.000000
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeat",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("at", huiying.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeat")),
    )


def downgrade() -> None:
    op.drop_table("heartbeat")
