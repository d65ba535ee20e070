"""auth tables: NOTIFY ecm_auth on every write, for the token cache (issue #15)

Every web process remembers the access tokens it found valid and forgets them all
when it hears `ecm_auth` (portal/services/token_cache.py). The notice is sent by
the database itself, in the writing transaction, so no write path can forget it:
the portal's services, a migration, an operator's SQL. PostgreSQL only: SQLite (the
embedded mode, one process) checks every token in the database.

Revision ID: f5a6b7c8d9e0
Revises: e4f5a6b7c8d9
Create Date: 2026-12-01 21:30:00

"""

from alembic import op

revision = "f5a6b7c8d9e0"
down_revision = "e4f5a6b7c8d9"
branch_labels = None
depends_on = None

TABLES = ("users", "revoked_access_tokens", "revoked_token_families")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION ecm_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('ecm_auth', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_auth_changed"
            f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION ecm_auth_changed()"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_auth_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ecm_auth_changed()")
