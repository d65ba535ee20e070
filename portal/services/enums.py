"""The product's vocabulary: its enumerations and the names the portal shows for them.

The numbers are the seed's wire values and the stored ones; `IntEnum` members compare
equal to them, so a query, a JSON body and a template all take a member as it is.
"""

from enum import IntEnum, StrEnum

CALL_RESULTS: dict[int, str] = {
    0: "Not yet attempted",
    2: "Error",
    3: "Number not in service",
    4: "No ringback",
    5: "Operator intercept",
    6: "No dial tone",
    7: "Invalid number",
    8: "No answer",
    9: "Busy",
    10: "Connected",
    11: "Fax",
    12: "Answering machine",
    13: "Dialer stopped",
    14: "Customer callback",
    15: "Answering machine callback",
    16: "Abandoned by dialer",
    17: "Callback reservation failed",
    18: "Agent rejected",
    19: "Agent rejected and closed",
    20: "Abandoned to IVR",
    21: "Customer dropped",
    22: "Network answering machine",
    23: "Wrong number",
    24: "Wrong person",
    25: "Returned unattempted",
    26: "On DNC",
    27: "Disconnected while ringing",
    28: "Dead air",
    29: "SIP rejected",
    30: "SIP rejected",
    31: "SIP rejected",
    32: "Dialer lost connection",
    33: "Agent timed out",
    100: "SMS delivered",
    101: "SMS failed",
    102: "SMS no reply",
}


class RequestState(IntEnum):
    """Where a contact is in its life (the seed's requestState)."""

    PENDING = 0
    DISPATCHED = 1
    COMPLETED = 2
    MAX_ATTEMPTS = 3
    EXPIRED = 4
    BLOCKED_DNC = 5
    INVALID = 6
    CANCELLED = 7


REQUEST_STATES: dict[int, str] = {
    RequestState.PENDING: "Pending",
    RequestState.DISPATCHED: "Dispatched",
    RequestState.COMPLETED: "Completed",
    RequestState.MAX_ATTEMPTS: "Max attempts reached",
    RequestState.EXPIRED: "Expired",
    RequestState.BLOCKED_DNC: "Blocked by DNC",
    RequestState.INVALID: "Invalid",
    RequestState.CANCELLED: "Cancelled",
}
PENDING = RequestState.PENDING
DISPATCHED = RequestState.DISPATCHED
COMPLETED = RequestState.COMPLETED
MAX_ATTEMPTS = RequestState.MAX_ATTEMPTS
EXPIRED = RequestState.EXPIRED
BLOCKED_DNC = RequestState.BLOCKED_DNC
INVALID = RequestState.INVALID
CANCELLED = RequestState.CANCELLED
OPEN_STATES = (PENDING, DISPATCHED)


class CampaignType(IntEnum):
    AGENT = 0
    IVR = 1
    SMS = 2


class CampaignStatus(IntEnum):
    PAUSED = 0
    RUNNING = 1


class Channel(IntEnum):
    """How one attempt reaches the contact."""

    VOICE = 0
    SMS = 1


class UploadState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


CAMPAIGN_TYPES = {
    CampaignType.AGENT: "Agent",
    CampaignType.IVR: "IVR",
    CampaignType.SMS: "SMS",
}
CAMPAIGN_STATUS = {CampaignStatus.RUNNING: "Running", CampaignStatus.PAUSED: "Paused"}
DIALER_TYPES = ("PREDICTIVE", "PROGRESSIVE", "PREVIEW", "DIRECT_PREVIEW")
CHANNELS = {Channel.VOICE: "Voice", Channel.SMS: "SMS"}
RESULT_CONNECTED = 10
RESULT_AGENT_REJECTED_CLOSE = 19
RESULT_RETURNED_UNATTEMPTED = 25
RESULT_ON_DNC = 26
RESULT_SMS_DELIVERED = 100
# Outbound Option Guide for UCCE 12.6(2), chapter "Dialer Detail Table", section
# "CallResults Table", column "Counted as Attempt?": "No" for 2 (error condition
# while dialing), 8 (no answer), 17 (failed to reserve agent for personal callback),
# 18 (agent rejected a preview call), 19 (... with the close option), 25 (returned
# from the dialer without being attempted), 26 (on the do not call list), 27
# (network disconnected while alerting), 28 (low energy or dead air) and 33 (agent
# timed out accepting preview). None of them uses one of our attempts either
# (`feed.results.decide`): the set follows Cisco's column exactly. (The name is
# kept from when it held only the codes that placed no call.) What stops a number
# that only ever gives these codes from being dialed for ever is
# NOT_COUNTED_ALLOWANCE below, not the attempt count. The table has no row for 4 (no
# ringback) and no "Counted as Attempt?" value for 29, 30 and 31 (SIP refusals):
# those use an attempt here.
CISCO_NOT_DIALED = frozenset({2, 8, 17, 18, 19, 25, 26, 27, 28, 33})
# Ours, not Cisco's: a contact gets its attempt back for at most as many
# not-counted results as its strategy's maxAttempts; from the next one on, a
# not-counted result uses an attempt like any other. So a contact is dialed at
# most 2 x maxAttempts times (25, "returned unattempted", is never a dial and is
# never counted). Cisco's own campaign bounds its redials with its retry settings;
# ours must bound them without Cisco's dialing list.
NOT_COUNTED_ALLOWANCE_PER_MAX_ATTEMPT = 1
# Same table, 25: "a call record is returned from the dialer without being
# attempted" - Retry Action "None, but returned to the pending state".
RETURNED_UNATTEMPTED_DELAY_MINUTES = 5  # ours: a disabled Cisco campaign must not spin


def call_result_name(code: int | None) -> str:
    if code is None:
        return ""
    return CALL_RESULTS.get(int(code), f"Code {code}")


def result_codes() -> list[int]:
    """The codes a call result may carry (0, "not yet attempted", is not a result)."""
    return sorted(code for code in CALL_RESULTS if code != 0)
