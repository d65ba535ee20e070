"""dialer watermarks (how far the Dialer_Detail reader has read) and Cisco campaigns'
own max attempts

Revision ID: b7c1d2e3f4a5
Revises: 5e17c0a1d2b3
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7c1d2e3f4a5"
down_revision = "5e17c0a1d2b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dialer_watermarks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("db_datetime", sa.DateTime(), nullable=True),
        sa.Column("recovery_key", sa.Float(precision=53), nullable=True),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("cisco_campaigns") as batch:
        batch.add_column(sa.Column("max_attempts", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("cisco_campaigns") as batch:
        batch.drop_column("max_attempts")
    op.drop_table("dialer_watermarks")
