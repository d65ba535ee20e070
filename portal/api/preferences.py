"""/umm/ecm/preferenceSettings."""

from __future__ import annotations

from flask import jsonify

from portal.api import serializers
from portal.api.core import actor, body, endpoint, id_param, target_id
from portal.services import preferences
from portal.services.calling_rules.fields import POLICY_RESPONSE

PREFS = {
    "type": "object",
    "required": ["id", "campaignBatchSize", "ivrBatchSize"],
    "properties": {
        "id": {"type": "integer"},
        "campaignBatchSize": {"type": "integer"},
        "ivrBatchSize": {"type": "integer"},
        **{
            k: {"type": ["string", "null"]}
            for k in ("filePath", "fileArchivePath", "username", "password", "Domain")
        },
        **POLICY_RESPONSE,
    },
}


@endpoint(
    "/ecm/preferenceSettings",
    ["GET", "POST"],
    "The preference settings (password masked)",
    "preferences",
    response=PREFS,
)
def get_preferences():
    return jsonify(serializers.preferences(preferences.get_preferences(actor())))


@endpoint(
    "/ecm/preferenceSettings/save",
    ["POST"],
    "Save the preference settings",
    "preferences",
    body=preferences.PreferencesIn,
    response=PREFS,
)
def save_preferences():
    return jsonify(
        serializers.preferences(preferences.save_preferences(actor(), body()))
    )


@endpoint(
    "/ecm/preferenceSettings/update",
    ["POST", "PUT"],
    "Update the preference settings",
    "preferences",
    body=preferences.PreferencesIn,
    response=PREFS,
)
def update_preferences():
    return jsonify(
        serializers.preferences(
            preferences.save_preferences(actor(), body(), must_exist=True)
        )
    )


@endpoint(
    "/ecm/preferenceSettings/delete",
    ["POST", "DELETE"],
    "Delete the preference settings",
    "preferences",
    response={"type": "object"},
    params=id_param(),
)
def delete_preferences():
    pid = target_id()
    preferences.delete_preferences(actor(), pid)
    return jsonify(
        {"message": f"Preference settings with id {pid} successfully deleted"}
    )
