"""/umm/ecm feed endpoints: call results in, why-not-dialed, campaign statistics."""

from __future__ import annotations

from flask import jsonify

from portal.api.core import actor, body, endpoint
from portal.services import stats
from portal.services.feed import eligibility, results

REASON = {
    "type": "object",
    "required": ["code", "label", "message"],
    "properties": {
        k: {"type": "string"}
        for k in ("code", "label", "message", "rule", "source", "liftsAt")
    },
}
ELIGIBILITY = {
    "type": "object",
    "required": ["id", "eligible", "reasons", "checkedAt"],
    "properties": {
        "id": {"type": "integer"},
        "eligible": {"type": "boolean"},
        "checkedAt": {"type": "string"},
        "numberToCall": {"type": ["string", "null"]},
        "attemptNumber": {"type": ["integer", "null"]},
        "channel": {"type": ["integer", "null"]},
        "timeZones": {"type": "array", "items": {"type": "string"}},
        "region": {
            "type": ["string", "null"],
            "description": "the rule region applied (ISO 3166, e.g. US-FL)",
        },
        "timeZoneFrom": {
            "type": ["string", "null"],
            "enum": ["contact", "number", None],
            "description": "contact: the contact's timeZone; number: its number's",
        },
        "regionFrom": {"type": ["string", "null"], "enum": ["contact", "number", None]},
        "reasons": {"type": "array", "items": REASON},
        "nextEligibleAt": {"type": ["string", "null"], "format": "date-time"},
        "neverEligibleBecause": {"type": ["string", "null"]},
    },
}
STATS = {
    "type": "object",
    "required": [
        "id",
        "states",
        "results",
        "dialsPerHour",
        "feedLagSeconds",
        "eligibility",
        "abandonRate24h",
        "abandonRate30d",
    ],
    "properties": {
        "abandonRate24h": {"type": "number", "description": "percent of live answers"},
        "abandonRate30d": {"type": "number", "description": "percent of live answers"},
        "maxAbandonRate": {"type": ["number", "null"]},
        "pauseReason": {"type": ["string", "null"]},
    },
}


@endpoint(
    "/ecm/callback/result",
    ["POST"],
    "Report a call result for a dispatched contact (applied by the next feed tick)",
    "feed",
    body=results.ResultIn,
    response={
        "type": "object",
        "required": ["message", "id"],
        "properties": {"message": {"type": "string"}, "id": {"type": "integer"}},
    },
)
def post_result():
    contact = results.receive_result(actor(), body())
    return jsonify({"message": "Result accepted", "id": contact.id})


@endpoint(
    "/ecm/callback/<int:contact_id>/eligibility",
    ["GET"],
    "May this contact be dialed now, and if not, every reason why",
    "feed",
    response=ELIGIBILITY,
)
def get_eligibility(contact_id: int):
    return jsonify(eligibility.as_dict(eligibility.explain(actor(), contact_id)))


@endpoint(
    "/ecm/campaign/<int:campaign_id>/stats",
    ["GET"],
    "A campaign's contacts by state, results, dials per hour, feed lag, eligibility",
    "feed",
    response=STATS,
)
def get_stats(campaign_id: int):
    return jsonify(stats.campaign_stats(actor(), campaign_id))
