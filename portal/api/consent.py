"""/umm/ecm consent and suppression: DNC lists, opt-outs, result effects, erasure."""

from __future__ import annotations

from flask import jsonify, request

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
from portal.api.uploads import FILE
from portal.models import DncList, DncListEntry, iso_z
from portal.services import dnc_lists, erasure, optouts, result_effects
from portal.services.suppression import INSTANT_SCHEMA as INSTANT

CHANNELS = ["voice", "sms", "both"]
LIST = {
    "type": "object",
    "required": ["id", "name", "channel", "entries"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "campaignId": {"type": ["integer", "null"]},
        "channel": {"type": "string", "enum": CHANNELS},
        "entries": {"type": "integer"},
        "dateCreated": {"type": ["string", "null"]},
        "lastUpdated": {"type": ["string", "null"]},
    },
}
ENTRY = {
    "type": "object",
    "required": ["id", "listId", "primaryNumber"],
    "properties": {
        "id": {"type": "integer"},
        "listId": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "primaryNumber": {"type": "string"},
        "expiresAt": {"type": ["string", "null"], "format": "date-time"},
        "source": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
        "dateCreated": {"type": ["string", "null"]},
        "lastUpdated": {"type": ["string", "null"]},
    },
}
OPT_OUT = {
    "type": "object",
    "required": ["id", "number", "channel", "receivedAt", "effectiveAt"],
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string"},
        "channel": {"type": "string", "enum": CHANNELS},
        "source": {"type": ["string", "null"]},
        "receivedAt": {"type": "string", "format": "date-time"},
        "effectiveAt": {"type": "string", "format": "date-time"},
        "secondsToEffect": {"type": "integer"},
        "businessDaysToEffect": {"type": "integer"},
        "deadline": {"type": "string", "format": "date-time"},
        "withinDeadline": {"type": "boolean"},
        "contactsClosed": {"type": "integer"},
    },
}
EFFECT = {
    "type": "object",
    "required": ["callResult", "effect", "default"],
    "properties": {
        "callResult": {"type": "integer"},
        "name": {"type": "string"},
        "effect": {"type": "string", "enum": [e.value for e in result_effects.Effect]},
        "label": {"type": "string"},
        "listId": {"type": ["integer", "null"]},
        "default": {"type": "boolean"},
    },
}
ERASED = {
    "type": "object",
    "required": ["message", "removed"],
    "properties": {
        "message": {"type": "string"},
        "removed": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}
ID_PARAM = id_param()
PAGE_PARAMS = paging_params()


def list_json(item: DncList, counts: dict[int, int] | None = None) -> dict:
    counts = counts if counts is not None else dnc_lists.entry_counts()
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "campaignId": item.campaign_id,
        "channel": item.channel,
        "entries": counts.get(item.id, 0),
        "dateCreated": iso_z(item.date_created),
        "lastUpdated": iso_z(item.last_updated),
    }


def entry_json(e: DncListEntry) -> dict:
    return {
        "id": e.id,
        "listId": e.list_id,
        "name": e.name,
        "primaryNumber": e.primary_number,
        "expiresAt": iso_z(e.expires_at),
        "source": e.source,
        "reason": e.reason,
        "active": dnc_lists.is_active(e),
        "dateCreated": iso_z(e.date_created),
        "lastUpdated": iso_z(e.last_updated),
    }


@endpoint(
    "/ecm/dncList",
    ["GET"],
    "Named DNC lists (global or a campaign's; voice, sms or both)",
    "consent",
    response={"type": "array", "items": LIST},
)
def lists_index():
    items = dnc_lists.list_lists(actor())
    counts = dnc_lists.entry_counts()
    return listing([list_json(i, counts) for i in items], len(items))


@endpoint(
    "/ecm/dncList/save",
    ["POST"],
    "Create a named DNC list",
    "consent",
    body=dnc_lists.DncListIn,
    response=LIST,
)
def lists_save():
    return jsonify(list_json(dnc_lists.create_list(actor(), body())))


@endpoint(
    "/ecm/dncList/update",
    ["POST", "PUT"],
    "Update a named DNC list",
    "consent",
    body=dnc_lists.DncListUpdate,
    response=LIST,
)
def lists_update():
    return jsonify(list_json(dnc_lists.update_list(actor(), body())))


@endpoint(
    "/ecm/dncList/delete",
    ["DELETE", "POST"],
    "Delete a named DNC list with its entries (204)",
    "consent",
    status=204,
    params=ID_PARAM,
)
def lists_delete():
    dnc_lists.delete_list(actor(), target_id())
    return "", 204


