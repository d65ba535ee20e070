"""flask commands: init-db, create-user, seed-demo (worker commands: worker/cli.py)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(init_db)
    app.cli.add_command(seed_demo)
    app.cli.add_command(erase_number_command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Upgrade the schema and create the first administrator."""
    from flask import current_app

    from portal import initialise_database

    initialise_database(current_app)
    click.echo("database ready")


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    default="Viewer",
    type=click.Choice(["Administrator", "Supervisor", "Viewer"]),
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_user(username: str, role: str, password: str) -> None:
    """Create a portal/API user."""
    from portal.services import users
    from portal.services.errors import ValidationFailed

    try:
        user = users.create_user(
            None,
            {"username": username, "password": password, "role": role},
            system=True,
        )
    except ValidationFailed as exc:
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        ) from None
    click.echo(f"created {user.username} ({user.role})")


@click.command("seed-demo")
@click.option("--contacts", default=300, show_default=True)
@with_appcontext
def seed_demo(contacts: int) -> None:
    """Load a believable demo: strategies, campaigns, DNC entries and contacts."""
    from portal.services import demo
    from portal.services.errors import ServiceError

    try:
        summary = demo.seed(contacts)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(", ".join(f"{k}: {v}" for k, v in summary.items()))


@click.command("erase-number")
@click.argument("number")
@click.option(
    "--keep-suppressed/--forget-completely",
    default=None,
    help="Keep the number's match key as a keyed hash so it is not dialed again "
    "(default: ECM_ERASURE_KEEP_HASH).",
)
@with_appcontext
def erase_number_command(number: str, keep_suppressed: bool | None) -> None:
    """Forget a phone number across the product (a data subject's erasure request)."""
    from portal.services import erasure
    from portal.services.errors import ValidationFailed

    data: dict = {"number": number}
    if keep_suppressed is not None:
        data["keepSuppressed"] = keep_suppressed
    try:
        removed = erasure.erase_number(None, data, system=True)
    except ValidationFailed as exc:
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        ) from None
    click.echo(
        "erased: " + ", ".join(f"{k} {v}" for k, v in sorted(removed.items()) if v)
    )
