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


# Plain ALTER TABLE, no batch: a batch rebuilds SQLite's table from what it can reflect, and it
# cannot reflect the expression index ix_comment_written (0012), which would be lost.
def upgrade() -> None:
    op.add_column("comment", sa.Column("thread_id", sa.String(length=200), nullable=True))
    op.create_index("ix_comment_thread", "comment", ["source_id", "thread_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_comment_thread", table_name="comment")
    op.drop_column("comment", "thread_id")  # SQLite 3.35 and later drop a column in place
