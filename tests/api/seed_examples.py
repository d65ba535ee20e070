"""The seed's example requests and responses (ecm-api-reference.txt), and a shape check.

The requests are the seed's own, with two kinds of repair the seed needs: its JSON
is fixed where it is invalid (a missing comma, an unquoted `1232Dce`, a trailing
comma, `{ [ ... ] }`), and placeholders are filled where a real value is needed
(ids of rows the test created, phone numbers where the seed writes "string").
The responses are verbatim; `assert_seed_shape` checks that ours carry every field
of the seed's example with the same JSON type and the same timestamp format.
"""

from __future__ import annotations

import re
from typing import Any

LOGIN_REQUEST = {"username": "admin", "password": "admin"}

LOGIN_RESPONSE = {
    "license": "valid",
    "licStatus": "trial",
    "licensedTo": "KPMG",
    "creationDate": "2019-09-16T19:00:00Z",
    "expiryDate": "2022-10-16T19:00:00Z",
    "supportExpiryDate": None,
    "numberOfAgents": 5,
    "valid": True,
    "userDetails": {
        "id": 1,
        "username": "admin",
        "userId": None,
        "email": None,
        "fullName": "Administrator",
        "type": "DB",
        "isActive": True,
        "profileExists": False,
        "lastLogin": "Fri Jun 11 13:40:55 PKT 2021",
        "lastUpdated": "1623400855424",
        "dateCreated": "1615193443313",
        "createdBy": None,
        "updatedBy": None,
        "profilePicture": None,
        "roles": [
            {
                "id": 1,
                "name": "Administrator",
                "description": "Administrator Role",
                "permissions": None,
            }
        ],
    },
    "token_type": "Bearer",
    "token": "JWT-TOKEN",
    "expires_in": 36000,
    "refresh_token": "JWT-REFRESH-TOKEN",
}

CISCO_CAMPAIGNS_CCE_RESPONSE = [
    {
        "ciscoCampaignId": "5001",
        "ciscoCampaignName": "IVR_based",
        "ciscoTableName": "DL_5002_5002",
        "ciscoFileName": "test.txt",
        "ciscoFilePath": "//Sprawler/import/",
        "campaignType": "0",
    }
]


def create_campaign_request(strategy_id: int) -> dict:
    """The seed's createCampaign example; strategyId "22" becomes a real strategy."""
    return {
        "startTime": "22:10",
        "endTime": "22:23",
        "name": "sample_campaign",
        "description": "details",
        "strategyId": str(strategy_id),
        "status": "1",
        "type": "0",
        "crmCampaignId": "crm_campaign_1",
        "ciscoCampaignId": "5001",
        "weekDays": "0,1,2",
        "enabled": True,
        "smsTemplate": "sms-template",
    }


CAMPAIGN_RESPONSE = {
    "id": "2",
    "crmCampaignId": "crm_campaign_1",
    "ciscoCampaignId": "5001",
    "ciscoCampaignName": "IVR_based",
    "smsTemplate": "sms template",
    "description": "details",
    "enabled": True,
    "endTime": "22:23",
    "strategyId": "22",
    "name": "sample_campaign",
    "startTIme": "22:10",
    "status": "1",
    "type": "0",
    "lastUpdated": "2018-11-14T11:01:42Z",
    "dateCreated": "2018-11-14T11:01:42Z",
    "weekdays": "0,1,2",
}


def skill_group_request(strategy_id: int) -> dict:
    """The seed's createCampaignBySkilllGroup example (its trailing comma removed)."""
    return {
        "crmCampaignId": "1122",
        "name": "Agent_Camp",
        "description": None,
        "dialerType": "PREDICTIVE",
        "skillGroup": "skillGroupName",
        "enabled": True,
        "endTime": "23:30",
        "startTime": "00:00",
        "strategyId": strategy_id,
        "type": 0,
        "weekDays": "0,1,2,3,6",
    }


SKILL_GROUP_RESPONSE = {
    "id": "2",
    "crmCampaignId": "1122",
    "ciscoCampaignId": "5001",
    "ciscoCampaignName": "IVR_based",
    "dialerType": "PREDICTIVE",
    "skillGroup": "skillGroupName",
    "smsTemplate": "sms template",
    "description": None,
    "enabled": True,
    "endTime": "23:30",
    "strategyId": "2",
    "name": "Agent_Camp",
    "startTime": "00:00",
    "status": "1",
    "type": "0",
    "lastUpdated": "2018-11-14T11:01:42Z",
    "dateCreated": "2018-11-14T11:01:42Z",
    "weekdays": "0,1,2,3,6",
}


def update_campaign_request(campaign_id: int) -> dict:
    return {"id": campaign_id, "name": "updated name"}


DNC_SAVE_REQUEST = {"name": "David", "primaryNumber": "03062558180"}

DNC_ENTRY_RESPONSE = {
    "id": 1,
    "name": "David",
    "updateById": 1,
    "primaryNumber": "03062558180",
    "dataCreated": "2019-07-31T12:02:09Z",
    "lastUpdated": "2019-07-31T12:02:09Z",
}


def dnc_update_request(entry_id: int) -> dict:
    """The seed's update example: a whole entry echoed back."""
    return {**DNC_ENTRY_RESPONSE, "id": entry_id}


def insert_callback_request(campaign_id: int) -> dict:
    """The seed's insertCallback example with numbers where it writes "string"."""
    return {
        "crmCampaignId": "1232Dce",
        "campaignId": campaign_id,
        "phone1": "+14155550101",
        "phone2": "+14155550102",
        "phone3": "+14155550103",
        "phone4": "+14155550104",
        "phone5": "+14155550105",
        "duplicateCallbacks": "allow",
        "dialTime": "2019-11-12 15:10:20",
        **{f"businessParam{i}": "string" for i in range(1, 13)},
    }


