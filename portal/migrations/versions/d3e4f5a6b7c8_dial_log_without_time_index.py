"""dial log: drop the index on dialed_at (every dial paid for it; pruning goes by id)

Revision ID: d3e4f5a6b7c8
Revises: 5608eac4630c
Create Date: 2026-12-01 11:05:00

"""

import sqlalchemy as sa  # noqa: F401 - alembic's template import
from alembic import op

revision = "d3e4f5a6b7c8"
down_revision = "5608eac4630c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dial_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dial_log_dialed_at"))


def downgrade():
    with op.batch_alter_table("dial_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dial_log_dialed_at"), ["dialed_at"], unique=False
        )
