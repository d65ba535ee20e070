"""Campaigns: the list with inline editing, a campaign's page, its contacts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from portal.models import BUSINESS_PARAMS, PHONES, Campaign, utcnow
from portal.services import campaigns, cisco, contacts, recycling, strategies
from portal.services.enums import OPEN_STATES, PENDING
from portal.services.errors import ServiceUnavailable, ValidationFailed
from portal.web.calling_rules import rule_form_data, rule_form_values
from portal.web.htmx import (
    expect_form,
    form_values,
    fragment,
    is_htmx_fragment,
    notice_only,
    render,
    service_input,
)
from portal.web.session import actor

bp = Blueprint("campaigns", __name__)

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Africa/Cairo",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
)
WEEK_DAYS = (
    (1, "Mon"),
    (2, "Tue"),
    (3, "Wed"),
    (4, "Thu"),
    (5, "Fri"),
    (6, "Sat"),
    (0, "Sun"),
)
TEXT_FIELDS = (
    "name",
    "description",
    "strategyId",
    "type",
    "crmCampaignId",
    "ciscoCampaignId",
    "startTime",
    "endTime",
    "timeZone",
    "dialerType",
    "skillGroup",
    "smsTemplate",
    "responseTimeout",
    "maxAbandonRate",
)
REQUIRED = ("name", "strategyId", "startTime", "endTime", "timeZone")
CONTACT_FIELDS = (
    *PHONES,
    *(f"businessParam{i}" for i in range(1, 13)),
    "dialTime",
    "duplicateCallbacks",
    "duplicateScope",
    "priority",
    "timeZone",
    "region",
)
PAGE_SIZE = 50


def campaign_values(campaign: Campaign | None) -> dict[str, Any]:
    """A campaign's fields under the form's (the API's) names."""
    if campaign is None:
        return {
            "weekDays": "1,2,3,4,5",
            "startTime": "09:00",
            "endTime": "17:00",
            "timeZone": "UTC",
            "type": "0",
            "enabled": True,
            "respectContactTimeZone": True,
            **rule_form_values(None, with_dates=True),
        }
    return {
        "name": campaign.name,
        "description": campaign.description or "",
        "strategyId": str(campaign.strategy_id),
        "type": str(campaign.type),
        "crmCampaignId": campaign.crm_campaign_id or "",
        "ciscoCampaignId": campaign.cisco_campaign_id or "",
        "startTime": campaign.start_time,
        "endTime": campaign.end_time,
        "weekDays": campaign.week_days,
        "timeZone": campaign.time_zone,
        "dialerType": campaign.dialer_type or "",
        "skillGroup": campaign.skill_group or "",
        "smsTemplate": campaign.sms_template or "",
        "responseTimeout": ""
        if campaign.response_timeout is None
        else str(campaign.response_timeout),
        "enabled": campaign.enabled,
        "respectContactTimeZone": campaign.respect_contact_time_zone,
        "maxAbandonRate": ""
        if campaign.max_abandon_rate is None
        else f"{campaign.max_abandon_rate:g}",
        **rule_form_values(campaign, with_dates=True),
    }


def _submitted() -> dict[str, Any]:
    values = form_values(request.form, lists=("weekDays",))
    values["weekDays"] = ",".join(values.get("weekDays") or [])
    values["enabled"] = "enabled" in request.form
    values["respectContactTimeZone"] = "respectContactTimeZone" in request.form
    return values


def _service_data(values: dict[str, Any], creating: bool) -> dict[str, Any]:
    """Turn the form into the service's input; an emptied optional field is cleared."""
    fields = TEXT_FIELDS if creating else tuple(f for f in TEXT_FIELDS if f != "type")
    data: dict[str, Any] = {}
    for name in fields:
        value = values.get(name, "")
        data[name] = None if value == "" else value
    if creating:
        data = {k: v for k, v in data.items() if v is not None}
    data["weekDays"] = values["weekDays"]
    data["enabled"] = values["enabled"]
    data["respectContactTimeZone"] = values["respectContactTimeZone"]
    rules = rule_form_data(values, with_dates=True)
    if creating:
        rules = {k: v for k, v in rules.items() if v not in (None, [])}
    data.update(rules)
    return data


def _dialer_campaigns() -> tuple[list[dict], str | None]:
    try:
        return cisco.fetch_cisco_campaigns(actor()), None
    except ServiceUnavailable as exc:
        return [], exc.message


def _form_context(
    campaign: Campaign | None, values: dict[str, Any], inline: bool
) -> dict:
    dialer_campaigns, dialer_error = _dialer_campaigns()
    return {
        "campaign": campaign,
        "v": values,
        "inline": inline,
        "strategies": strategies.list_strategies(actor()),
        "dialer_campaigns": dialer_campaigns,
        "dialer_error": dialer_error,
        "zones": COMMON_ZONES,
        "week_days": WEEK_DAYS,
    }


def _row_context(campaign: Campaign) -> dict:
    return {"c": campaign, "state": campaigns.window_state(campaign, utcnow())}


@bp.route("/campaigns")
@login_required
def index():
    rows, total = campaigns.list_campaigns(actor())
    now = utcnow()
    return render_template(
        "campaigns/index.html",
        rows=[(c, campaigns.window_state(c, now)) for c in rows],
        total=total,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def create():
    inline = is_htmx_fragment()
    if request.method == "GET":
        ctx = _form_context(None, campaign_values(None), inline)
        return render("campaigns/form_page.html", "campaigns/_form.html", **ctx)
    values = _submitted()
    expect_form(
        "campaigns/form_page.html",
        "campaigns/_form.html",
        build=lambda: _form_context(None, values, inline),
    )
    campaign = campaigns.create_campaign(actor(), _service_data(values, creating=True))
    message = f"Campaign “{campaign.name}” created."
    if inline:
        return fragment("campaigns/_created.html", message, **_row_context(campaign))
    flash(message, "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def edit(campaign_id: int):
    inline = is_htmx_fragment()
    campaign = campaigns.get_campaign(actor(), campaign_id)
    if request.method == "GET":
        ctx = _form_context(campaign, campaign_values(campaign), inline)
        return render("campaigns/form_page.html", "campaigns/_form.html", **ctx)
    values = _submitted()
    values["type"] = str(campaign.type)
    expect_form(
        "campaigns/form_page.html",
        "campaigns/_form.html",
        build=lambda: _form_context(campaign, values, inline),
    )
    data = _service_data(values, creating=False)
    campaign = campaigns.update_campaign(actor(), {"id": campaign.id, **data})
    message = f"Campaign “{campaign.name}” saved."
    if inline:
        return fragment(
            "campaigns/_row.html", message, oob=True, **_row_context(campaign)
        )
    flash(message, "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/status", methods=["POST"])
@login_required
def set_status(campaign_id: int):
    status = request.form.get("status", "")
    campaign, verb = campaigns.set_status(
        actor(), {"id": campaign_id, "status": status}
    )
    message = f"Campaign “{campaign.name}” {verb}."
    if is_htmx_fragment():
        return fragment("campaigns/_row.html", message, **_row_context(campaign))
    flash(message, "success")
    if request.form.get("back") == "page":
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    return redirect(url_for("campaigns.index"))


@bp.route("/campaigns/<int:campaign_id>/delete", methods=["POST"])
@login_required
def delete(campaign_id: int):
    campaign = campaigns.get_campaign(actor(), campaign_id)
    name = campaign.name
    campaigns.delete_campaign(actor(), campaign_id)
    message = f"Campaign “{name}” deleted with its contacts."
    if is_htmx_fragment():
        return fragment(None, message)
    flash(message, "success")
    return redirect(url_for("campaigns.index"))


def _contact_filters() -> dict[str, Any]:
    args = request.args
    return {
        "state": args.get("state", "").strip(),
        "result": args.get("result", "").strip(),
        "phone": args.get("phone", "").strip()[:64],
        "after": args.get("after", "").strip(),
    }


def _contacts_page(campaign: Campaign, filters: dict[str, Any]) -> dict:
    """One keyset page after `after`; one extra row tells whether more follow."""
    query: dict[str, Any] = {
        "campaignId": campaign.id,
        "afterId": filters["after"] or 0,
        "size": PAGE_SIZE + 1,
    }
    if filters["state"] != "":
        query["requestState"] = filters["state"]
    if filters["result"] != "":
        query["callResult"] = filters["result"]
    if filters["phone"]:
        query["phone"] = filters["phone"]
    rows, _ = contacts.list_contacts(actor(), query)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    base = {k: v for k, v in filters.items() if v and k != "after"}
    return {
        "contacts": rows,
        "filters": filters,
        "next_url": url_for(
            "campaigns.show", campaign_id=campaign.id, after=rows[-1].id, **base
        )
        if more
        else None,
        "first_url": url_for("campaigns.show", campaign_id=campaign.id, **base)
        if filters["after"]
        else None,
        "refresh_url": url_for(
            "campaigns.contacts_table", campaign_id=campaign.id, **filters
        ),
        "selection_url": url_for(
            "campaigns.recycle_selected",
            campaign_id=campaign.id,
            **{k: v for k, v in filters.items() if v},
        ),
    }


def _contact_form_context(campaign: Campaign, values: dict[str, Any]) -> dict:
    return {"campaign": campaign, "cv": values}


@bp.route("/campaigns/<int:campaign_id>")
@login_required
def show(campaign_id: int):
    campaign = campaigns.get_campaign(actor(), campaign_id)
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        state=campaigns.window_state(campaign, utcnow()),
        upload_kind="contacts",
        cv={"duplicateCallbacks": "allow"},
        **_contacts_page(campaign, _contact_filters()),
    )


@bp.route("/campaigns/<int:campaign_id>/contacts")
@login_required
def contacts_table(campaign_id: int):
    campaign = campaigns.get_campaign(actor(), campaign_id)
    ctx = _contacts_page(campaign, _contact_filters())
    if not is_htmx_fragment():
        return redirect(
            url_for("campaigns.show", campaign_id=campaign.id, **request.args)
        )
    return render_template("campaigns/_contacts.html", campaign=campaign, **ctx)


@bp.route("/campaigns/<int:campaign_id>/contacts/recycle", methods=["POST"])
@login_required
def recycle_selected(campaign_id: int):
    """Reopen the contacts ticked on the list; the list comes back with the outcome."""
    campaign = campaigns.get_campaign(actor(), campaign_id)
    ids = [i for i in request.form.getlist("ids") if i.strip()]
    filters = _contact_filters()
    try:  # the service checks the role first, then the selection
        out = recycling.recycle_selection(actor(), campaign.id, {"ids": ids})
    except ValidationFailed as exc:
        message = "; ".join(exc.fields.values()) if ids else "Select contacts first."
        if is_htmx_fragment():
            return notice_only(message, "error", 422)
        flash(message, "error")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    message = recycle_message(out)
    if not is_htmx_fragment():
        flash(message, "success")
        base = {k: v for k, v in filters.items() if v}
        return redirect(url_for("campaigns.show", campaign_id=campaign.id, **base))
    return fragment(
        "campaigns/_contacts.html",
        notice=message,
        campaign=campaign,
        **_contacts_page(campaign, filters),
    )


def recycle_message(out: dict[str, int]) -> str:
    """What a one-off recycle did, in words."""
    parts = [f"Reopened {out['reopened']} contact(s)."]
    if out["blockedDnc"]:
        parts.append(f"{out['blockedDnc']} on the DNC list stay closed.")
    if out["skipped"]:
        parts.append(f"{out['skipped']} were not closed and were left as they were.")
    return " ".join(parts)


@bp.route("/campaigns/<int:campaign_id>/contacts", methods=["POST"])
@login_required
def add_contact(campaign_id: int):
    campaign = campaigns.get_campaign(actor(), campaign_id)
    values = form_values(request.form)
    page_ctx = {
        "campaign": campaign,
        "state": campaigns.window_state(campaign, utcnow()),
        "upload_kind": "contacts",
        **_contacts_page(campaign, _contact_filters()),
    }
    expect_form(
        "campaigns/show.html",
        "campaigns/_contact_form.html",
        **{**page_ctx, **_contact_form_context(campaign, values)},
    )
    data = {"campaignId": campaign.id, **service_input(values, CONTACT_FIELDS)}
    contact = contacts.insert_contact(actor(), data)
    message = f"Contact #{contact.id} ({contact.phone1}) added."
    if contact.request_state != PENDING:
        message += " Its number is on the DNC list, so it will not be dialed."
    if is_htmx_fragment():
        return fragment(
            "campaigns/_contact_form.html",
            message,
            headers={"HX-Trigger": "contacts-changed"},
            **_contact_form_context(
                campaign,
                {"duplicateCallbacks": values.get("duplicateCallbacks", "allow")},
            ),
        )
    flash(message, "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.route("/contacts/<int:contact_id>")
@login_required
def contact(contact_id: int):
    item = contacts.get_contact(actor(), contact_id)
    campaign = campaigns.get_campaign(actor(), item.campaign_id)
    return render_template(
        "campaigns/contact.html",
        contact=item,
        campaign=campaign,
        history=contacts.contact_history(actor(), item),
        is_open=item.request_state in OPEN_STATES,
        business=[
            (i, getattr(item, column))
            for i, column in enumerate(BUSINESS_PARAMS, start=1)
            if getattr(item, column)
        ],
        phones=[
            (i, getattr(item, column))
            for i, column in enumerate(PHONES, start=1)
            if i == 1 or getattr(item, column)
        ],
    )


@bp.route("/contacts/<int:contact_id>/cancel", methods=["POST"])
@login_required
def cancel_contact(contact_id: int):
    item = contacts.cancel_contact(actor(), contact_id)
    flash(f"Contact #{item.id} cancelled; it will not be dialed again.", "success")
    return redirect(url_for("campaigns.contact", contact_id=item.id))
