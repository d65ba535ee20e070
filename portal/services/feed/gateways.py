"""Which dialer and SMS gateway the feed talks to, built from config for each tick.

The built-in simulators keep nothing in memory here: a simulated dispatch writes its
deterministic result straight into the call-result inbox, due ECM_SIMULATOR_DELAY
seconds later. Any worker on any machine then applies it, a restarted process loses
nothing, and a test that moves the clock sees results exactly when they are due.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert

from portal.extensions import db
from portal.models import CallResultInbox
from portal.services import cisco
from portal.services.dialers import (
    DialRequest,
    DialResult,
    SimulatorDialer,
    SimulatorSms,
    build_sms_gateway,
)


def _delay(config: Any) -> timedelta:
    try:
        seconds = float(config.get("ECM_SIMULATOR_DELAY", 2.0))
    except (TypeError, ValueError):
        seconds = 2.0
    return timedelta(seconds=max(0.0, seconds))


def _seed(config: Any) -> int:
    try:
        return int(config.get("ECM_SIMULATOR_SEED", 42))
    except (TypeError, ValueError):
        return 42


def _queue_results(rows: list[dict[str, Any]]) -> None:
    if rows:
        db.session.execute(insert(CallResultInbox.__table__), rows)
        db.session.commit()


class StoredSimulatorDialer:
    """The simulator dialer whose pending results live in the database inbox."""

    name = "simulator"

    def __init__(
        self, now: datetime, seed: int = 42, delay: timedelta = timedelta(seconds=2)
    ):
        self.now = now
        self.delay = delay
        self.simulator = SimulatorDialer(
            seed=seed, result_delay_s=delay.total_seconds()
        )

    def list_campaigns(self) -> list[dict[str, str]]:
        return self.simulator.list_campaigns()

    def dispatch(self, requests: list[DialRequest]) -> None:
        due = self.now + self.delay
        _queue_results(
            [
                {
                    "contact_id": r.contact_id,
                    "call_result": (code := self.simulator.result_for(r)),
                    "raw": f"SIM:{code}",
                    "received_at": due,
                }
                for r in requests
            ]
        )

    def collect_results(self) -> list[DialResult]:
        return []


class StoredSimulatorSms:
    """The simulator SMS gateway, its results queued in the inbox like the dialer's."""

    name = "simulator"

    def __init__(
        self, now: datetime, seed: int = 42, delay: timedelta = timedelta(seconds=2)
    ):
        self.now = now
        self.delay = delay
        self.simulator = SimulatorSms(seed=seed)
        self.sent: list[tuple[str, str, int]] = []
        self._rows: list[dict[str, Any]] = []

    def send(self, number: str, text: str, contact_id: int) -> None:
        code = self.simulator.result_for(contact_id)
        self.sent.append((number, text, contact_id))
        self._rows.append(
            {
                "contact_id": contact_id,
                "call_result": code,
                "raw": f"SIM:{code}",
                "received_at": self.now + self.delay,
            }
        )

    def flush(self) -> None:
        """Queue the results of the messages sent so far (one insert per batch)."""
        rows, self._rows = self._rows, []
        _queue_results(rows)

    def collect_results(self) -> list[DialResult]:
        return []


def _factory(path: str) -> Callable[..., Any]:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_feed_dialer(now: datetime):
    """The dialer for this tick: ECM_DIALER_FACTORY ("module:callable") if set, else
    ECM_DIALER (the simulator stores its results in the inbox)."""
    config = current_app.config
    factory = config.get("ECM_DIALER_FACTORY")
    if factory:
        return _factory(factory)(now)
    if (config.get("ECM_DIALER") or "simulator").strip().lower() == "simulator":
        return StoredSimulatorDialer(now, _seed(config), _delay(config))
    return cisco.dialer()


def build_feed_sms(now: datetime):
    """The SMS gateway for this tick; webhook gateways are kept per app (their
    accepted-as-delivered results are collected right after sending)."""
    config = current_app.config
    factory = config.get("ECM_SMS_FACTORY")
    if factory:
        return _factory(factory)(now)
    if (config.get("ECM_SMS_GATEWAY") or "simulator").strip().lower() == "simulator":
        return StoredSimulatorSms(now, _seed(config), _delay(config))
    return build_sms_gateway(config)
