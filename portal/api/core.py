"""What every /umm endpoint shares: token auth, body reading, paging, the registry.

Errors are answered app-wide in the API's one shape by `portal/http/errors.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from portal.extensions import db
from portal.services import auth
from portal.services.errors import (
    BadRequest,
    Unauthorized,
    ValidationFailed,
)
from portal.services.validation import parse, reject_unstorable_text

bp = Blueprint("umm", __name__, url_prefix="/umm")


@dataclass
class Endpoint:
    """One documented endpoint; the OpenAPI document is generated from these."""

    rule: str
    methods: list[str]
    summary: str
    tag: str
    body: type | None = None
    response: dict | None = None
    status: int = 200
    auth: bool = True
    params: list[dict] = field(default_factory=list)
    content: str = "application/json"
    produces: str = "application/json"
    form: dict | None = None  # the multipart form's fields, for the document


ENDPOINTS: list[Endpoint] = []


def endpoint(
    rule: str | list[str],
    methods: list[str],
    summary: str,
    tag: str,
    *,
    body: type | None = None,
    response: dict | None = None,
    status: int = 200,
    auth_required: bool = True,
    params: list[dict] | None = None,
    content: str = "application/json",
    produces: str = "application/json",
    form: dict | None = None,
    reads_only: bool = False,
) -> Callable:
    """Register a route under /umm and describe it for the OpenAPI document.

    `reads_only`: the view never writes, so its statements run without a
    transaction (see `token_required`).
    """
    rules = [rule] if isinstance(rule, str) else rule

    def decorate(view: Callable) -> Callable:
        wrapped = view
        if auth_required:
            wrapped = token_required(view, reads_only=reads_only)
        for r in rules:
            bp.add_url_rule(
                r,
                view_func=wrapped,
                methods=methods,
                endpoint=f"{view.__name__}:{r}".replace(".", "_"),
            )
            ENDPOINTS.append(
                Endpoint(
                    rule="/umm" + r,
                    methods=methods,
                    summary=summary,
                    tag=tag,
                    body=body,
                    response=response,
                    status=status,
                    auth=auth_required,
                    params=params or [],
                    content=content,
                    produces=produces,
                    form=form,
                )
            )
        return wrapped

    return decorate


def token_required(view: Callable, reads_only: bool = False) -> Callable:
    """Refuse a request without a valid bearer token, before the view runs.

    The token's signature and expiry are checked before any database connection
    is taken. For a `reads_only` view the connection is then taken in autocommit:
    no BEGIN and no ROLLBACK round trip surround its statements (two of a list
    request's three on PostgreSQL); each statement still sees one consistent
    snapshot, as under READ COMMITTED, and a page and its total were two
    statements before as well.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Bearer token required")
        claims = auth.access_claims(token.strip())
        if reads_only:
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.api_user, g.token_claims = auth.user_for_claims(claims), claims
        return view(*args, **kwargs)

    return wrapper


def actor():
    return g.api_user


def body(allow_empty: bool = True) -> Any:
    """The request's JSON body (any method, GET included); malformed JSON is a 400."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        if request.form:
            payload = request.form.to_dict()
            reject_unstorable_text(payload)
            return payload
        return {} if allow_empty else None
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("Malformed JSON body") from None
    reject_unstorable_text(payload)
    return payload


def merged_input(schema: type) -> dict:
    """Query-string values overlaid by a JSON object body (for GET-style endpoints).

    Unknown query parameters (cache-busters, tracking tags) are ignored; unknown
    fields in the JSON body are still refused by the schema.
    """
    known = schema.model_fields
    data: dict[str, Any] = {k: v for k, v in request.args.items() if k in known}
    parse(schema, data)  # a query value is checked even when the body overrides it
    payload = body()
    if isinstance(payload, dict):
        data.update(payload)
    elif payload not in ({}, None):
        raise ValidationFailed({"body": "must be a JSON object"})
    return data


def target_id(name: str = "id") -> Any:
    """An id from the query string (?id=1) or the JSON body, as the seed mixes both."""
    if name in request.args:
        return request.args[name]
    payload = body()
    if isinstance(payload, dict) and name in payload:
        return payload[name]
    raise ValidationFailed({name: "is required"})


MAX_LIST = 10_000
MAX_OFFSET = 10**9
MAX_PAGE_NUMBER = 10**7


def paging_params(max_size: int = MAX_LIST) -> list[dict]:
    """The query parameters `paging()` reads, with the ranges it enforces."""

    def param(name: str, low: int, high: int) -> dict:
        schema = {"type": "integer", "minimum": low, "maximum": high}
        return {"name": name, "in": "query", "schema": schema}

    return [
        param("max", 1, max_size),
        param("size", 1, max_size),
        param("offset", 0, MAX_OFFSET),
        param("page", 0, MAX_PAGE_NUMBER),
    ]


def id_param(name: str = "id") -> list[dict]:
    """The id an endpoint acts on; `target_id()` also takes it from a JSON body."""
    return [
        {
            "name": name,
            "in": "query",
            "required": True,
            "schema": {"type": "integer"},
        }
    ]


def model_params(schema: type) -> list[dict]:
    """A GET-style endpoint's query parameters, from the schema that validates them."""
    document = schema.model_json_schema()
    required = set(document.get("required", []))
    params = []
    for name, prop in document.get("properties", {}).items():
        options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
        value = {k: v for k, v in (options[0] if options else {}).items()}
        value.pop("title", None)
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": value,
            }
        )
    return params


def paging(
    default_size: int | None = None, max_size: int = MAX_LIST
) -> tuple[int, int | None]:
    """offset/limit from Grails-style max/offset or page/size query parameters."""
    args = request.args

    def read(name: str, low: int, high: int) -> int | None:
        if name not in args:
            return None
        try:
            value = int(args[name])
        except ValueError:
            raise ValidationFailed({name: "must be an integer"}) from None
        if not low <= value <= high:
            raise ValidationFailed({name: f"must be between {low} and {high}"})
        return value

    # every parameter given is checked, even one another one overrides
    given_max, given_size = read("max", 1, max_size), read("size", 1, max_size)
    given_offset, given_page = (
        read("offset", 0, MAX_OFFSET),
        read("page", 0, MAX_PAGE_NUMBER),
    )
    size = given_max or given_size or default_size or max_size
    offset = given_offset
    if offset is None:
        offset = (given_page or 0) * size
    return offset, size


def listing(items: list, total: int) -> Response:
    response = jsonify(items)
    response.headers["X-Total-Count"] = str(total)
    return response
