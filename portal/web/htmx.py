"""HTMX helpers: fragment or full page, the form to re-render on errors, notices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, make_response, render_template, request
from werkzeug.datastructures import MultiDict


def is_htmx_fragment() -> bool:
    """An HTMX request that targets a part of the page (boosted ones want pages)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def render(page: str, partial: str, status: int = 200, **ctx: Any):
    """Render the partial for a fragment request, else the page that includes it."""
    return render_template(partial if is_htmx_fragment() else page, **ctx), status


def expect_form(
    page: str, partial: str, build: Callable[[], dict] | None = None, **ctx: Any
) -> None:
    """Name the form to re-render with field errors if the service refuses the input.

    `build` makes costly context (a dialer round trip) only when an error needs it.
    """
    g.form_view = (page, partial, ctx, build)


def fragment(
    partial: str | None,
    notice: str | None = None,
    category: str = "success",
    status: int = 200,
    headers: dict[str, str] | None = None,
    **ctx: Any,
):
    """A partial plus, out of band, a notice that replaces the message area."""
    html = render_template(partial, **ctx) if partial else ""
    if notice:
        html += render_template(
            "_messages.html", messages=[(category, notice)], oob=True
        )
    response = make_response(html, status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def notice_only(message: str, category: str, status: int):
    """Answer a fragment request with just a message shown in the message area."""
    response = make_response(
        render_template("_messages.html", messages=[(category, message)]), status
    )
    response.headers["HX-Retarget"] = "#messages"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def form_values(form: MultiDict, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form as a dict of stripped strings; fields in `lists` keep all values."""
    values: dict[str, Any] = {}
    for key in form:
        if key == "csrf_token":
            continue
        if key in lists:
            values[key] = [v.strip() for v in form.getlist(key)]
        else:
            values[key] = (form.get(key) or "").strip()
    return values


def service_input(
    values: dict[str, Any], fields: tuple[str, ...], keep_empty: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Pick the service's fields from form values; empty text means "not given"."""
    data = {}
    for name in fields:
        value = values.get(name)
        if value is None:
            continue
        if value == "" and name not in keep_empty:
            continue
        data[name] = value
    return data
