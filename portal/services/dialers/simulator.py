"""A built-in dialer that produces realistic Cisco results, for demos and tests."""

from __future__ import annotations

import random
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate

from portal.services.dialers.base import DialRequest, DialResult
from portal.services.enums import Channel

# Cisco Outbound Option CallResult codes with a plausible outbound mix (percent).
VOICE_RESULT_WEIGHTS: tuple[tuple[int, float], ...] = (
    (10, 35.0),  # connected (voice)
    (8, 25.0),  # no answer
    (9, 15.0),  # busy
    (12, 10.0),  # answering machine
    (3, 3.0),  # not in service
    (7, 2.0),  # invalid number
    (2, 2.0),  # error
    (16, 3.0),  # abandoned by dialer
    (21, 3.0),  # customer dropped
    (4, 1.0),  # no ringback
    (11, 1.0),  # fax
)

SMS_RESULT_WEIGHTS: tuple[tuple[int, float], ...] = (
    (100, 85.0),  # delivered
    (101, 10.0),  # failed
    (102, 5.0),  # no reply
)

SIMULATED_CAMPAIGNS: tuple[dict[str, str], ...] = (
    {
        "ciscoCampaignId": "5001",
        "ciscoCampaignName": "Collections_Predictive",
        "ciscoTableName": "DL_5001_5001",
        "ciscoFileName": "collections.txt",
        "ciscoFilePath": "//dialer-sim/import/",
        "campaignType": "0",
    },
    {
        "ciscoCampaignId": "5002",
        "ciscoCampaignName": "Renewals_Progressive",
        "ciscoTableName": "DL_5002_5002",
        "ciscoFileName": "renewals.txt",
        "ciscoFilePath": "//dialer-sim/import/",
        "campaignType": "0",
    },
    {
        "ciscoCampaignId": "5003",
        "ciscoCampaignName": "Appointment_Reminder_IVR",
        "ciscoTableName": "DL_5003_5003",
        "ciscoFileName": "reminders.txt",
        "ciscoFilePath": "//dialer-sim/import/",
        "campaignType": "1",
    },
    {
        "ciscoCampaignId": "5004",
        "ciscoCampaignName": "Winback_Preview",
        "ciscoTableName": "DL_5004_5004",
        "ciscoFileName": "winback.txt",
        "ciscoFilePath": "//dialer-sim/import/",
        "campaignType": "0",
    },
)


class WeightedCodes:
    """Pick a code from a weighted table with one uniform draw."""

    def __init__(self, table: Sequence[tuple[int, float]]) -> None:
        self.codes = [code for code, _ in table]
        self.bounds = list(accumulate(weight for _, weight in table))

    def pick(self, rng: random.Random) -> int:
        """Draw one code; the same RNG state always gives the same code."""
        point = rng.random() * self.bounds[-1]
        return self.codes[min(bisect_right(self.bounds, point), len(self.codes) - 1)]


VOICE_RESULTS = WeightedCodes(VOICE_RESULT_WEIGHTS)
SMS_RESULTS = WeightedCodes(SMS_RESULT_WEIGHTS)


def seeded_rng(seed: int, contact_id: int, attempt_number: int) -> random.Random:
    """Derive one RNG per (seed, contact, attempt) that is the same in every process.

    A string seed goes through SHA-512 inside random (not hash()), so it ignores
    PYTHONHASHSEED; unlike ``seed ^ contact ^ attempt`` it does not make contact 1
    attempt 2 collide with contact 2 attempt 1.
    """
    return random.Random(f"ecm-sim:{seed}:{contact_id}:{attempt_number}")


class SimulatorDialer:
    """Pretend to dial: remember each batch and answer after a delay, deterministically.

    Pending requests live in this process only; because each result depends only on
    (seed, contact, attempt), another worker that re-dispatches the same contact
    attempt gets the very same result.
    """

    name = "simulator"

    def __init__(
        self,
        seed: int = 42,
        result_delay_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.seed = seed
        self.result_delay_s = result_delay_s
        self.clock = clock
        self._pending: list[tuple[float, DialRequest]] = []
        self._lock = threading.Lock()

    def list_campaigns(self) -> list[dict[str, str]]:
        """Offer fixed Cisco-like campaigns so the portal has something to link."""
        return [dict(campaign) for campaign in SIMULATED_CAMPAIGNS]

    def dispatch(self, requests: list[DialRequest]) -> None:
        """Remember the batch with its dispatch time; results come later."""
        now = self.clock()
        with self._lock:
            self._pending.extend((now, request) for request in requests)

    def collect_results(self) -> list[DialResult]:
        """Return results for requests dispatched at least result_delay_s ago."""
        cutoff = self.clock() - self.result_delay_s
        with self._lock:
            due = [request for sent, request in self._pending if sent <= cutoff]
            self._pending = [item for item in self._pending if item[0] > cutoff]
        return [self._result(request) for request in due]

    @property
    def pending_count(self) -> int:
        """Tell a demo or a test how many dials are still in flight."""
        with self._lock:
            return len(self._pending)

    def result_for(self, request: DialRequest) -> int:
        """Give the result code this contact attempt always gets with this seed."""
        rng = seeded_rng(self.seed, request.contact_id, request.attempt_number)
        table = SMS_RESULTS if request.channel == Channel.SMS else VOICE_RESULTS
        return table.pick(rng)

    def _result(self, request: DialRequest) -> DialResult:
        code = self.result_for(request)
        return DialResult(
            contact_id=request.contact_id,
            call_result=code,
            raw=f"SIM:{code}",
            number=request.number,
        )
