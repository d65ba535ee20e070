"""/umm/ecm/callback: campaign contacts."""

from __future__ import annotations

from flask import jsonify

from portal.api import serializers
from portal.api.core import actor, body, endpoint, merged_input, model_params
from portal.extensions import db
from portal.models import Campaign
from portal.services import contacts

CONTACT = {
    "type": "object",
    "required": ["id", "campaignId", "phone1", "requestState", "callResult"],
    "properties": {  # beyond the seed's fields: optional, null when not given
        "timeZone": {"type": ["string", "null"], "description": "IANA zone"},
        "region": {"type": ["string", "null"], "description": "ISO 3166 region"},
    },
}


def serialize_contacts(items: list) -> list[dict]:
    cache: dict[int, Campaign | None] = {}
    out = []
    for c in items:
        if c.campaign_id not in cache:
            cache[c.campaign_id] = db.session.get(Campaign, c.campaign_id)
        out.append(serializers.contact(c, cache[c.campaign_id]))
    return out


@endpoint(
    "/ecm/callback/insertCallback",
    ["POST"],
    "Add one contact to a campaign",
    "callback",
    body=contacts.ContactIn,
    response={
        "type": "object",
        "required": ["statusString"],
        "properties": {
            "statusString": {"type": "string"},
            "id": {"type": "integer"},
            "requestState": {"type": "integer"},
        },
    },
)
def insert_callback():
    contact = contacts.insert_contact(actor(), body())
    return jsonify(
        {
            "statusString": "callback data saved",
            "id": contact.id,
            "requestState": contact.request_state,
        }
    )


@endpoint(
    "/ecm/callback/getList",
    ["GET", "POST"],
    "Campaign contacts with their state (query or JSON body)",
    "callback",
    body=contacts.ListFilter,
    response={
        "type": "object",
        "required": ["callbackData", "total"],
        "properties": {
            "callbackData": {"type": "array", "items": CONTACT},
            "total": {"type": ["integer", "null"]},
        },
    },
    params=model_params(contacts.ListFilter),
    reads_only=True,
)
def get_list():
    items, total = contacts.list_contacts(actor(), merged_input(contacts.ListFilter))
    return jsonify({"callbackData": serialize_contacts(items), "total": total})
