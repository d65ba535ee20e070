"""SMS gateway adapters and the template filler for SMS attempts."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from portal.services.dialers._http import ANY_5XX, RetryingHttpClient
from portal.services.dialers.base import DialResult
from portal.services.dialers.simulator import SMS_RESULTS, seeded_rng

SMS_DELIVERED = 100
SMS_FAILED = 101
SMS_NO_REPLY = 102

_PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9_]{0,63})\}")


@runtime_checkable
class SmsGateway(Protocol):
    """What the feed loop needs to send an SMS attempt and learn how it went."""

    name: str

    def send(self, number: str, text: str, contact_id: int) -> None:
        """Hand one message to the gateway, or raise DialerUnavailable."""
        ...

    def collect_results(self) -> list[DialResult]:
        """Return SMS outcomes (100/101/102) known since the last call."""
        ...


@dataclass(frozen=True)
class SentSms:
    """Remember one simulated message so demos and tests can show what was sent."""

    number: str
    text: str
    contact_id: int
    sent_at: float


class SimulatorSms:
    """Pretend to send SMS: record each message, answer 100/101/102 per contact.

    The result depends only on (seed, contact), so it is the same in every process.
    """

    name = "simulator"

    def __init__(
        self,
        seed: int = 42,
        result_delay_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seed = seed
        self.result_delay_s = result_delay_s
        self.clock = clock
        self.messages: list[SentSms] = []
        self._pending: list[SentSms] = []
        self._lock = threading.Lock()

    def send(self, number: str, text: str, contact_id: int) -> None:
        """Record the message; its result is ready after result_delay_s."""
        message = SentSms(number, text, contact_id, self.clock())
        with self._lock:
            self.messages.append(message)
            self._pending.append(message)

    def result_for(self, contact_id: int) -> int:
        """Give the SMS result this contact always gets with this seed."""
        return SMS_RESULTS.pick(seeded_rng(self.seed, contact_id, -1))

    def collect_results(self) -> list[DialResult]:
        """Return results for messages sent at least result_delay_s ago."""
        cutoff = self.clock() - self.result_delay_s
        with self._lock:
            due = [m for m in self._pending if m.sent_at <= cutoff]
            self._pending = [m for m in self._pending if m.sent_at > cutoff]
        results = []
        for message in due:
            code = self.result_for(message.contact_id)
            results.append(
                DialResult(message.contact_id, code, f"SIM:{code}", message.number)
            )
        return results


class WebhookSms:
    """Send SMS through any HTTP gateway that takes a small JSON POST.

    Body: ``{"to": number, "text": text, "reference": contact_id}``, with
    ``Authorization: Bearer <token>`` when a token is set. A 2xx means accepted;
    429/5xx and network failures are retried with backoff, then DialerUnavailable;
    other 4xx raise DialerRejected at once. Most simple gateways never report
    delivery, so by default an accepted message counts as delivered (100); set
    ``accepted_is_delivered=False`` when the gateway posts delivery reports to
    ``POST /umm/ecm/callback/result`` instead.
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: float = 10,
        max_retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        *,
        accepted_is_delivered: bool = True,
        verify_tls: bool | str = True,
    ) -> None:
        if not url:
            raise ValueError("the webhook SMS gateway needs ECM_SMS_WEBHOOK_URL")
        self.accepted_is_delivered = accepted_is_delivered
        self._results: list[DialResult] = []
        self._lock = threading.Lock()
        self.http = RetryingHttpClient(
            url,
            auth_header=f"Bearer {token}" if token else None,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            sleep=sleep,
            retry_statuses=ANY_5XX,
            verify_tls=verify_tls,
            label="SMS gateway",
        )

    def send(self, number: str, text: str, contact_id: int) -> None:
        """POST one message; return once the gateway accepted it."""
        body = json.dumps(
            {"to": number, "text": text, "reference": contact_id}, ensure_ascii=False
        ).encode("utf-8")
        response = self.http.request(
            "POST",
            "",
            body=body,
            content_type="application/json; charset=utf-8",
            accept="application/json",
        )
        if self.accepted_is_delivered:
            with self._lock:
                self._results.append(
                    DialResult(
                        contact_id, SMS_DELIVERED, f"HTTP {response.status}", number
                    )
                )

    def collect_results(self) -> list[DialResult]:
        """Return the accepted-as-delivered results gathered since the last call."""
        with self._lock:
            results, self._results = self._results, []
        return results


def render_sms_template(template: str, fields: Mapping[str, str | None]) -> str:
    """Fill ``{phone1}``, ``{businessParam1}``… from the contact, nothing more.

    Only plain ``{name}`` placeholders are replaced, values are inserted
    literally, and unknown placeholders stay as they are: unlike str.format, a
    template cannot reach attributes, indexes or format specs.
    """
    if not template:
        return ""
    lowered = {key.lower(): key for key in fields}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in fields:
            key = lowered.get(key.lower(), "")
            if not key:
                return match.group(0)
        value = fields[key]
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(fill, template)
