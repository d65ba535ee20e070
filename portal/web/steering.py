"""Steering a campaign in the portal: filter editor, dial order, recycling, callbacks,
and the campaign report with its SVG charts and CSV download."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import login_required

from portal.services import (
    callbacks,
    campaigns,
    contact_filters,
    contacts,
    recycling,
    reports,
)
from portal.services.dial_order import DIAL_ORDER_LABELS
from portal.services.errors import ValidationFailed
from portal.services.exports import csv_lines
from portal.web import charts
from portal.web.htmx import expect_form, is_htmx_fragment
from portal.web.session import actor

bp = Blueprint("steering", __name__)

OP_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "starts_with": "starts with",
    "empty": "is empty",
    "not_empty": "is not empty",
    "gte": "at least",
    "lte": "at most",
    "before": "before",
    "after": "on or after",
    "between": "between",
}
FIELD_LABELS = {
    **{f"businessParam{i}": f"Business parameter {i}" for i in range(1, 13)},
    "region": "Phone region (ISO code)",
    "prefix": "Number prefix (E.164)",
    "zone": "Phone time zone (IANA)",
    "uploadId": "Upload id",
    "dialTime": "Dial time",
    "priority": "Priority",
}
BLANK_RULE = {"field": "businessParam1", "op": "eq", "value": "", "value2": ""}


# -- form coercion ---------------------------------------------------------------------


def _rules_from_form(form) -> tuple[str, list[dict[str, Any]]]:
    """The editor rows as they were typed (value text kept for re-rendering)."""
    rows = []
    names = ("rule_field", "rule_op", "rule_value", "rule_value2")
    for field, op, value, value2 in zip(
        *(form.getlist(n) for n in names), strict=False
    ):
        ops = [o.value for o in contact_filters.FIELDS.get(field, ("", ()))[1]]
        if ops and op not in ops:  # the field changed: its first operator, as shown
            op = ops[0]
        rows.append({"field": field, "op": op, "value": value, "value2": value2})
    action = form.get("editor_action", "")
    if action == "add":
        rows.append(dict(BLANK_RULE))
    elif action.startswith("remove:") and action[7:].isdigit():
        index = int(action[7:])
        rows = [r for n, r in enumerate(rows) if n != index]
    return form.get("match", "all"), rows


def _filter_data(match: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Editor rows to the service's filter JSON: list values split at commas."""
    rules = []
    for row in rows:
        op, text = row["op"], row["value"].strip()
        if op in ("in", "not_in"):
            value: Any = [v.strip() for v in text.split(",") if v.strip()]
        elif op == "between":
            value = [text, row["value2"].strip()]
        elif op in ("empty", "not_empty"):
            value = None
        else:
            value = text
        rules.append({"field": row["field"], "op": op, "value": value})
    return {"match": match, "rules": rules}


def _rows_from_spec(
    spec: dict[str, Any] | None,
) -> tuple[str, list[dict], bool]:
    """(match, editor rows, nested) of a stored filter; nested groups are not edited."""
    if not spec:
        return "all", [], False
    rows, nested = [], False
    for rule in spec["rules"]:
        if "rules" in rule:
            nested = True
            continue
        value = rule["value"]
        if rule["op"] == "between":
            rows.append({**rule, "value": value[0], "value2": value[1]})
        elif isinstance(value, list):
            rows.append({**rule, "value": ", ".join(map(str, value)), "value2": ""})
        else:
            rows.append({**rule, "value": "" if value is None else value, "value2": ""})
    return spec["match"], rows, nested


def _recycle_from_form(form) -> list[dict[str, Any]]:
    rules = []
    names = ("recycle_results", "recycle_days", "recycle_times")
    for results, days, times in zip(*(form.getlist(n) for n in names), strict=False):
        if not results.strip() and not days.strip():
            continue
        codes = [c.strip() for c in results.replace(";", ",").split(",") if c.strip()]
        rules.append(
            {
                "callResults": codes,
                "afterDays": days.strip() or "0",
                "maxTimes": times.strip() or "1",
            }
        )
    return rules


# -- targeting page --------------------------------------------------------------------


def _count(campaign, data: dict[str, Any]) -> dict[str, Any]:
    try:
        kept, total, _ = contact_filters.kept_counts(actor(), campaign, data)
    except ValidationFailed as exc:
        return {
            "count_error": "; ".join(exc.fields.values()),
            "kept": None,
            "total": None,
        }
    return {"kept": kept, "total": total, "count_error": None}


def _editor_context(campaign, match: str, rows: list[dict], nested: bool = False):
    return {
        "campaign": campaign,
        "match": match,
        "rules": rows,
        "nested": nested,
        "field_labels": FIELD_LABELS,
        "op_labels": OP_LABELS,
        "field_ops": {
            name: [o.value for o in ops]
            for name, (_, ops) in contact_filters.FIELDS.items()
        },
        "phone_zones": contact_filters.zone_choices(),
        **_count(campaign, _filter_data(match, rows)),
    }


