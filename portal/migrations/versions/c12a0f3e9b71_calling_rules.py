"""calling rules: campaign dates, restricted dates, frequency policy, dial log

Revision ID: c12a0f3e9b71
Revises: 7c16a0f1e2d3
Create Date: 2026-12-01 10:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c12a0f3e9b71"
down_revision = "7c16a0f1e2d3"
branch_labels = None
depends_on = None

POLICY = (
    ("frequency_cap_count", sa.Integer()),
    ("frequency_cap_hours", sa.Integer()),
    ("min_gap_minutes", sa.Integer()),
    ("restricted_dates", sa.JSON()),
    ("holiday_calendars", sa.JSON()),
)


def upgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        for name, kind in POLICY:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("preference_settings", schema=None) as batch_op:
        for name, kind in POLICY:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "dial_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_key", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("dialed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dial_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dial_log_key_time", ["match_key", "dialed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dial_log_dialed_at"), ["dialed_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("dial_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dial_log_dialed_at"))
        batch_op.drop_index("ix_dial_log_key_time")
    op.drop_table("dial_log")
    with op.batch_alter_table("preference_settings", schema=None) as batch_op:
        for name, _ in reversed(POLICY):
            batch_op.drop_column(name)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        for name, _ in reversed(POLICY):
            batch_op.drop_column(name)
        batch_op.drop_column("end_date")
        batch_op.drop_column("start_date")
