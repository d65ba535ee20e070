"""Login, token refresh and logout."""

from __future__ import annotations

from typing import Literal

from flask import jsonify, request

from portal.api import serializers
from portal.api.core import actor, body, endpoint
from portal.http.throttle import throttle_login, throttle_refresh
from portal.services import auth
from portal.services.errors import ValidationFailed
from portal.services.validation import Schema

# The seed's license block, with its JSON types: an open-source install never expires
# and has no agent limit, so integrations that parse these fields get far-off values.
LICENSE = {
    "license": "valid",
    "licStatus": "open-source",
    "licensedTo": "ECM Portal",
    "creationDate": "2026-01-01T00:00:00Z",
    "expiryDate": "9999-12-31T23:59:59Z",
    "supportExpiryDate": None,
    "numberOfAgents": 2_147_483_647,
    "valid": True,
}


class LoginIn(Schema):
    username: str
    password: str


class RefreshIn(Schema):
    grant_type: Literal["refresh_token"] = "refresh_token"
    refresh_token: str


TOKEN_RESPONSE = {
    "type": "object",
    "required": ["token_type", "token", "expires_in", "refresh_token"],
    "properties": {
        "token_type": {"type": "string"},
        "token": {"type": "string"},
        "access_token": {"type": "string"},
        "expires_in": {"type": "integer"},
        "refresh_token": {"type": "string"},
    },
}


@endpoint(
    "/api/login",
    ["GET", "POST"],
    "Log in and get an access token (JSON body, GET or POST)",
    "auth",
    body=LoginIn,
    response={
        **TOKEN_RESPONSE,
        "properties": {
            **TOKEN_RESPONSE["properties"],
            "userDetails": {"type": "object"},
            "license": {"type": "string"},
        },
    },
    auth_required=False,
)
@throttle_login()
def login():
    payload = body()
    if not isinstance(payload, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    user = auth.authenticate(payload.get("username"), payload.get("password"))
    tokens = auth.issue_tokens(user)
    return jsonify({**LICENSE, "userDetails": serializers.user_details(user), **tokens})


@endpoint(
    "/oauth/access_token",
    ["POST"],
    "Exchange a refresh token for a new token pair (the old one is revoked)",
    "auth",
    body=RefreshIn,
    response=TOKEN_RESPONSE,
    auth_required=False,
)
@throttle_refresh
def access_token():
    payload = request.form.to_dict() if request.form else body()
    if not isinstance(payload, dict):
        raise ValidationFailed({"body": "must be a JSON object or a form"})
    grant = payload.get("grant_type", "refresh_token")
    if grant != "refresh_token":
        raise ValidationFailed({"grant_type": "must be refresh_token"})
    return jsonify(auth.refresh(payload.get("refresh_token")))


@endpoint(
    "/api/logout",
    ["POST"],
    "Revoke the current access token (and the refresh token's family, if sent)",
    "auth",
    response={"type": "object", "properties": {"message": {"type": "string"}}},
)
def logout():
    from flask import g

    payload = body()
    refresh_token = payload.get("refresh_token") if isinstance(payload, dict) else None
    auth.logout(g.token_claims, refresh_token)
    return jsonify({"message": f"User {actor().username} logged out"})
