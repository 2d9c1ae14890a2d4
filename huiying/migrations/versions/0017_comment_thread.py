"""comment.thread_id: a forum floor names its thread's post, whose case it joins

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 10:55:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("comment") as batch:
        batch.add_column(sa.Column("thread_id", sa.String(length=200), nullable=True))
        batch.create_index("ix_comment_thread", ["source_id", "thread_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("comment") as batch:
        batch.drop_index("ix_comment_thread")
        batch.drop_column("thread_id")