def _page_context(campaign, form=None) -> dict[str, Any]:
    if form is None:
        match, rows, nested = _rows_from_spec(campaign.contact_filter)
        order = campaign.dial_order or "due"
        recycle = campaign.recycle_rules or []
    else:
        (match, rows), nested = _rules_from_form(form), False
        order = form.get("dialOrder", "due")
        recycle = [
            {**r, "callResults": r["callResults"]} for r in _recycle_from_form(form)
        ]
    return {
        **_editor_context(campaign, match, rows, nested),
        "dial_order": order,
        "dial_orders": list(DIAL_ORDER_LABELS.items()),
        "recycle_rules": recycle,
        "described": contact_filters.describe(campaign.contact_filter),
    }


@bp.route("/campaigns/<int:campaign_id>/targeting", methods=["GET", "POST"])
@login_required
def targeting(campaign_id: int):
    campaign = campaigns.get_campaign(actor(), campaign_id)
    if request.method == "GET":
        return render_template("campaigns/targeting.html", **_page_context(campaign))
    match, rows = _rules_from_form(request.form)
    expect_form(
        "campaigns/targeting.html",
        "campaigns/targeting.html",
        **_page_context(campaign, request.form),
    )
    campaigns.update_campaign(
        actor(),
        {
            "id": campaign.id,
            "dialOrder": request.form.get("dialOrder", "due"),
            "contactFilter": _filter_data(match, rows),
            "recycleRules": _recycle_from_form(request.form),
        },
    )
    flash(f"Targeting of “{campaign.name}” saved.", "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>/targeting/editor", methods=["POST"])
@login_required
def filter_editor(campaign_id: int):
    """Add, remove or retype a condition: the editor comes back with a fresh count."""
    campaign = campaigns.get_campaign(actor(), campaign_id)
    if not is_htmx_fragment():
        return render_template(
            "campaigns/targeting.html", **_page_context(campaign, request.form)
        )
    match, rows = _rules_from_form(request.form)
    return render_template(
        "campaigns/_filter_editor.html", **_editor_context(campaign, match, rows)
    )


@bp.route("/campaigns/<int:campaign_id>/targeting/count", methods=["POST"])
@login_required
def filter_count(campaign_id: int):
    """The live "keeps N of M" line while the filter is being typed."""
    campaign = campaigns.get_campaign(actor(), campaign_id)
    match, rows = _rules_from_form(request.form)
    return render_template(
        "campaigns/_filter_count.html",
        campaign=campaign,
        **_count(campaign, _filter_data(match, rows)),
    )


@bp.route("/campaigns/<int:campaign_id>/recycle", methods=["POST"])
@login_required
def recycle(campaign_id: int):
    codes = [c for c in request.form.getlist("callResults") if c.strip()]
    out = recycling.recycle_selection(actor(), campaign_id, {"callResults": codes})
    flash(
        f"Reopened {out['reopened']} contact(s); {out['blockedDnc']} were on the DNC "
        "list and stay closed.",
        "success",
    )
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


# -- a contact's callback and reopening ------------------------------------------------


@bp.route("/contacts/<int:contact_id>/callback", methods=["POST"])
@login_required
def schedule_callback(contact_id: int):
    when = request.form.get("callbackTime", "").strip().replace("T", " ")
    contact = callbacks.schedule_callback(
        actor(), {"id": contact_id, "callbackTime": when}
    )
    flash(f"Contact #{contact.id} will be called back at {when}.", "success")
    return redirect(url_for("campaigns.contact", contact_id=contact.id))


@bp.route("/contacts/<int:contact_id>/reopen", methods=["POST"])
@login_required
def reopen(contact_id: int):
    contact = contacts.get_contact(actor(), contact_id)
    out = recycling.recycle_selection(
        actor(), contact.campaign_id, {"ids": [contact.id]}
    )
    if out["reopened"]:
        flash(f"Contact #{contact.id} reopened at the first attempt.", "success")
    else:
        flash(f"Contact #{contact.id} was not reopened (DNC or not closed).", "error")
    return redirect(url_for("campaigns.contact", contact_id=contact.id))


# -- report ----------------------------------------------------------------------------


def _period_args() -> dict[str, str]:
    return {k: request.args[k] for k in ("from", "to") if request.args.get(k)}


@bp.route("/campaigns/<int:campaign_id>/report")
@login_required
def report(campaign_id: int):
    campaign = campaigns.get_campaign(actor(), campaign_id)
    args = _period_args()
    expect_form(
        "campaigns/report.html",
        "campaigns/report.html",
        campaign=campaign,
        report=None,
        args=args,
    )
    data = reports.campaign_report(actor(), campaign.id, args)
    return render_template(
        "campaigns/report.html",
        campaign=campaign,
        report=data,
        args=args,
        attempts_chart=charts.bars(data["byAttempt"], "attemptNumber"),
        hours_chart=charts.bars(data["byHour"], "hour"),
        heat=charts.heat_map(data["heatMap"], reports.WEEKDAYS),
    )


@bp.route("/campaigns/<int:campaign_id>/report.csv")
@login_required
def report_csv(campaign_id: int):
    data = reports.campaign_report(actor(), campaign_id, _period_args())
    response = Response(
        stream_with_context(csv_lines(reports.CSV_HEADER, reports.report_rows(data))),
        mimetype="text/csv",
    )
    name = f"campaign-{data['id']}-report-{data['from']}-{data['to']}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
