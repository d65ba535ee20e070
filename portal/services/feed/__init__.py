"""The dialing feed loop (SPEC §4): eligibility, claim, dispatch, results, the tick."""

from portal.services.feed.eligibility import contact_eligibility, explain, summary
from portal.services.feed.results import apply_inbox, decide, receive_result
from portal.services.feed.tick import run_tick

__all__ = [
    "apply_inbox",
    "contact_eligibility",
    "decide",
    "explain",
    "receive_result",
    "run_tick",
    "summary",
]