CALLBACK_LIST_RESPONSE = {
    "callbackData": [
        {
            "id": 2,
            "attemptId": 3,
            "attemptNumber": 3,
            "dialTime": "2019-11-12 15:10:20",
            **{f"businessParam{i}": "string" for i in range(1, 13)},
            "campaignId": 0,
            "phone1": "string",
            "phone2": "string",
            "phone3": "string",
            "phone4": "string",
            "phone5": "string",
            "callResult": 0,
            "channel": 0,
            "ciscoCampaignId": 123412,
            "lastStatusUpdateTime": None,
            "numberToCall": 1393,
            "requestState": 1,
            "requestTime": "2019-07-31T12:53:34Z",
            "responseTimeout": None,
        }
    ],
    "total": 1,
}

# A contact's optional fields: null on a row that does not have them.
OPTIONAL_CONTACT_FIELDS = frozenset(
    {f"phone{i}" for i in range(2, 6)}
    | {f"businessParam{i}" for i in range(1, 13)}
    | {"requestTime", "lastStatusUpdateTime", "responseTimeout", "numberToCall"}
)

STRATEGY_SAVE_REQUEST = {"name": "TestStrategy"}
STRATEGY_SAVE_RESPONSE = {"id": 1, "name": "TestStrategy"}

STRATEGY_LIST_RESPONSE = [
    {
        "id": 1,
        "name": "default",
        "maxAttempts": 3,
        "callAttempts": [
            {
                "id": 2,
                "name": "Default",
                "phone": "1",
                "channel": 0,
                "attemptNumber": 1,
                "retryMap": [
                    {"attempt_number": 2, "delay": 10, "expiry": 10, "call_result": 2}
                ],
            }
        ],
    }
]


def update_name_request(strategy_id: int, name: str = "Renamed") -> dict:
    return {"csId": strategy_id, "name": name}


def attempt_save_request(strategy_id: int) -> dict:
    return {
        "csId": strategy_id,
        "name": "Default",
        "phone": "1",
        "channel": 0,
        "attemptNumber": 1,
        "retryMap": [{"attempt_number": 2, "delay": 10, "call_result": 2}],
    }


ATTEMPT_RESPONSE = {
    "id": 1,
    "csId": 2,
    "name": "Default",
    "phone": "1",
    "channel": 0,
    "attemptNumber": 1,
    "retryMap": [{"attempt_number": 2, "delay": 10, "call_result": 2}],
}

ATTEMPT_LIST_RESPONSE = [ATTEMPT_RESPONSE]


def attempt_update_request(strategy_id: int, attempt_id: int) -> dict:
    """The seed's update example (its missing comma added): csAttempt names it."""
    return {
        "csId": strategy_id,
        "name": "Default",
        "phone": "1",
        "channel": 0,
        "csAttempt": attempt_id,
        "attemptNumber": 1,
        "retryMap": [{"attempt_number": 2, "delay": 10, "call_result": 2}],
    }


ATTEMPT_UPDATE_RESPONSE = {**ATTEMPT_RESPONSE, "csAttempt": 1}


def update_order_request(pairs: list[tuple[int, int]]) -> dict:
    """The seed's idIndexJson with its `{ [ ... ] }` read as `[ ... ]`."""
    return {"idIndexJson": {"data": [{"atId": a, "index": i} for a, i in pairs]}}


PREFERENCES_SAVE_REQUEST = {
    "campaignBatchSize": 22,
    "ivrBatchSize": 33,
    "filePath": "path/to/file",
    "fileArchivePath": "path/to/archive/folder",
    "username": "admin",
    "password": "admin",
    "Domain": "DbDomain",
}


def preferences_update_request(pref_id: int) -> dict:
    return {"id": pref_id, **PREFERENCES_SAVE_REQUEST}


PREFERENCES_RESPONSE = {
    "id": 1,
    "campaignBatchSize": 22,
    "ivrBatchSize": 33,
    "filePath": "path/to/file",
    "fileArchivePath": "path/to/file",
    "username": "admin",
    "password": "admin",
    "Domain": "DbDomain",
}

# SPEC §2: we answer with startTime where the seed's examples write startTIme.
RENAMED_IN_RESPONSES = {"startTIme": "startTime"}
# Fields whose JSON type we deliberately differ on (documented in docs/api.md).
TYPE_DEVIATIONS = {"numberToCall"}

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DIAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
EPOCH_MS = re.compile(r"^\d{13}$")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def assert_seed_shape(
    actual: Any, example: Any, path: str = "$", nullable: frozenset | set = frozenset()
) -> None:
    """Every field of the seed's example is present with its JSON type and format.

    `nullable` names fields that may be null where this row has no value (the seed's
    example shows one filled in); when not null they must still have the seed's type.
    """
    if example is None:
        return
    kind = json_type(example)
    if actual is None and path.rsplit(".", 1)[-1] in nullable:
        return
    assert json_type(actual) == kind, f"{path}: {json_type(actual)} != seed's {kind}"
    if kind == "object":
        for key, value in example.items():
            ours = RENAMED_IN_RESPONSES.get(key, key)
            assert ours in actual, f"{path}.{ours} is missing (seed has {key})"
            if key in TYPE_DEVIATIONS:
                continue
            assert_seed_shape(actual[ours], value, f"{path}.{ours}", nullable)
    elif kind == "array":
        if example and actual:
            for n, item in enumerate(actual):
                assert_seed_shape(item, example[0], f"{path}[{n}]", nullable)
    elif kind == "string":
        for pattern in (ISO_UTC, DIAL_TIME, EPOCH_MS):
            if pattern.match(example):
                assert pattern.match(actual), f"{path}: {actual!r} not like {example!r}"
