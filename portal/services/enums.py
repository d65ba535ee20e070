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
# Outbound Option Guide 12.6, "Dialer_Detail Table", CallResult values: the codes
# whose description says the customer was never called - 6 "No dial tone when
# dialer port went off hook", 13 "Dialer stopped dialing customer due to lack of
# agents or network stopped dialing before it was complete", 17 "Failed to reserve
# agent for personal callback", 18 "Agent has skipped or rejected a preview call",
# 25 "Dialer has flushed this record due to a change in the skillgroup, the
# campaign, etc." (returned unattempted). They go back to pending on the same
# attempt without using one of ours.
CISCO_NOT_ATTEMPTED = frozenset({6, 13, 17, 18, RESULT_RETURNED_UNATTEMPTED})


def call_result_name(code: int | None) -> str:
    if code is None:
        return ""
    return CALL_RESULTS.get(int(code), f"Code {code}")
