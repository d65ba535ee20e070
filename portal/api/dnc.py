"""/umm/ecm/contact: the DNC list."""

from __future__ import annotations

from flask import jsonify, request

from portal.api import serializers
from portal.api.core import (
    actor,
    body,
    endpoint,
    id_param,
    listing,
    paging,
    paging_params,
    target_id,
)
from portal.services import dnc
from portal.services.errors import ValidationFailed

ENTRY = {
    "type": "object",
    "required": ["id", "primaryNumber", "dataCreated", "dateCreated", "lastUpdated"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "updateById": {"type": ["integer", "null"]},
        "primaryNumber": {"type": "string"},
        "dataCreated": {"type": ["string", "null"]},
        "dateCreated": {"type": ["string", "null"]},
        "lastUpdated": {"type": ["string", "null"]},
        "expiresAt": {"type": ["string", "null"], "format": "date-time"},
        "source": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
    },
}


@endpoint(
    "/ecm/contact",
    ["GET"],
    "List DNC entries (search with ?q=)",
    "dnc",
    response={"type": "array", "items": ENTRY},
    params=[
        {
            "name": "q",
            "in": "query",
            "schema": {"type": "string", "maxLength": dnc.MAX_SEARCH},
        }
    ]
    + paging_params(),
    reads_only=True,
)
def list_dnc():
    offset, size = paging()
    search = request.args.get("q") or request.args.get("search")
    if search is not None and len(search) > dnc.MAX_SEARCH:
        raise ValidationFailed({"q": f"must be at most {dnc.MAX_SEARCH} characters"})
    items, total = dnc.list_entries(actor(), search=search, offset=offset, limit=size)
    return listing([serializers.dnc_entry(e) for e in items], total or 0)


@endpoint(
    "/ecm/contact/save",
    ["POST"],
    "Add a number to the DNC list",
    "dnc",
    body=dnc.DncIn,
    response=ENTRY,
)
def save_dnc():
    return jsonify(serializers.dnc_entry(dnc.add_entry(actor(), body())))


@endpoint(
    "/ecm/contact/update",
    ["POST", "PUT"],
    "Update a DNC entry",
    "dnc",
    body=dnc.DncUpdate,
    response=ENTRY,
)
def update_dnc():
    return jsonify(serializers.dnc_entry(dnc.update_entry(actor(), body())))


@endpoint(
    "/ecm/contact/delete",
    ["DELETE", "POST"],
    "Remove a DNC entry (204, no body)",
    "dnc",
    status=204,
    params=id_param(),
)
def delete_dnc():
    dnc.delete_entry(actor(), target_id())
    return "", 204
