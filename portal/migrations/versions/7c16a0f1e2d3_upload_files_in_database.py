"""uploaded files kept in the database (issue #16: no shared disk between hosts)

Revision ID: 7c16a0f1e2d3
Revises: b7c1d2e3f4a5
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c16a0f1e2d3"
down_revision = "b7c1d2e3f4a5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "upload_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("upload_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_files_upload_id"), ["upload_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_upload_files_created_at"), ["created_at"], unique=False
        )
    op.create_table(
        "upload_file_chunks",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["upload_files.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("file_id", "seq"),
    )


def downgrade():
    op.drop_table("upload_file_chunks")
    with op.batch_alter_table("upload_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_files_created_at"))
        batch_op.drop_index(batch_op.f("ix_upload_files_upload_id"))
    op.drop_table("upload_files")
