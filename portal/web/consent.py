"""Consent and suppression pages: DNC lists, opt-outs, result effects, erasure.

Each section of the page is one partial holding its form and its table; a form posts
with HTMX and gets its section back (with field errors, 422, when refused).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.models import Campaign
from portal.services import dnc_lists, erasure, optouts, result_effects
from portal.services.enums import CALL_RESULTS
from portal.web.htmx import (
    expect_form,
    form_values,
    fragment,
    is_htmx_fragment,
    service_input,
)

bp = Blueprint("consent", __name__, url_prefix="/consent")
PAGE_SIZE = 50
REPORT_ROWS = 100
CHANNEL_CHOICES = [("both", "Voice and SMS"), ("voice", "Voice"), ("sms", "SMS")]


def _actor():
    return current_user._get_current_object()


def _campaign_choices() -> list[tuple[int, str]]:
    from sqlalchemy import select

    from portal.extensions import db

    return [
        (c.id, c.name)
        for c in db.session.scalars(select(Campaign).order_by(Campaign.name))
    ]


def _lists_ctx(v: dict | None = None) -> dict[str, Any]:
    return {
        "lists": dnc_lists.list_lists(_actor()),
        "counts": dnc_lists.entry_counts(),
        "campaign_choices": _campaign_choices(),
        "channel_choices": CHANNEL_CHOICES,
        "lv": v or {},
    }


def _optouts_ctx(v: dict | None = None) -> dict[str, Any]:
    return {
        "opt_outs": optouts.report(_actor(), limit=REPORT_ROWS),
        "deadline_days": optouts.deadline_days(),
        "channel_choices": CHANNEL_CHOICES,
        "ov": v or {},
    }


def _effects_ctx(v: dict | None = None) -> dict[str, Any]:
    return {
        "effects": result_effects.list_mappings(_actor()),
        "effect_choices": [
            (e.value, t) for e, t in result_effects.EFFECT_LABELS.items()
        ],
        "code_choices": [(c, f"{c} {n}") for c, n in CALL_RESULTS.items() if c],
        "list_choices": [(i.id, i.name) for i in dnc_lists.list_lists(_actor())],
        "ev": v or {},
    }


def _page_ctx() -> dict[str, Any]:
    return {
        **_lists_ctx(),
        **_optouts_ctx(),
        **_effects_ctx(),
        "rv": {},
        "erased": None,
    }


def _section(partial: str, message: str | None, ctx: dict[str, Any]):
    if is_htmx_fragment():
        return fragment(partial, message, **ctx)
    if message:
        flash(message, "success")
    return redirect(url_for("consent.index"))


@bp.route("")
@login_required
def index():
    return render_template("consent/index.html", **_page_ctx())


@bp.route("/lists", methods=["POST"])
@login_required
def create_list():
    values = form_values(request.form)
    expect_form("consent/index.html", "consent/_lists.html", _page_ctx, lv=values)
    data = service_input(values, ("name", "description", "campaignId", "channel"))
    item = dnc_lists.create_list(_actor(), data)
    return _section("consent/_lists.html", f"List {item.name} created.", _lists_ctx())


@bp.route("/lists/<int:list_id>/delete", methods=["POST"])
@login_required
def delete_list(list_id: int):
    item = dnc_lists.get_list(_actor(), list_id)
    name = item.name
    dnc_lists.delete_list(_actor(), list_id)
    return _section("consent/_lists.html", f"List {name} deleted.", _lists_ctx())


def _entries_ctx(list_id: int, v: dict | None = None) -> dict[str, Any]:
    query = request.args.get("q", "").strip()[:40]
    try:
        after = max(int(request.args.get("after", "0")), 0)
    except ValueError:
        after = 0
    rows, _ = dnc_lists.list_entries(
        _actor(), list_id, search=query or None, after_id=after, limit=PAGE_SIZE + 1
    )
    item = dnc_lists.get_list(_actor(), list_id)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    base = {"q": query} if query else {}
    next_url = (
        url_for("consent.show_list", list_id=list_id, after=rows[-1].id, **base)
        if more
        else None
    )
    return {
        "item": item,
        "entries": rows,
        "q": query,
        "next_url": next_url,
        "is_active": dnc_lists.is_active,
        "xv": v or {},
        "upload_counts": None,
    }


@bp.route("/lists/<int:list_id>")
@login_required
def show_list(list_id: int):
    return render_template("consent/list.html", **_entries_ctx(list_id))


@bp.route("/lists/<int:list_id>/entries", methods=["POST"])
@login_required
def add_entry(list_id: int):
    values = form_values(request.form)
    expect_form(
        "consent/list.html",
        "consent/_entries.html",
        lambda: _entries_ctx(list_id),
        xv=values,
    )
    data = service_input(
        values, ("primaryNumber", "name", "expiresAt", "reason", "source")
    )
    entry = dnc_lists.add_entry(_actor(), list_id, data)
    message = f"{entry.primary_number} added."
    if is_htmx_fragment():
        return fragment("consent/_entries.html", message, **_entries_ctx(list_id))
    flash(message, "success")
    return redirect(url_for("consent.show_list", list_id=list_id))


@bp.route("/entries/<int:entry_id>/delete", methods=["POST"])
@login_required
def delete_entry(entry_id: int):
    entry = dnc_lists.get_entry(_actor(), entry_id)
    list_id, number = entry.list_id, entry.primary_number
    dnc_lists.delete_entry(_actor(), entry_id)
    message = f"{number} removed."
    if is_htmx_fragment():
        return fragment("consent/_entries.html", message, **_entries_ctx(list_id))
    flash(message, "success")
    return redirect(url_for("consent.show_list", list_id=list_id))


@bp.route("/lists/<int:list_id>/upload", methods=["POST"])
@login_required
def upload_entries(list_id: int):
    expect_form(
        "consent/list.html", "consent/_entries.html", lambda: _entries_ctx(list_id)
    )
    storage = request.files.get("file")
    counts = dnc_lists.upload_entries(
        _actor(), list_id, storage.stream if storage else None
    )
    message = (
        f"{counts['added']} added, {counts['updated']} updated, "
        f"{counts['rejected']} rejected."
    )
    if is_htmx_fragment():
        ctx = {**_entries_ctx(list_id), "upload_counts": counts}
        return fragment("consent/_entries.html", message, **ctx)
    flash(message, "success")
    return redirect(url_for("consent.show_list", list_id=list_id))


@bp.route("/opt-outs", methods=["POST"])
@login_required
def record_opt_out():
    values = form_values(request.form)
    expect_form("consent/index.html", "consent/_optouts.html", _page_ctx, ov=values)
    data = service_input(values, ("number", "channel", "receivedAt", "source"))
    item = optouts.record_opt_out(_actor(), data)
    message = (
        f"Opt-out of {item.number} recorded; {item.contacts_closed} open "
        "contact(s) closed."
    )
    return _section("consent/_optouts.html", message, _optouts_ctx())


@bp.route("/effects", methods=["POST"])
@login_required
def set_effect():
    values = form_values(request.form)
    expect_form("consent/index.html", "consent/_effects.html", _page_ctx, ev=values)
    data = service_input(values, ("callResult", "effect", "listId"))
    result_effects.set_mapping(_actor(), data)
    return _section("consent/_effects.html", "Result effect saved.", _effects_ctx())


@bp.route("/effects/<int:code>/reset", methods=["POST"])
@login_required
def reset_effect(code: int):
    result_effects.reset_mapping(_actor(), code)
    return _section(
        "consent/_effects.html", f"Code {code} is back to its default.", _effects_ctx()
    )


@bp.route("/erase", methods=["POST"])
@login_required
def erase():
    values = form_values(request.form)
    expect_form(
        "consent/index.html", "consent/_erase.html", _page_ctx, rv=values, erased=None
    )
    data: dict[str, Any] = {"number": values.get("number", "")}
    data["keepSuppressed"] = values.get("keepSuppressed") == "1"
    removed = erasure.erase_number(_actor(), data)
    ctx = {"rv": {}, "erased": removed}
    return _section("consent/_erase.html", "The number was erased.", ctx)
