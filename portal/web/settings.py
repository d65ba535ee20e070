"""Administration pages: preferences, users and roles, audit log, API reference."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from markupsafe import Markup, escape

from portal.models import ROLES, User
from portal.services import audit, preferences, users
from portal.services.errors import NotFound
from portal.web.calling_rules import rule_form_data, rule_form_values
from portal.web.htmx import expect_form, form_values, fragment, is_htmx_fragment
from portal.web.session import actor

bp = Blueprint("settings", __name__)
PREFERENCE_FIELDS = (
    "campaignBatchSize",
    "ivrBatchSize",
    "filePath",
    "fileArchivePath",
    "username",
    "Domain",
)
AUDIT_ENTITIES = (
    "campaign",
    "contact",
    "strategy",
    "strategy_attempt",
    "dnc",
    "preferences",
    "user",
    "upload",
)
AUDIT_PAGE = 50


def _preference_values(prefs) -> dict[str, Any]:
    if prefs is None:
        return {
            "campaignBatchSize": preferences.DEFAULT_BATCH_SIZE,
            "ivrBatchSize": preferences.DEFAULT_BATCH_SIZE,
            **rule_form_values(None, with_dates=False),
        }
    return {
        "campaignBatchSize": prefs.campaign_batch_size,
        "ivrBatchSize": prefs.ivr_batch_size,
        "filePath": prefs.file_path or "",
        "fileArchivePath": prefs.file_archive_path or "",
        "username": prefs.username or "",
        "Domain": prefs.domain or "",
        **rule_form_values(prefs, with_dates=False),
    }


def _current_preferences():
    try:
        return preferences.get_preferences(actor())
    except NotFound:  # nothing saved yet: the form shows the defaults
        return None


@bp.route("/settings/preferences", methods=["GET", "POST"], endpoint="preferences")
@login_required
def preferences_page():
    prefs = _current_preferences()
    has_password = bool(prefs and prefs.password)
    if request.method == "GET":
        return render_template(
            "settings/preferences.html",
            v=_preference_values(prefs),
            has_password=has_password,
        )
    values = form_values(request.form)
    expect_form(
        "settings/preferences.html",
        "settings/_preferences_form.html",
        v=values,
        has_password=has_password,
    )
    data: dict[str, Any] = {
        name: values.get(name) or None for name in PREFERENCE_FIELDS
    }
    if values.get("clear_password"):
        data["password"] = None
    else:  # an empty field keeps the stored password (the API's mask means "unchanged")
        data["password"] = values.get("password") or preferences.PASSWORD_MASK
    data.update(rule_form_data(values, with_dates=False))
    prefs = preferences.save_preferences(actor(), data)
    message = "Preferences saved."
    ctx = {"v": _preference_values(prefs), "has_password": bool(prefs.password)}
    if is_htmx_fragment():
        return fragment("settings/_preferences_form.html", message, **ctx)
    flash(message, "success")
    return redirect(url_for("settings.preferences"))


@bp.route("/settings/users", endpoint="users")
@login_required
def users_page():
    return render_template(
        "settings/users.html",
        users=users.list_users(actor()),
        roles=ROLES,
        v={"role": "Viewer"},
    )


@bp.route("/settings/users", methods=["POST"])
@login_required
def create_user():
    values = form_values(request.form)
    expect_form(
        "settings/users.html",
        "settings/_user_create.html",
        users=users.list_users(actor()),
        roles=ROLES,
        v=values,
    )
    data = {
        "username": values.get("username", ""),
        "password": values.get("password", ""),
        "role": values.get("role", "Viewer"),
        "fullName": values.get("fullName") or None,
        "email": values.get("email") or None,
    }
    user = users.create_user(actor(), data)
    message = f"User {user.username} created as {user.role}."
    if is_htmx_fragment():
        return fragment(
            "settings/_user_created.html",
            message,
            u=user,
            roles=ROLES,
            v={"role": "Viewer"},
        )
    flash(message, "success")
    return redirect(url_for("settings.users"))


def _expect_user_form(user: User) -> None:
    """Re-render a user's row (or the users page) with field errors on refusal."""
    expect_form(
        "settings/users.html",
        "settings/_user_row.html",
        u=user,
        roles=ROLES,
        users=users.list_users(actor()),
        v={"role": "Viewer"},
    )


def _user_row(user: User, message: str):
    if is_htmx_fragment():
        return fragment("settings/_user_row.html", message, u=user, roles=ROLES)
    flash(message, "success")
    return redirect(url_for("settings.users"))


