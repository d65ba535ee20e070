"""steering: contact filters, priority, dial order, recycling, callbacks, report counts

Revision ID: b7c41e2d9a10
Revises: c12a0f3e9b71
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7c41e2d9a10"
down_revision = "c12a0f3e9b71"
branch_labels = None
depends_on = None

PENDING = sa.text("request_state = 0")
CALLBACK = sa.text("request_state = 0 AND callback_at IS NOT NULL")
CLOSED = sa.text("request_state IN (2, 3, 4)")
SHUFFLE = "((id * 2654435761) & 4294967295)"


def _partial(name, columns, where):
    op.create_index(
        name,
        "contacts",
        columns,
        unique=False,
        postgresql_where=where,
        sqlite_where=where,
    )


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dial_order", sa.String(length=16), server_default="due", nullable=False
            )
        )
        batch_op.add_column(sa.Column("contact_filter", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("recycle_rules", sa.JSON(), nullable=True))
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("callback_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("recycle_count", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("call_result_inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "duplicate_scope",
                sa.String(length=8),
                server_default="campaign",
                nullable=False,
            )
        )
    _partial(
        "ix_contacts_priority",
        ["campaign_id", sa.column("priority").desc(), "dial_time", "id"],
        PENDING,
    )
    _partial("ix_contacts_newest", ["campaign_id", "id"], PENDING)
    _partial("ix_contacts_shuffle", ["campaign_id", sa.text(SHUFFLE), "id"], PENDING)
    _partial("ix_contacts_callback", ["campaign_id", "callback_at"], CALLBACK)
    _partial(
        "ix_contacts_recycle",
        ["campaign_id", "call_result", "last_status_update_time"],
        CLOSED,
    )
    op.create_table(
        "attempt_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.DateTime(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("dials", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "campaign_id", "kind", "bucket", "dimension", "outcome"
        ),
    )
    _backfill_counts()


def _backfill_counts():
    """Count the attempt history recorded before this revision (a frozen copy of
    portal/services/reports.py rebuild_sql, for every campaign at once)."""
    if op.get_bind().dialect.name == "postgresql":
        hour = "date_trunc('hour', a.result_at)"
        quarter = (
            f"{hour} + floor(extract(minute FROM a.result_at) / 15) "
            "* interval '15 minutes'"
        )
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', a.result_at)"
        quarter = (
            "strftime('%Y-%m-%d %H:', a.result_at) || printf('%02d:00.000000', "
            "(CAST(strftime('%M', a.result_at) AS INTEGER) / 15) * 15)"
        )
    connect = "CASE WHEN a.call_result IN (10, 100) THEN 1 ELSE 0 END"
    head = (
        "INSERT INTO attempt_counts (campaign_id, kind, bucket, dimension, outcome, "
        "dials) SELECT a.campaign_id, "
    )
    for statement in (
        f"{head}1, {quarter}, 0, {connect}, count(*) FROM contact_attempts a "
        f"GROUP BY a.campaign_id, {quarter}, {connect}",
        f"{head}2, {hour}, a.attempt_number, a.call_result, count(*) "
        "FROM contact_attempts a "
        f"GROUP BY a.campaign_id, {hour}, a.attempt_number, a.call_result",
        f"{head}3, {hour}, COALESCE(c.upload_id, 0), {connect}, count(*) "
        "FROM contact_attempts a LEFT JOIN contacts c ON c.id = a.contact_id "
        f"GROUP BY a.campaign_id, {hour}, COALESCE(c.upload_id, 0), {connect}",
    ):
        op.execute(statement)


def downgrade():
    op.drop_table("attempt_counts")
    for name in (
        "ix_contacts_recycle",
        "ix_contacts_callback",
        "ix_contacts_shuffle",
        "ix_contacts_newest",
        "ix_contacts_priority",
    ):
        op.drop_index(name, table_name="contacts")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_column("duplicate_scope")
    with op.batch_alter_table("call_result_inbox", schema=None) as batch_op:
        batch_op.drop_column("callback_at")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("recycle_count")
        batch_op.drop_column("callback_at")
        batch_op.drop_column("priority")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("recycle_rules")
        batch_op.drop_column("contact_filter")
        batch_op.drop_column("dial_order")
