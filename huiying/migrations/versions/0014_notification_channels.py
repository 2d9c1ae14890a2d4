"""notification channels: channel, fact, outage, read_at, user_id; unique (channel, key)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:20:00.000000

Old rows are email rows. Their fact is their key without the ":recipient" it ends with, and
the "SMTP server unreachable: " prefix of last_error becomes the `outage` flag. A downgrade
keeps the email rows only (the old code would mail the others) and writes the prefix back.
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UNREACHABLE = "SMTP server unreachable: "


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=10), server_default="email", nullable=False))
        batch_op.add_column(sa.Column("fact", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outage", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("read_at", huiying.models.UTCDateTime(timezone=True), nullable=True))

    notification = sa.table("notification", sa.column("key", sa.String), sa.column("recipient", sa.String),
                            sa.column("fact", sa.String), sa.column("outage", sa.Boolean),
                            sa.column("last_error", sa.Text))
    key, recipient = notification.c.key, notification.c.recipient
    suffix = sa.func.length(recipient) + 1  # ":" and the address
    ends_with_recipient = sa.func.substr(key, sa.func.length(key) - suffix + 1) == ":" + sa.func.lower(recipient)
    op.execute(notification.update().values(fact=sa.case(
        (ends_with_recipient, sa.func.substr(key, 1, sa.func.length(key) - suffix)), else_=key)))
    error = notification.c.last_error
    op.execute(notification.update().where(error.like(UNREACHABLE + "%"))
               .values(outage=True, last_error=sa.func.substr(error, len(UNREACHABLE) + 1)))

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("fact", existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_constraint("uq_notification_key", type_="unique")
        batch_op.create_unique_constraint("uq_notification_channel_key", ["channel", "key"])
        batch_op.create_foreign_key(batch_op.f("fk_notification_user_id_user"), "user", ["user_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_index("ix_notification_user", ["user_id", "id"], unique=False)
        batch_op.create_index("ix_notification_fact", ["fact"], unique=False)


def downgrade() -> None:
    notification = sa.table("notification", sa.column("channel", sa.String), sa.column("outage", sa.Boolean),
                            sa.column("last_error", sa.Text))
    op.execute(notification.delete().where(notification.c.channel != "email"))
    op.execute(notification.update().where(notification.c.outage.is_(True))
               .values(last_error=UNREACHABLE + sa.func.coalesce(notification.c.last_error, "")))

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_fact")
        batch_op.drop_index("ix_notification_user")
        batch_op.drop_constraint(batch_op.f("fk_notification_user_id_user"), type_="foreignkey")
        batch_op.drop_constraint("uq_notification_channel_key", type_="unique")
        batch_op.create_unique_constraint("uq_notification_key", ["key"])
        batch_op.drop_column("read_at")
        batch_op.drop_column("outage")
        batch_op.drop_column("user_id")
        batch_op.drop_column("fact")
        batch_op.drop_column("channel")
