"""The product's enumerations and the names the portal shows for them."""

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

REQUEST_STATES: dict[int, str] = {
    0: "Pending",
    1: "Dispatched",
    2: "Completed",
    3: "Max attempts reached",
    4: "Expired",
    5: "Blocked by DNC",
    6: "Invalid",
    7: "Cancelled",
}
(
    PENDING,
    DISPATCHED,
    COMPLETED,
    MAX_ATTEMPTS,
    EXPIRED,
    BLOCKED_DNC,
    INVALID,
    CANCELLED,
) = range(8)
OPEN_STATES = (PENDING, DISPATCHED)

CAMPAIGN_TYPES = {0: "Agent", 1: "IVR", 2: "SMS"}
CAMPAIGN_STATUS = {1: "Running", 0: "Paused"}
DIALER_TYPES = ("PREDICTIVE", "PROGRESSIVE", "PREVIEW", "DIRECT_PREVIEW")
CHANNELS = {0: "Voice", 1: "SMS"}
RESULT_CONNECTED = 10
RESULT_AGENT_REJECTED_CLOSE = 19
RESULT_RETURNED_UNATTEMPTED = 25
RESULT_ON_DNC = 26
RESULT_SMS_DELIVERED = 100
# Outbound Option Guide for UCCE 12.6(2), chapter "Dialer Detail Table", section
# "CallResults Table", column "Counted as Attempt?": "No" for 2, 8, 17, 18, 19, 25,
# 26, 27, 28 and 33. Of those, 2 (error while dialing), 8 (no answer), 27 (network
# disconnected while alerting) and 28 (dead air) were dials that reached the
# network, and SPEC §4 caps the dials: they use an attempt here. The rest placed no
# call to the customer - 17 "Failed to reserve agent for personal callback", 18
# "Agent has rejected a preview call", 19 "... with the close option", 25 "returned
# from the dialer without being attempted", 26 "on the do not call list", 33
# "Agent timed-out accepting preview" - and do not use one of ours.
CISCO_NOT_DIALED = frozenset({17, 18, 19, 25, 26, 33})
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
