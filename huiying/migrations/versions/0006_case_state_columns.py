"""case state columns

Also the replying unit and closing time of imported comments. The facts that readers used to dig out of event JSON become columns of the case, kept by
huiying/workflow.py; existing rows are filled from their events (the history stays as it is).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
import huiying.models


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

IMPORT_KIND = "import"  # huiying.sources.IMPORT_KIND at the time of writing


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_type", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("first_comment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("first_reply_at", huiying.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("replied_on_time", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("initial_severity", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", huiying.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index("ix_case_merged_into_id", ["merged_into_id"], unique=False)
        batch_op.create_index("ix_case_first_reply_at", ["first_reply_at"], unique=False)
        batch_op.create_foreign_key("fk_case_merged_into_id_case", "case", ["merged_into_id"], ["id"],
                                    ondelete="SET NULL")
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_unit", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("closed_at", huiying.models.UTCDateTime(timezone=True),
                                      nullable=True))
    _backfill()


def _backfill() -> None:
    """Fill the new columns of existing cases from their events and first comments."""
    bind = op.get_bind()
    case = sa.table("case", sa.column("id", sa.Integer), sa.column("severity", sa.String),
                    sa.column("request_type", sa.String), sa.column("first_comment_id", sa.Integer),
                    sa.column("merged_into_id", sa.Integer),
                    sa.column("first_reply_at", huiying.models.UTCDateTime(timezone=True)),
                    sa.column("replied_on_time", sa.Boolean), sa.column("initial_severity", sa.String),
                    sa.column("escalated_at", huiying.models.UTCDateTime(timezone=True)))
    event = sa.table("case_event", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                     sa.column("at", huiying.models.UTCDateTime(timezone=True)),
                     sa.column("action", sa.String), sa.column("data", sa.JSON))
    comment = sa.table("comment", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
                       sa.column("source_id", sa.Integer), sa.column("request_type", sa.String))
    source = sa.table("source", sa.column("id", sa.Integer), sa.column("kind", sa.String))

    values: dict[int, dict] = {}
    for case_id, severity in bind.execute(sa.select(case.c.id, case.c.severity)):
        values[case_id] = {"initial_severity": severity}
    if not values:
        return
    for case_id, comment_id in bind.execute(
            sa.select(comment.c.case_id, sa.func.min(comment.c.id))
            .where(comment.c.case_id.is_not(None)).group_by(comment.c.case_id)):
        if case_id in values:
            values[case_id]["first_comment_id"] = comment_id
    rows = bind.execute(sa.select(event.c.case_id, event.c.at, event.c.action, event.c.data)
                        .where(event.c.action.in_(["create", "merge", "reply", "escalate"]))
                        .order_by(event.c.id))
    for case_id, at, action, data in rows:
        state = values.get(case_id)
        data = data if isinstance(data, dict) else {}
        if state is None:
            continue
        if action == "create" and data.get("comment_id"):
            state["first_comment_id"] = data["comment_id"]
        elif action == "merge" and data.get("into"):
            state["merged_into_id"] = data["into"]
        elif action == "reply" and "first_reply_at" not in state:
            state["first_reply_at"] = at
            state["replied_on_time"] = bool(data.get("on_time"))
        elif action == "escalate":
            if not state.get("escalated"):
                state["initial_severity"] = data.get("from") or state["initial_severity"]
            state["escalated"] = True
            state["escalated_at"] = at
    types = dict(bind.execute(
        sa.select(comment.c.id, comment.c.request_type).join(source, comment.c.source_id == source.c.id)
        .where(source.c.kind == IMPORT_KIND, comment.c.request_type.is_not(None))).all())
    for case_id, state in values.items():
        state.pop("escalated", None)
        if state.get("first_comment_id") in types:
            state["request_type"] = types[state["first_comment_id"]]
        bind.execute(sa.update(case).where(case.c.id == case_id).values(**state))


def downgrade() -> None:
    with op.batch_alter_table("comment", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("reply_unit")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_merged_into_id_case", type_="foreignkey")
        batch_op.drop_index("ix_case_first_reply_at")
        batch_op.drop_index("ix_case_merged_into_id")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("initial_severity")
        batch_op.drop_column("replied_on_time")
        batch_op.drop_column("first_reply_at")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("first_comment_id")
        batch_op.drop_column("request_type")
