"""The strategy editor: attempts in order, each with its retry-map rows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from portal.models import CallStrategy
from portal.services import strategies
from portal.web.htmx import expect_form, form_values, fragment, is_htmx_fragment
from portal.web.session import actor

bp = Blueprint("strategies", __name__)


def _rules_from_form() -> list[dict[str, Any]]:
    """The retry-map rows of a submitted attempt form; rows with no result are blank."""
    form = request.form
    columns = [
        form.getlist(f"rule_{name}")
        for name in ("result", "attempt", "delay", "expiry")
    ]
    rules = []
    for result, attempt, delay, expiry in zip(*columns, strict=False):
        if not result.strip():
            continue
        rule: dict[str, Any] = {
            "call_result": result.strip(),
            "attempt_number": attempt.strip(),
            "delay": delay.strip() or "0",
        }
        if expiry.strip():
            rule["expiry"] = expiry.strip()
        rules.append(rule)
    return rules


def _attempt_input() -> dict[str, Any]:
    values = form_values(request.form)
    return {
        "name": values.get("name") or None,
        "phone": values.get("phone", "1"),
        "channel": values.get("channel", "0"),
        "retryMap": _rules_from_form(),
    }


def _editor_context(strategy: CallStrategy, **extra: Any) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "attempts": list(strategy.attempts),
        "targets": _targets(strategy, False),
        "new_targets": _targets(strategy, True),
        **extra,
    }


def _attempts_fragment(strategy: CallStrategy, message: str):
    if is_htmx_fragment():
        return fragment(
            "strategies/_attempts.html", message, **_editor_context(strategy)
        )
    flash(message, "success")
    return redirect(url_for("strategies.edit", strategy_id=strategy.id))


@bp.route("/strategies")
@login_required
def index():
    return render_template(
        "strategies/index.html",
        strategies=strategies.list_strategies(actor()),
        v={"maxAttempts": "3"},
    )


@bp.route("/strategies", methods=["POST"])
@login_required
def create():
    values = form_values(request.form)
    expect_form(
        "strategies/index.html",
        "strategies/_create_form.html",
        strategies=strategies.list_strategies(actor()),
        v=values,
    )
    data = {
        "name": values.get("name", ""),
        "maxAttempts": values.get("maxAttempts") or "3",
    }
    strategy = strategies.create_strategy(actor(), data)
    flash(f"Strategy “{strategy.name}” created. Add its attempts below.", "success")
    target = url_for("strategies.edit", strategy_id=strategy.id)
    if is_htmx_fragment():
        return "", 200, {"HX-Redirect": target}
    return redirect(target)


@bp.route("/strategies/<int:strategy_id>/delete", methods=["POST"])
@login_required
def delete(strategy_id: int):
    strategy = strategies.get_strategy(actor(), strategy_id)
    name = strategy.name
    strategies.delete_strategy(actor(), strategy_id)
    message = f"Strategy “{name}” deleted."
    if is_htmx_fragment():
        return fragment(None, message)
    flash(message, "success")
    return redirect(url_for("strategies.index"))


@bp.route("/strategies/<int:strategy_id>", methods=["GET", "POST"])
@login_required
def edit(strategy_id: int):
    strategy = strategies.get_strategy(actor(), strategy_id)
    if request.method == "GET":
        return render_template(
            "strategies/edit.html",
            **_editor_context(strategy),
            sv={"name": strategy.name, "maxAttempts": strategy.max_attempts},
        )
    values = form_values(request.form)
    expect_form(
        "strategies/edit.html",
        "strategies/_settings_form.html",
        **_editor_context(strategy),
        sv=values,
    )
    data = {"csId": strategy.id, "name": values.get("name", "")}
    if values.get("maxAttempts"):
        data["maxAttempts"] = values["maxAttempts"]
    strategy = strategies.update_strategy_name(actor(), data)
    message = f"Strategy “{strategy.name}” saved."
    sv = {"name": strategy.name, "maxAttempts": strategy.max_attempts}
    if is_htmx_fragment():
        return fragment(
            "strategies/_settings_form.html", message, strategy=strategy, sv=sv
        )
    flash(message, "success")
    return redirect(url_for("strategies.edit", strategy_id=strategy.id))


@bp.route("/strategies/<int:strategy_id>/attempts", methods=["POST"])
@login_required
def add_attempt(strategy_id: int):
    strategy = strategies.get_strategy(actor(), strategy_id)
    data = _attempt_input()
    expect_form(
        "strategies/edit.html",
        "strategies/_attempts.html",
        **_editor_context(strategy, form_attempt="new", submitted=data),
        sv={"name": strategy.name, "maxAttempts": strategy.max_attempts},
    )
    attempt = strategies.create_attempt(actor(), {"csId": strategy.id, **data})
    return _attempts_fragment(strategy, f"Attempt {attempt.attempt_number} added.")


@bp.route("/strategies/<int:strategy_id>/attempts/<int:attempt_id>", methods=["POST"])
@login_required
def update_attempt(strategy_id: int, attempt_id: int):
    strategy = strategies.get_strategy(actor(), strategy_id)
    data = _attempt_input()
    expect_form(
        "strategies/edit.html",
        "strategies/_attempts.html",
        **_editor_context(strategy, form_attempt=attempt_id, submitted=data),
        sv={"name": strategy.name, "maxAttempts": strategy.max_attempts},
    )
    attempt = strategies.update_attempt(
        actor(), {"id": attempt_id, "csId": strategy.id, **data}
    )
    return _attempts_fragment(strategy, f"Attempt {attempt.attempt_number} saved.")


@bp.route(
    "/strategies/<int:strategy_id>/attempts/<int:attempt_id>/delete", methods=["POST"]
)
@login_required
def delete_attempt(strategy_id: int, attempt_id: int):
    strategy = strategies.get_strategy(actor(), strategy_id)
    attempt = strategies.get_attempt(actor(), attempt_id)
    number = attempt.attempt_number
    strategies.delete_attempt(actor(), attempt_id)
    return _attempts_fragment(
        strategy, f"Attempt {number} removed; the rest renumbered."
    )


@bp.route(
    "/strategies/<int:strategy_id>/attempts/<int:attempt_id>/move", methods=["POST"]
)
@login_required
def move_attempt(strategy_id: int, attempt_id: int):
    """Swap an attempt with its neighbour and save the whole order."""
    strategy = strategies.get_strategy(actor(), strategy_id)
    order = [a.id for a in strategy.attempts]
    if attempt_id in order:
        index = order.index(attempt_id)
        other = index - 1 if request.form.get("direction") == "up" else index + 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
    items = [{"atId": aid, "index": position} for position, aid in enumerate(order, 1)]
    strategies.update_order(actor(), items)
    return _attempts_fragment(strategy, "Order saved.")


@bp.route("/strategies/<int:strategy_id>/rule-row")
@login_required
def rule_row(strategy_id: int):
    """A blank retry-map row for the editor to append (the editor page otherwise)."""
    strategy = strategies.get_strategy(actor(), strategy_id)
    if not is_htmx_fragment():
        return redirect(url_for("strategies.edit", strategy_id=strategy.id))
    return render_template(
        "strategies/_rule_row.html",
        targets=_targets(strategy, request.args.get("new") == "1"),
        rule={},
        prefix="",
        errors=None,
    )


def _targets(strategy: CallStrategy, include_new: bool) -> list[tuple[int, str]]:
    """The attempts a retry rule may name (the new attempt's own number too)."""
    targets = [
        (a.attempt_number, f"{a.attempt_number} · {a.name}") for a in strategy.attempts
    ]
    if include_new:
        targets.append((len(targets) + 1, f"{len(targets) + 1} · this new attempt"))
    return targets
