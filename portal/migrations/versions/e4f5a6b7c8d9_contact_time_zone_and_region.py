"""contacts: an optional time zone and rule region given by the integrator (issue #12)

Revision ID: e4f5a6b7c8d9
Revises: d3e4f5a6b7c8
Create Date: 2026-12-01 14:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e4f5a6b7c8d9"
down_revision = "d3e4f5a6b7c8"
branch_labels = None
depends_on = None


def upgrade():
    # nullable, no default: PostgreSQL adds them without rewriting the table
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=10), nullable=True))


def downgrade():
    # a plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch operation would
    # rebuild the table on SQLite and lose the expression index ix_contacts_shuffle,
    # which the steering migration's downgrade then drops
    op.drop_column("contacts", "region")
    op.drop_column("contacts", "time_zone")
