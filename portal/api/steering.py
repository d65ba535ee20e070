"""/umm/ecm steering: campaign reports, filter preview, recycling, callbacks."""

from __future__ import annotations

from flask import jsonify, request

from portal.api.core import actor, body, endpoint
from portal.api.exports import csv_response
from portal.services import callbacks, contact_filters, recycling, reports

COUNTS = {"type": "object", "properties": {"dials": {"type": "integer"}}}
TALLY = {
    "dials": {"type": "integer"},
    "connects": {"type": "integer"},
    "contactRate": {"type": ["number", "null"]},
}
RESULT = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "name": {"type": "string"},
        "count": {"type": "integer"},
    },
}
REPORT = {
    "type": "object",
    "required": ["id", "from", "to", "dials", "connects", "contactRate", "heatMap"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "timeZone": {"type": "string"},
        **TALLY,
        "attemptsPerConnect": {"type": ["number", "null"]},
        "results": {"type": "array", "items": RESULT},
        "byAttempt": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "attemptNumber": {"type": "integer"},
                    **TALLY,
                    "results": {"type": "array", "items": RESULT},
                },
            },
        },
        "byHour": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"hour": {"type": "integer"}, **TALLY},
            },
        },
        "byWeekday": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "weekday": {"type": "integer", "description": "0 = Sunday"},
                    "name": {"type": "string"},
                    **TALLY,
                },
            },
        },
        "heatMap": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "weekday": {"type": "integer"},
                    "hour": {"type": "integer"},
                    **TALLY,
                },
            },
        },
        "byUpload": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "uploadId": {"type": ["integer", "null"]},
                    "fileName": {"type": "string"},
                    **TALLY,
                },
            },
        },
    },
}
PERIOD = [
    {
        "name": name,
        "in": "query",
        # an empty value is read as not given (ReportQuery)
        "schema": {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]},
        "description": f"{what} day (YYYY-MM-DD, campaign zone, included)",
    }
    for name, what in (("from", "First"), ("to", "Last"))
]


def _period_args() -> dict:
    return {k: request.args[k] for k in ("from", "to") if k in request.args}


@endpoint(
    "/ecm/campaign/<int:campaign_id>/report",
    ["GET"],
    "A campaign's dials, connects, contact rate, results by attempt, hour, weekday "
    "and upload for a period (default the last 30 days)",
    "report",
    response=REPORT,
    params=PERIOD,
)
def get_report(campaign_id: int):
    return jsonify(reports.campaign_report(actor(), campaign_id, _period_args()))


@endpoint(
    "/ecm/campaign/<int:campaign_id>/report.csv",
    ["GET"],
    "The campaign report as CSV (formulas neutralised)",
    "report",
    produces="text/csv",
    params=PERIOD,
)
def get_report_csv(campaign_id: int):
    report = reports.campaign_report(actor(), campaign_id, _period_args())
    name = f"campaign-{report['id']}-report-{report['from']}-{report['to']}.csv"
    return csv_response(name, reports.CSV_HEADER, reports.report_rows(report))


class FilterPreviewIn(contact_filters.ContactFilter):
    """A contact filter to count, not saved."""


@endpoint(
    "/ecm/campaign/<int:campaign_id>/filterPreview",
    ["POST"],
    "How many pending contacts a contact filter keeps (not saved)",
    "campaign",
    body=FilterPreviewIn,
    response={
        "type": "object",
        "properties": {
            "kept": {"type": "integer"},
            "pending": {"type": "integer"},
            "contactFilter": {"type": ["object", "null"]},
        },
    },
)
def preview_filter(campaign_id: int):
    from portal.services import campaigns

    campaign = campaigns.get_campaign(actor(), campaign_id)
    kept, total, spec = contact_filters.kept_counts(actor(), campaign, body())
    return jsonify({"kept": kept, "pending": total, "contactFilter": spec})


@endpoint(
    "/ecm/campaign/<int:campaign_id>/recycle",
    ["POST"],
    "Reopen closed contacts now: by ids, or every one closed with callResults",
    "campaign",
    body=recycling.RecycleIn,
    response={
        "type": "object",
        "properties": {
            k: {"type": "integer"} for k in ("reopened", "blockedDnc", "skipped")
        },
    },
)
def recycle(campaign_id: int):
    return jsonify(recycling.recycle_selection(actor(), campaign_id, body()))


@endpoint(
    "/ecm/callback/scheduleCallback",
    ["POST"],
    "Call a contact back at a time (campaign zone, or ISO 8601 with Z)",
    "feed",
    body=callbacks.CallbackIn,
    response={
        "type": "object",
        "properties": {"message": {"type": "string"}, "id": {"type": "integer"}},
    },
)
def schedule_callback():
    contact = callbacks.schedule_callback(actor(), body())
    return jsonify({"message": "Callback scheduled", "id": contact.id})
