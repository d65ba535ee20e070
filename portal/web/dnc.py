"""The do-not-call list: search, inline add/edit/delete, keyset pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from portal.models import DncEntry
from portal.services import dnc
from portal.web.htmx import expect_form, form_values, fragment, is_htmx_fragment, render
from portal.web.session import actor

bp = Blueprint("dnc", __name__)
PAGE_SIZE = 50


def _after() -> int:
    try:
        return max(int(request.args.get("after", "0")), 0)
    except ValueError:
        return 0


def _page_context() -> dict[str, Any]:
    """One keyset page after `after` (no COUNT); one extra row tells if more follow."""
    query = request.args.get("q", "").strip()[:40]
    after = _after()
    rows, _ = dnc.list_entries(
        actor(), search=query or None, after_id=after, limit=PAGE_SIZE + 1
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    base = {"q": query} if query else {}
    return {
        "entries": rows,
        "q": query,
        "after": after,
        "next_url": url_for("dnc.index", after=rows[-1].id, **base) if more else None,
        "first_url": url_for("dnc.index", **base) if after else None,
        "upload_kind": "dnc",
        "campaign": None,
    }


@bp.route("/dnc")
@login_required
def index():
    return render_template("dnc/index.html", **_page_context(), v={})


@bp.route("/dnc", methods=["POST"])
@login_required
def add():
    values = form_values(request.form)
    expect_form("dnc/index.html", "dnc/_add_form.html", **_page_context(), v=values)
    data = {
        "name": values.get("name") or None,
        "primaryNumber": values.get("primaryNumber", ""),
    }
    entry = dnc.add_entry(actor(), data)
    message = f"{entry.primary_number} is now on the DNC list."
    if is_htmx_fragment():
        return fragment("dnc/_added.html", message, e=entry, v={})
    flash(message, "success")
    return redirect(url_for("dnc.index"))


def _entry(entry_id: int) -> DncEntry:
    return dnc.get_entry(actor(), entry_id)


@bp.route("/dnc/<int:entry_id>")
@login_required
def row(entry_id: int):
    entry = _entry(entry_id)
    if not is_htmx_fragment():
        return redirect(url_for("dnc.index", q=entry.primary_number))
    return render_template("dnc/_row.html", e=entry)


@bp.route("/dnc/<int:entry_id>/edit")
@login_required
def edit(entry_id: int):
    entry = _entry(entry_id)
    ev = {"name": entry.name or "", "primaryNumber": entry.primary_number}
    return render("dnc/edit_page.html", "dnc/_edit_row.html", e=entry, ev=ev)


@bp.route("/dnc/<int:entry_id>", methods=["POST"])
@login_required
def update(entry_id: int):
    entry = _entry(entry_id)
    values = form_values(request.form)
    expect_form("dnc/edit_page.html", "dnc/_edit_row.html", e=entry, ev=values)
    entry = dnc.update_entry(
        actor(),
        {
            "id": entry.id,
            "name": values.get("name") or None,
            "primaryNumber": values.get("primaryNumber", ""),
        },
    )
    message = f"DNC entry {entry.primary_number} saved."
    if is_htmx_fragment():
        return fragment("dnc/_row.html", message, e=entry)
    flash(message, "success")
    return redirect(url_for("dnc.index"))


@bp.route("/dnc/<int:entry_id>", methods=["DELETE"])
@bp.route("/dnc/<int:entry_id>/delete", methods=["POST"])
@login_required
def delete(entry_id: int):
    entry = _entry(entry_id)
    number = entry.primary_number
    dnc.delete_entry(actor(), entry_id)
    message = f"{number} removed from the DNC list."
    if is_htmx_fragment():
        return fragment(None, message)
    flash(message, "success")
    return redirect(url_for("dnc.index"))
