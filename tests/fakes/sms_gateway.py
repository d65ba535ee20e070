"""A fake HTTP SMS gateway taking the JSON that WebhookSms sends."""

from __future__ import annotations

import json
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from tests.fakes import FakeServer


@dataclass(frozen=True)
class ReceivedSms:
    """One message the fake gateway accepted."""

    to: str
    text: str
    reference: int | str


class FakeSmsGateway(FakeServer):
    """Accept ``POST {"to", "text", "reference"}`` with an optional Bearer token."""

    def __init__(self, token: str | None = None, path: str = "/sms") -> None:
        super().__init__()
        self.token = token
        self.path = path
        self.messages: list[ReceivedSms] = []

    @property
    def webhook_url(self) -> str:
        """The URL to configure as ECM_SMS_WEBHOOK_URL."""
        return self.url + self.path

    def authorized(self, request: Request) -> bool:
        """Check the Bearer token when one is configured."""
        if self.token is None:
            return True
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def route(self, request: Request) -> Response:
        """Validate and record one message, answering 202 like most gateways."""
        if request.path != self.path:
            return Response("not found", status=404)
        if request.method != "POST":
            return Response(status=405)
        try:
            payload = json.loads(request.get_data() or b"null")
        except ValueError:
            return _json({"error": "malformed JSON"}, 400)
        if not isinstance(payload, dict) or not {"to", "text", "reference"} <= set(
            payload
        ):
            return _json({"error": "to, text and reference are required"}, 400)
        with self._lock:
            self.messages.append(
                ReceivedSms(payload["to"], payload["text"], payload["reference"])
            )
            message_id = len(self.messages)
        return _json({"id": message_id, "status": "accepted"}, 202)


def _json(data: object, status: int) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")
