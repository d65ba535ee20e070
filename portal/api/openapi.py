"""The OpenAPI 3.1 document, generated from the registered endpoints and schemas."""

from __future__ import annotations

import re

from flask import jsonify

from portal.api.core import ENDPOINTS, Endpoint, bp
from portal.services.validation import NUL_FREE

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
ERROR_CODES = {
    "400": "Malformed request",
    "401": "No or bad token (or credentials, for login and refresh)",
    "403": "Role may not do this",
    "404": "Not found",
    "405": "Method not allowed",
    "406": "Validation failed",
    "413": "Too large",
    # gunicorn's own refusals, in the same JSON shape (portal/http/gunicorn_errors.py)
    "414": "Request line too long (gunicorn: over 4094 bytes)",
    "431": "Request headers too large",
    "429": "Too many requests",
    "503": "Service unavailable",
}


INT32_MAX = 2**31 - 1  # every integer column is a 32-bit INTEGER (validation.py)


def _bound_integers(node):
    """State the 32-bit range the server enforces on every integer it reads."""
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            node.setdefault("minimum", -INT32_MAX)
            node.setdefault("maximum", INT32_MAX)
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)
    return node


def _numbers_for_strings(node):
    """Schema fields coerce a number sent for free text to its string (validation.py
    Schema: coerce_numbers_to_str): say so where no pattern or list limits the text."""
    if isinstance(node, dict):
        for prop in (node.get("properties") or {}).values():
            options = prop.get("anyOf", [prop])
            for option in options:
                plain = option.get("type") == "string" and not (
                    {"pattern", "enum", "format", "const"} & set(option)
                )
                if plain:
                    option["type"] = ["string", "number"]
                if option.get("type") in ("string", ["string", "number"]):
                    # reject_unstorable_text: no NUL in any text
                    option.setdefault("pattern", NUL_FREE)
        for value in node.values():
            if isinstance(value, (dict, list)):
                _numbers_for_strings(value)
    elif isinstance(node, list):
        for value in node:
            _numbers_for_strings(value)
    return node


JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
INFO = {
    "title": "ECM Portal API",
    "version": "13.3",
    "description": "Wire-compatible with the ECM API reference. Authenticate with "
    "/umm/api/login and send `Authorization: Bearer <token>`.",
}
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
}


def build_document() -> dict:
    """The OpenAPI document of every registered endpoint (ENDPOINTS)."""
    components: dict[str, dict] = {"Error": ERROR}
    paths: dict[str, dict] = {}
    for ep in ENDPOINTS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.rule)
        item = paths.setdefault(path, {})
        for method in ep.methods:
            item[method.lower()] = _operation(ep, method, path, components)
    _bound_integers(paths)
    _bound_integers(components)
    for name, schema in components.items():
        if name != "Error":
            _numbers_for_strings(schema)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(ep: Endpoint, method: str, path: str, components: dict) -> dict:
    """One method of one path: parameters, body, answers, security."""
    slug = path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    op: dict = {
        "summary": ep.summary,
        "tags": [ep.tag],
        "operationId": f"{method.lower()}_{slug}",
        "responses": {},
    }
    params = list(ep.params) + [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
        for name in re.findall(r"{(\w+)}", path)
    ]
    if params:
        op["parameters"] = params
    body = _request_body(ep, method, components)
    if body is not None:
        op["requestBody"] = body
    op["responses"] = _responses(ep)
    if ep.auth:
        op["security"] = [{"bearerAuth": []}]
    return op


def _request_body(ep: Endpoint, method: str, components: dict) -> dict | None:
    """The pydantic schema of a JSON body (its definitions into components), or
    a plain object for a multipart POST."""
    if ep.body is not None and method in ("POST", "PUT"):
        name = ep.body.__name__
        schema = ep.body.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            components[def_name] = definition
        components[name] = schema
        reference = {"$ref": f"#/components/schemas/{name}"}
        return {
            # a body whose every field is optional may be left out; one that must
            # name one of several fields (anyOf) may not
            "required": bool(schema.get("required") or schema.get("anyOf")),
            "content": {"application/json": {"schema": reference}},
        }
    if ep.content != "application/json" and method == "POST":
        return {
            "required": True,
            "content": {ep.content: {"schema": ep.form or {"type": "object"}}},
        }
    return None


def _responses(ep: Endpoint) -> dict:
    """The success answer, then every error in the API's one shape."""
    responses: dict = {}
    if ep.status == 204:
        responses["204"] = {"description": "No content"}
    else:
        default = (
            {"type": "string"}
            if ep.produces.startswith("text/")
            else {"type": "object"}
        )
        content = {ep.produces: {"schema": ep.response or default}}
        responses[str(ep.status)] = {"description": "Success", "content": content}
    for code, text in ERROR_CODES.items():
        if code == "403" and not ep.auth:
            continue
        responses[code] = {"description": text, "content": JSON_ERROR}
    return responses


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_document())