@bp.route("/settings/users/<int:user_id>", methods=["POST"])
@login_required
def update_user(user_id: int):
    """Change a user's role or switch the account on or off."""
    user = users.get_user(actor(), user_id)
    _expect_user_form(user)
    data: dict[str, Any] = {"id": user.id}
    if "role" in request.form:
        data["role"] = request.form["role"]
    if "active" in request.form:
        data["active"] = request.form["active"] == "1"
    user = users.update_user(actor(), data)
    state = "enabled" if user.active else "disabled"
    return _user_row(user, f"User {user.username} is now {user.role}, {state}.")


@bp.route("/settings/users/<int:user_id>/password", methods=["POST"])
@login_required
def reset_password(user_id: int):
    user = users.get_user(actor(), user_id)
    _expect_user_form(user)
    users.set_password(actor(), user, request.form.get("new_password", ""))
    return _user_row(
        user, f"Password of {user.username} reset; their sessions have ended."
    )


@bp.route("/settings/audit", endpoint="audit")
@login_required
def audit_page():
    args = request.args
    entity = args.get("entity", "").strip()
    username = args.get("user", "").strip()[:80]
    try:
        before = int(args.get("before", "0")) or None
    except ValueError:
        before = None
    rows = audit.list_entries(
        actor(),
        entity=entity or None,
        username=username or None,
        before_id=before,
        limit=AUDIT_PAGE + 1,
    )
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    base = {k: v for k, v in (("entity", entity), ("user", username)) if v}
    return render_template(
        "settings/audit.html",
        entries=rows,
        entity=entity,
        username=username,
        entities=AUDIT_ENTITIES,
        older_url=url_for("settings.audit", before=rows[-1].id, **base)
        if more
        else None,
        newest_url=url_for("settings.audit", **base) if before else None,
    )


@bp.route("/settings/api", endpoint="api_reference")
@login_required
def api_page():
    # the API describes itself; the factory hands its document builder over
    document = current_app.extensions["ecm_api_document"]()
    return render_template(
        "settings/api.html",
        info=document.get("info", {}),
        sections=api_sections(document),
    )


@bp.app_template_filter("inline_code")
def inline_code(value: str | None) -> Markup:
    """Show `backticked` words of an OpenAPI description as code, escaping the rest."""
    parts = str(value or "").split("`")
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if n % 2 else escape(part)
        for n, part in enumerate(parts)
    )


def _type_of(schema: dict[str, Any] | None) -> str:
    """A short human type for a JSON schema ("integer", "string or null", …)."""
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema or "oneOf" in schema:
        parts = [_type_of(s) for s in schema.get("anyOf") or schema.get("oneOf")]
        return " or ".join(dict.fromkeys(p for p in parts if p))
    kind = schema.get("type", "")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return f"array of {_type_of(schema.get('items')) or 'items'}"
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    return kind or "object"


def _limits(schema: dict[str, Any]) -> str:
    notes = []
    for option in [schema, *(schema.get("anyOf") or [])]:
        for key, label in (
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("pattern", "pattern"),
        ):
            if key in option:
                notes.append(f"{label} {option[key]}")
    if "default" in schema and schema["default"] is not None:
        notes.append(f"default {schema['default']}")
    return ", ".join(dict.fromkeys(notes))


def _fields(
    schema: dict[str, Any] | None, components: dict[str, Any]
) -> list[dict[str, Any]]:
    if not schema:
        return []
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
        if "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required") or [])
    return [
        {
            "name": name,
            "type": _type_of(prop),
            "required": name in required,
            "notes": _limits(prop),
        }
        for name, prop in (schema.get("properties") or {}).items()
    ]


def api_sections(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Flatten the OpenAPI document into tag sections of readable operations."""
    components = document.get("components", {}).get("schemas", {})
    sections: dict[str, list[dict[str, Any]]] = {}
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            success = next(
                (c for c in op.get("responses", {}) if c.startswith("2")), "200"
            )
            response = op.get("responses", {}).get(success, {})
            content = response.get("content") or {}
            media = next(iter(content), None)
            body = (op.get("requestBody") or {}).get("content", {})
            body_schema = next(iter(body.values()), {}).get("schema") if body else None
            sections.setdefault((op.get("tags") or ["other"])[0], []).append(
                {
                    "id": op.get("operationId") or f"{method}-{path}",
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "auth": bool(op.get("security")),
                    "params": [
                        {
                            "name": p.get("name"),
                            "in": p.get("in"),
                            "required": p.get("required", False),
                            "type": _type_of(p.get("schema")),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _fields(body_schema, components),
                    "body_name": _type_of(body_schema) if body_schema else "",
                    "success": success,
                    "media": media,
                    "response": _fields(
                        content.get(media, {}).get("schema") if media else None,
                        components,
                    ),
                    "errors": [
                        c for c in op.get("responses", {}) if not c.startswith("2")
                    ],
                }
            )
    return sorted(sections.items())
