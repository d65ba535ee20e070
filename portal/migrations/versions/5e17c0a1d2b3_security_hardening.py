"""security hardening: token families, portal sessions, case-folded name keys

Revision ID: 5e17c0a1d2b3
Revises: 03b934968645
Create Date: 2026-12-01 10:00:00

Name keys are filled in Python (NFKC + casefold, as the models do) so SQLite and
PostgreSQL enforce the same uniqueness rule. Rows whose keys already collide (names
that differ only in non-ASCII case, let through by SQLite's ASCII-only lower()) keep
their names; the later rows' keys get their id appended so the upgrade never fails.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "5e17c0a1d2b3"
down_revision = "03b934968645"
branch_labels = None
depends_on = None

KEYED = (
    ("campaigns", "name", "name_key", 255),
    ("call_strategies", "name", "name_key", 255),
    ("users", "username", "username_key", 80),
)


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).casefold().strip()


def _fill_keys(table: str, source: str, column: str) -> None:
    conn = op.get_bind()
    seen: set[str] = set()
    rows = conn.execute(sa.text(f"SELECT id, {source} FROM {table} ORDER BY id"))
    for row_id, name in rows.fetchall():
        key = _key(name)
        if key in seen:
            key = f"{key}#{row_id}"
        seen.add(key)
        conn.execute(
            sa.text(f"UPDATE {table} SET {column} = :key WHERE id = :id"),
            {"key": key, "id": row_id},
        )


def upgrade():
    op.create_table(
        "revoked_token_families",
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("family"),
    )
    with op.batch_alter_table("revoked_token_families", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_token_families_expires_at"),
            ["expires_at"],
            unique=False,
        )
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_sessions_user_id"), ["user_id"], unique=False
        )
    for table, source, column, length in KEYED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.String(length=length)))
        _fill_keys(table, source, column)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.String(length=length), nullable=False
            )
            batch_op.create_unique_constraint(f"uq_{table}_{column}", [column])


def downgrade():
    for table, _source, column, _length in reversed(KEYED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_{column}", type_="unique")
            batch_op.drop_column(column)
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_portal_sessions_expires_at"))
    op.drop_table("portal_sessions")
    with op.batch_alter_table("revoked_token_families", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_token_families_expires_at"))
    op.drop_table("revoked_token_families")