@endpoint(
    "/ecm/dncList/<int:list_id>/entries",
    ["GET"],
    "A named list's entries (search with ?q=)",
    "consent",
    response={"type": "array", "items": ENTRY},
    params=[{"name": "q", "in": "query", "schema": {"type": "string"}}] + PAGE_PARAMS,
)
def entries_index(list_id: int):
    offset, size = paging(default_size=50)
    items, total = dnc_lists.list_entries(
        actor(), list_id, search=request.args.get("q"), offset=offset, limit=size
    )
    return listing([entry_json(e) for e in items], total or 0)


@endpoint(
    "/ecm/dncList/<int:list_id>/entries/save",
    ["POST"],
    "Add a number to a named list (expiresAt, source, reason optional)",
    "consent",
    body=dnc_lists.ListEntryIn,
    response=ENTRY,
)
def entries_save(list_id: int):
    return jsonify(entry_json(dnc_lists.add_entry(actor(), list_id, body())))


@endpoint(
    "/ecm/dncList/entries/update",
    ["POST", "PUT"],
    "Update an entry of a named list",
    "consent",
    body=dnc_lists.ListEntryUpdate,
    response=ENTRY,
)
def entries_update():
    return jsonify(entry_json(dnc_lists.update_entry(actor(), body())))


@endpoint(
    "/ecm/dncList/entries/delete",
    ["DELETE", "POST"],
    "Remove an entry from a named list (204)",
    "consent",
    status=204,
    params=ID_PARAM,
)
def entries_delete():
    dnc_lists.delete_entry(actor(), target_id())
    return "", 204


@endpoint(
    "/ecm/dncList/<int:list_id>/upload",
    ["POST"],
    "Bulk add numbers to a named list (multipart file: "
    "number,name,expiresAt,reason,source by position)",
    "consent",
    content="multipart/form-data",
    form={"type": "object", "required": ["file"], "properties": {"file": FILE}},
    response={"type": "object"},
)
def entries_upload(list_id: int):
    storage = request.files.get("file")
    stream = storage.stream if storage is not None else None
    return jsonify(dnc_lists.upload_entries(actor(), list_id, stream))


@endpoint(
    "/ecm/optOut",
    ["POST"],
    "Record an opt-out (revocation): suppressed at once on every campaign",
    "consent",
    body=optouts.OptOutIn,
    response=OPT_OUT,
)
def opt_out_save():
    item = optouts.record_opt_out(actor(), body())
    return jsonify(optouts.row_of(item, optouts.deadline_days()))


@endpoint(
    "/ecm/optOut/report",
    ["GET"],
    "Opt-outs received in a range, with when each took effect and the deadline",
    "consent",
    response={"type": "array", "items": OPT_OUT},
    # an empty value is read as not given
    params=[
        {"name": n, "in": "query", "schema": {"anyOf": [INSTANT, {"const": ""}]}}
        for n in ("from", "to")
    ],
)
def opt_out_report():
    data = {k: request.args[k] for k in ("from", "to") if request.args.get(k)}
    rows = optouts.report(actor(), data)
    return listing(rows, len(rows))


@endpoint(
    "/ecm/resultEffects",
    ["GET"],
    "What each call result does beyond the retry map (defaults and overrides)",
    "consent",
    response={"type": "array", "items": EFFECT},
)
def effects_index():
    rows = result_effects.list_mappings(actor())
    return listing(rows, len(rows))


@endpoint(
    "/ecm/resultEffects/save",
    ["POST", "PUT"],
    "Set a call result's effect (none, close, skip_number, add_to_list)",
    "consent",
    body=result_effects.EffectIn,
    response={"type": "array", "items": EFFECT},
)
def effects_save():
    result_effects.set_mapping(actor(), body())
    return jsonify(result_effects.list_mappings(actor()))


@endpoint(
    "/ecm/resultEffects/delete",
    ["DELETE", "POST"],
    "Return a call result to its default effect (204)",
    "consent",
    status=204,
    params=id_param("callResult"),
)
def effects_delete():
    payload = body()
    code = request.args.get("callResult")
    if code is None and isinstance(payload, dict):
        code = payload.get("callResult")
    result_effects.reset_mapping(actor(), code)
    return "", 204


@endpoint(
    "/ecm/privacy/erase",
    ["POST"],
    "Forget a phone number everywhere (administrators); the audit log keeps no number",
    "consent",
    body=erasure.EraseIn,
    response=ERASED,
)
def privacy_erase():
    removed = erasure.erase_number(actor(), body())
    return jsonify({"message": "The number was erased", "removed": removed})
