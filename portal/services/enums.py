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
RESULT_ON_DNC = 26
RESULT_SMS_DELIVERED = 100


def call_result_name(code: int | None) -> str:
    if code is None:
        return ""
    return CALL_RESULTS.get(int(code), f"Code {code}")
