"""The OpenAPI 3.1 document, generated from the registered endpoints and their schemas."""

from __future__ import annotations

import re

from flask import jsonify

from portal.api.core import ENDPOINTS, bp

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
                    option.setdefault("pattern", "^[^\\u0000]*$")
        for value in node.values():
            if isinstance(value, (dict, list)):
                _numbers_for_strings(value)
    elif isinstance(node, list):
        for value in node:
            _numbers_for_strings(value)
    return node


def build_document() -> dict:
    components: dict[str, dict] = {"Error": ERROR}
    paths: dict[str, dict] = {}
    for ep in ENDPOINTS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.rule)
        item = paths.setdefault(path, {})
        for method in ep.methods:
            op: dict = {
                "summary": ep.summary,
                "tags": [ep.tag],
                "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
                "responses": {},
            }
            params = list(ep.params)
            for name in re.findall(r"{(\w+)}", path):
                params.append(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    }
                )
            if params:
                op["parameters"] = params
            if ep.body is not None and method in ("POST", "PUT"):
                name = ep.body.__name__
                schema = ep.body.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                for def_name, definition in schema.pop("$defs", {}).items():
                    components[def_name] = definition
                components[name] = schema
                op["requestBody"] = {
                    # a body whose every field is optional may be left out
                    "required": bool(schema.get("required")),
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{name}"}
                        }
                    },
                }
            elif ep.content != "application/json" and method == "POST":
                op["requestBody"] = {
                    "required": True,
                    "content": {ep.content: {"schema": ep.form or {"type": "object"}}},
                }
            if ep.status == 204:
                op["responses"]["204"] = {"description": "No content"}
            else:
                default = (
                    {"type": "string"}
                    if ep.produces.startswith("text/")
                    else {"type": "object"}
                )
                content = {ep.produces: {"schema": ep.response or default}}
                op["responses"][str(ep.status)] = {
                    "description": "Success",
                    "content": content,
                }
            for code, text in ERROR_CODES.items():
                if code == "403" and not ep.auth:
                    continue
                op["responses"][code] = {
                    "description": text,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}
                        }
                    },
                }
            if ep.auth:
                op["security"] = [{"bearerAuth": []}]
            item[method.lower()] = op
    _bound_integers(paths)
    _bound_integers(components)
    for name, schema in components.items():
        if name != "Error":
            _numbers_for_strings(schema)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ECM Portal API",
            "version": "13.3",
            "description": "Wire-compatible with the ECM API reference. Authenticate with "
            "/umm/api/login and send `Authorization: Bearer <token>`.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_document())
