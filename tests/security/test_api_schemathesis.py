"""Schemathesis against /umm/openapi.json with every check it has (the pytest
equivalent of `--checks all`): no 5xx, responses match the document, no operation
that declares bearer auth answers without it, a request the document forbids is
refused (negative_data_rejection) and one it allows is not (positive_data_acceptance).

Runs on SQLite only (it checks the API's contract, not the database), with a small
number of examples per operation so the whole run stays within a few minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as CHECKS_REGISTRY
from schemathesis.checks import load_all_checks

from tests.conftest import login_token
from tests.security.builders import new_campaign, new_contact

MAX_EXAMPLES = 25
load_all_checks()
ALL_CHECKS = CHECKS_REGISTRY.get_all()
# the ones issue 17 names must be among them, whatever schemathesis adds later
NAMED = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "ignored_auth",
    "negative_data_rejection",
    "positive_data_acceptance",
}
assert NAMED <= {check.__name__ for check in ALL_CHECKS}


@pytest.fixture
def backend():
    """The contract is the same on both databases; fuzz on SQLite only."""
    return "sqlite"


@pytest.fixture
def bearer(app) -> dict[str, str]:
    token = login_token(app.test_client(), "admin", "admin")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api_schema(app, admin):
    from portal.services import dnc, preferences

    campaign = new_campaign(admin)
    new_contact(admin, campaign, "+14155550100")
    dnc.add_entry(admin, {"primaryNumber": "+14155550199", "name": "Someone"})
    preferences.save_preferences(admin, {"campaignBatchSize": 10, "ivrBatchSize": 10})
    schema = schemathesis.openapi.from_wsgi("/umm/openapi.json", app)
    # logging out would end the token the rest of the run uses
    return schema.exclude(path="/umm/api/logout")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case, bearer):
    case.call_and_validate(headers=bearer, checks=ALL_CHECKS)


def test_logout_requires_credentials(client):
    res = client.post("/umm/api/logout")
    assert res.status_code == 401
