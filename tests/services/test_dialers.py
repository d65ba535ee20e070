"""Dialer and SMS adapters against fake Cisco and SMS servers on loopback."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from portal.services.dialers import (
    DialerAdapter,
    DialerAuthError,
    DialerRejected,
    DialerUnavailable,
    DialRequest,
    FileDialer,
    SimulatorDialer,
    SimulatorSms,
    SmsGateway,
    UcceDialer,
    UccxDialer,
    WebhookSms,
    build_dialer,
    build_sms_gateway,
    render_sms_template,
)
from portal.services.dialers._http import parse_retry_after
from portal.services.dialers.simulator import VOICE_RESULT_WEIGHTS
from tests.fakes.cisco import FakeCampaign, FakeUcce, FakeUccx
from tests.fakes.sms_gateway import FakeSmsGateway

ROOT = Path(__file__).resolve().parents[2]


def make_requests(
    count: int,
    *,
    cisco_campaign_id: str | None = "5001",
    campaign_id: int = 1,
    start: int = 1,
    channel: int = 0,
    attempt_number: int = 1,
) -> list[DialRequest]:
    return [
        DialRequest(
            contact_id=i,
            campaign_id=campaign_id,
            cisco_campaign_id=cisco_campaign_id,
            number=f"+1 (212) 555-{i % 10000:04d}",
            channel=channel,
            attempt_number=attempt_number,
            business_params={"businessParam1": f"acct-{i}"},
            phone_fields={"phone1": f"+1212555{i % 10000:04d}"},
        )
        for i in range(start, start + count)
    ]


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def ucce_server():
    with FakeUcce() as server:
        yield server


@pytest.fixture
def uccx_server():
    with FakeUccx() as server:
        yield server


@pytest.fixture
def sms_server():
    with FakeSmsGateway(token="t0k3n") as server:
        yield server


def ucce_for(server: FakeUcce, sleeps: SleepRecorder, **kwargs) -> UcceDialer:
    options = {"timeout": 2, "max_retries": 5, "backoff": 0.5, "sleep": sleeps}
    options.update(kwargs)
    return UcceDialer(server.url, server.username, server.password, **options)


def uccx_for(server: FakeUccx, sleeps: SleepRecorder, **kwargs) -> UccxDialer:
    options = {"timeout": 2, "max_retries": 5, "backoff": 0.5, "sleep": sleeps}
    options.update(kwargs)
    return UccxDialer(server.url, server.username, server.password, **options)


# --- UCCE -------------------------------------------------------------------


def test_ucce_lists_every_page_of_campaigns(sleeps):
    campaigns = [FakeCampaign(str(5001 + i), f"Camp_{i}", ivr=i == 3) for i in range(5)]
    with FakeUcce(campaigns=campaigns, page_cap=2) as server:
        listed = ucce_for(server, sleeps).list_campaigns()
    assert [c["ciscoCampaignId"] for c in listed] == [c.id for c in campaigns]
    assert listed[3] == {
        "ciscoCampaignId": "5004",
        "ciscoCampaignName": "Camp_3",
        "campaignType": "1",
        "maxAttempts": "1",  # read from GET campaign/<id>: the list leaves it out
    }
    assert {c["campaignType"] for c in listed} == {"0", "1"}
    assert all(isinstance(v, str) for c in listed for v in c.values())
    pages = server.requests_to("GET", "/unifiedconfig/config/campaign")
    assert [r.query["startIndex"] for r in pages] == ["0", "2", "4"]


def test_ucce_dispatch_chunks_25000_contacts_into_three_imports(ucce_server, sleeps):
    dialer = ucce_for(ucce_server, sleeps)
    dialer.dispatch(make_requests(25_000))

    posts = ucce_server.requests_to(
        "POST", "/unifiedconfig/config/campaign/5001/import"
    )
    assert len(posts) == 3
    assert [len(batch.rows) for batch in ucce_server.imports] == [10_000, 10_000, 5_000]
    batch = ucce_server.imports[0]
    assert batch.header == [
        "AccountNumber",
        "FirstName",
        "LastName",
        "Phone01",
        "TimeZoneBias",
        "DstObserved",
    ]
    assert batch.overwrite is False
    assert batch.rows[0] == {
        "AccountNumber": "1",
        "FirstName": "",
        "LastName": "",
        "Phone01": "12125550001",
        "TimeZoneBias": "",
        "DstObserved": "",
    }
    numbers = ucce_server.imported_account_numbers()
    assert numbers == [str(i) for i in range(1, 25_001)]
    assert posts[0].headers["Content-Type"].startswith("application/xml")
    assert sleeps.delays == []


def test_ucce_dispatch_groups_by_cisco_campaign(ucce_server, sleeps):
    requests = make_requests(3, cisco_campaign_id="5001") + make_requests(
        2, cisco_campaign_id="5003", start=100, campaign_id=2
    )
    ucce_for(ucce_server, sleeps).dispatch(requests)
    assert ucce_server.imported_account_numbers("5001") == ["1", "2", "3"]
    assert ucce_server.imported_account_numbers("5003") == ["100", "101"]


def test_fake_ucce_refuses_more_than_10000_rows(ucce_server, sleeps):
    dialer = ucce_for(ucce_server, sleeps)
    dialer.rows_per_request = 10_001  # bypass the adapter's own limit
    with pytest.raises(DialerRejected) as caught:
        dialer.dispatch(make_requests(10_001))
    assert caught.value.status == 400
    assert "importLimitExceeded" in (caught.value.body or "")
    assert ucce_server.imports == []
    assert sleeps.delays == []


def test_ucce_backs_off_on_503_honouring_retry_after(ucce_server, sleeps):
    ucce_server.overload(2, retry_after=3)
    ucce_for(ucce_server, sleeps).dispatch(make_requests(5))
    assert sleeps.delays == [3.0, 3.0]
    assert len(ucce_server.requests_to("POST")) == 3
    assert ucce_server.imported_account_numbers() == ["1", "2", "3", "4", "5"]


def test_ucce_backs_off_exponentially_without_retry_after(ucce_server, sleeps):
    ucce_server.overload(3)
    ucce_for(ucce_server, sleeps).dispatch(make_requests(1))
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert len(ucce_server.imports) == 1


def test_ucce_caps_a_huge_retry_after(ucce_server, sleeps):
    ucce_server.overload(1, retry_after=86_400)
    ucce_for(ucce_server, sleeps, max_backoff=30).dispatch(make_requests(1))
    assert sleeps.delays == [30]


def test_ucce_gives_up_after_max_retries(ucce_server, sleeps):
    ucce_server.overload(100, retry_after=1)
    with pytest.raises(DialerUnavailable) as caught:
        ucce_for(ucce_server, sleeps, max_retries=4).dispatch(make_requests(1))
    assert not isinstance(caught.value, DialerRejected)
    assert caught.value.status == 503
    assert "queue is at capacity" in str(caught.value)
    assert sleeps.delays == [1.0] * 4
    assert len(ucce_server.requests_to("POST")) == 5
    assert caught.value.accepted == []


def test_ucce_reports_the_chunks_accepted_before_failing(ucce_server, sleeps):
    ucce_server.overload(100, after=1)
    with pytest.raises(DialerUnavailable) as caught:
        ucce_for(ucce_server, sleeps, max_retries=1).dispatch(make_requests(15_000))
    assert caught.value.accepted == list(range(1, 10_001))
    assert len(ucce_server.imports) == 1


def test_ucce_that_never_answers_is_unavailable(ucce_server, sleeps):
    ucce_server.hang_seconds = 10
    dialer = ucce_for(ucce_server, sleeps, timeout=0.2, max_retries=2)
    started = time.monotonic()
    with pytest.raises(DialerUnavailable) as caught:
        dialer.dispatch(make_requests(1))
    assert time.monotonic() - started < 3
    assert sleeps.delays == [0.5, 1.0]
    assert "timed out" in str(caught.value).lower()
    assert ucce_server.imports == []


def test_ucce_wrong_credentials_fail_fast_and_clearly(ucce_server, sleeps):
    dialer = UcceDialer(
        ucce_server.url, "administrator", "wrong", timeout=2, sleep=sleeps
    )
    with pytest.raises(DialerAuthError) as caught:
        dialer.list_campaigns()
    assert isinstance(caught.value, DialerUnavailable)
    assert caught.value.status == 401
    assert "credentials" in str(caught.value)
    assert sleeps.delays == []


def test_ucce_unreachable_host_is_unavailable(sleeps):
    server = FakeUcce()
    url = server.start()
    server.stop()  # the port is now closed
    dialer = UcceDialer(url, "a", "b", timeout=0.5, max_retries=2, sleep=sleeps)
    with pytest.raises(DialerUnavailable):
        dialer.list_campaigns()
    assert len(sleeps.delays) == 2


def test_ucce_refuses_contacts_without_a_cisco_campaign(ucce_server, sleeps):
    requests = make_requests(2) + make_requests(1, cisco_campaign_id=None, start=9)
    with pytest.raises(DialerRejected, match="ciscoCampaignId"):
        ucce_for(ucce_server, sleeps).dispatch(requests)
    assert ucce_server.requests == []


def test_ucce_unknown_campaign_is_rejected_not_retried(ucce_server, sleeps):
    with pytest.raises(DialerRejected) as caught:
        ucce_for(ucce_server, sleeps).dispatch(make_requests(1, cisco_campaign_id="9"))
    assert caught.value.status == 404
    assert sleeps.delays == []


def test_ucce_collect_results_is_empty(ucce_server, sleeps):
    assert ucce_for(ucce_server, sleeps).collect_results() == []


# --- UCCX -------------------------------------------------------------------


def test_uccx_lists_campaigns_like_the_seed(uccx_server, sleeps):
    listed = uccx_for(uccx_server, sleeps).list_campaigns()
    assert listed == [
        {
            "ciscoCampaignId": "200",
            "ciscoCampaignName": "OBPreview",
            "campaignType": "0",
            "maxAttempts": "1",
        },
        {
            "ciscoCampaignId": "201",
            "ciscoCampaignName": "IVRProgressive",
            "campaignType": "1",
            "maxAttempts": "1",
        },
        {
            "ciscoCampaignId": "202",
            "ciscoCampaignName": "IVRPredictive",
            "campaignType": "1",
            "maxAttempts": "1",
        },
    ]


def test_uccx_adds_contacts_in_chunks_per_campaign(uccx_server, sleeps):
    dialer = uccx_for(uccx_server, sleeps, max_body_bytes=100_000)
    requests = make_requests(12_000, cisco_campaign_id="200") + make_requests(
        3, cisco_campaign_id="201", start=50_000
    )
    dialer.dispatch(requests)

    posts = uccx_server.requests_to("POST", "/adminapi/campaign/200/contacts")
    assert len(posts) >= 2 and all(len(p.body) <= 100_000 for p in posts)
    assert len(uccx_server.requests_to("POST", "/adminapi/campaign/201/contacts")) == 1
    sizes = [(b.campaign_id, len(b.rows)) for b in uccx_server.imports]
    assert sum(n for c, n in sizes if c == "200") == 12_000
    assert sizes[-1] == ("201", 3)
    assert len(uccx_server.requests_to("GET", "/contacts/status")) == len(sizes)
    batch = uccx_server.imports[-1]
    assert batch.header == ["Account Number", "First Name", "Last Name", "Phone1"]
    assert batch.rows[0]["Account Number"] == "50000"
    assert batch.rows[0]["Phone1"] == "12125550000"
    body = uccx_server.bodies[-1]
    assert body.find("campaign").get("name") == "IVRProgressive"
    assert (
        body.findtext("campaign/refURL") == f"{uccx_server.url}/adminapi/campaign/201"
    )
    assert body.findtext("allowDuplicateContacts") == "true"


def test_uccx_retries_503_then_succeeds(uccx_server, sleeps):
    dialer = uccx_for(uccx_server, sleeps)
    dialer.list_campaigns()
    uccx_server.overload(2, retry_after=2)
    dialer.dispatch(make_requests(2, cisco_campaign_id="202"))
    assert sleeps.delays == [2.0, 2.0]
    assert len(uccx_server.imports) == 1


def test_uccx_that_never_answers_is_unavailable(uccx_server, sleeps):
    uccx_server.hang_seconds = 10
    dialer = uccx_for(uccx_server, sleeps, timeout=0.2, max_retries=1)
    with pytest.raises(DialerUnavailable):
        dialer.list_campaigns()
    assert sleeps.delays == [0.5]


def test_uccx_wrong_credentials(uccx_server, sleeps):
    dialer = UccxDialer(uccx_server.url, "uccxadmin", "nope", sleep=sleeps)
    with pytest.raises(DialerAuthError):
        dialer.dispatch(make_requests(1, cisco_campaign_id="200"))
    assert sleeps.delays == []


# --- file dialer ------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_file_dialer_writes_one_contact_file_per_cisco_campaign(tmp_path):
    clock = lambda: datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC).timestamp()  # noqa: E731
    dialer = FileDialer(tmp_path / "drop", tmp_path / "archive", clock=clock)
    dialer.dispatch(
        make_requests(3, campaign_id=7)
        + make_requests(1, campaign_id=8, start=40, cisco_campaign_id="5002")
    )
    dialer.dispatch(make_requests(1, campaign_id=9, start=90))

    names = sorted(p.name for p in (tmp_path / "drop").iterdir())
    assert names == [
        "ecm_5001_20240506T070809123456Z_1.csv",
        "ecm_5001_20240506T070809123456Z_2.csv",
        "ecm_5002_20240506T070809123456Z_1.csv",
    ]
    raw = (tmp_path / "drop" / names[0]).read_bytes()
    assert raw.startswith(b"1,,,12125550001\r\n"), "no header row, CRLF"
    assert read_csv(tmp_path / "drop" / names[0]) == [
        ["1", "", "", "12125550001"],
        ["2", "", "", "12125550002"],
        ["3", "", "", "12125550003"],
    ]
    assert read_csv(tmp_path / "drop" / names[1])[0][0] == "90"


def test_file_dialer_writes_the_cisco_campaigns_file_with_its_delimiter(tmp_path):
    share = tmp_path / "cisco-share"
    lookup = {"5001": {"ciscoFilePath": str(share), "ciscoFileName": "coll.txt"}}
    dialer = FileDialer(tmp_path / "drop", delimiter="|", campaigns=lookup.get)
    dialer.dispatch(make_requests(2))
    assert (share / "coll.txt").read_bytes() == (
        b"1|||12125550001\r\n2|||12125550002\r\n"
    )
    with pytest.raises(DialerUnavailable, match="still waiting to be imported"):
        dialer.dispatch(make_requests(1, start=3))  # never over an unread file
    assert (share / "coll.txt").read_bytes().count(b"\r\n") == 2
    assert dialer.collect_results() == []


def test_file_dialer_takes_only_the_import_rules_delimiters(tmp_path):
    with pytest.raises(ValueError, match="',' or '|'"):
        FileDialer(tmp_path, delimiter=";")


def test_file_dialer_refuses_a_row_over_1024_characters(tmp_path):
    from portal.services.dialers.file import contact_file

    long = [
        DialRequest(
            contact_id=int("9" * 1100),
            campaign_id=1,
            cisco_campaign_id="5001",
            number="12125550001",
            channel=0,
            attempt_number=1,
        )
    ]
    with pytest.raises(DialerRejected, match="at most 1024"):
        contact_file(long)


def test_file_dialer_lists_campaigns_only_from_campaigns_json(tmp_path):
    dialer = FileDialer(tmp_path, tmp_path / "archive")
    assert dialer.list_campaigns() == []
    (tmp_path / "campaigns.json").write_text("{not json", encoding="utf-8")
    assert dialer.list_campaigns() == []
    (tmp_path / "campaigns.json").write_text(
        json.dumps(
            [
                {"ciscoCampaignId": 5001, "ciscoCampaignName": "A", "campaignType": 0},
                {"ciscoCampaignName": "no id"},
                "junk",
            ]
        ),
        encoding="utf-8",
    )
    assert dialer.list_campaigns() == [
        {"ciscoCampaignId": "5001", "ciscoCampaignName": "A", "campaignType": "0"}
    ]


def test_file_dialer_unwritable_share_is_unavailable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(DialerUnavailable):
        FileDialer(blocker / "drop").dispatch(make_requests(1))


# --- simulator --------------------------------------------------------------


def test_simulator_lists_four_cisco_campaigns_one_ivr():
    campaigns = SimulatorDialer().list_campaigns()
    assert [c["ciscoCampaignId"] for c in campaigns] == ["5001", "5002", "5003", "5004"]
    assert [c["campaignType"] for c in campaigns].count("1") == 1


def test_simulator_answers_after_the_delay_deterministically():
    now = [1000.0]
    dialer = SimulatorDialer(seed=7, result_delay_s=2.0, clock=lambda: now[0])
    requests = make_requests(50)
    dialer.dispatch(requests)
    assert dialer.collect_results() == []
    now[0] += 1.9
    assert dialer.collect_results() == []
    now[0] += 0.2
    results = dialer.collect_results()
    assert [r.contact_id for r in results] == list(range(1, 51))
    assert dialer.collect_results() == []
    assert dialer.pending_count == 0

    other = SimulatorDialer(seed=7)
    assert [r.call_result for r in results] == [other.result_for(r) for r in requests]
    assert all(r.raw == f"SIM:{r.call_result}" for r in results)
    assert results[0].number == requests[0].number
    retry = make_requests(50, attempt_number=2)
    assert [other.result_for(r) for r in retry] != [r.call_result for r in results]


def test_simulator_result_is_the_same_in_another_process():
    requests = make_requests(20)
    here = [SimulatorDialer(seed=42).result_for(r) for r in requests]
    code = (
        "from portal.services.dialers import SimulatorDialer, DialRequest\n"
        "d = SimulatorDialer(seed=42)\n"
        "print([d.result_for(DialRequest(i, 1, '5001', 'n', 0, 1)) "
        "for i in range(1, 21)])\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(out.stdout) == here


def test_simulator_distribution_is_realistic():
    dialer = SimulatorDialer(seed=42)
    n = 20_000
    counts = Counter(dialer.result_for(r) for r in make_requests(n))
    assert set(counts) <= {code for code, _ in VOICE_RESULT_WEIGHTS}
    for code, expected in ((10, 0.35), (8, 0.25), (9, 0.15), (12, 0.10)):
        assert abs(counts[code] / n - expected) < 0.02, (code, counts[code] / n)
    assert 0.03 < (counts[3] + counts[7]) / n < 0.07
    assert counts[2] and counts[16] and counts[21]


def test_simulator_sms_channel_gives_sms_codes():
    dialer = SimulatorDialer(seed=1)
    codes = Counter(dialer.result_for(r) for r in make_requests(2_000, channel=1))
    assert set(codes) == {100, 101, 102}
    assert codes[100] > codes[101] > codes[102]


# --- SMS ----------------------------------------------------------------------


def test_webhook_sms_posts_json_with_the_token(sms_server, sleeps):
    gateway = WebhookSms(sms_server.webhook_url, token="t0k3n", sleep=sleeps)
    gateway.send("+12125550100", "Hello Ada, your code is 42", 7)

    [message] = sms_server.messages
    assert (message.to, message.text, message.reference) == (
        "+12125550100",
        "Hello Ada, your code is 42",
        7,
    )
    [post] = sms_server.requests_to("POST", "/sms")
    assert post.headers["Content-Type"].startswith("application/json")
    assert [(r.contact_id, r.call_result) for r in gateway.collect_results()] == [
        (7, 100)
    ]
    assert gateway.collect_results() == []


def test_webhook_sms_retries_5xx_then_succeeds(sms_server, sleeps):
    sms_server.overload(2, status=500)
    gateway = WebhookSms(
        sms_server.webhook_url, token="t0k3n", backoff=0.25, sleep=sleeps
    )
    gateway.send("+12125550100", "hi", 1)
    assert sleeps.delays == [0.25, 0.5]
    assert len(sms_server.messages) == 1


def test_webhook_sms_gives_up_then_is_unavailable(sms_server, sleeps):
    sms_server.overload(100, status=503, retry_after=1)
    gateway = WebhookSms(
        sms_server.webhook_url, token="t0k3n", max_retries=2, sleep=sleeps
    )
    with pytest.raises(DialerUnavailable):
        gateway.send("+12125550100", "hi", 1)
    assert sleeps.delays == [1.0, 1.0]
    assert gateway.collect_results() == []


def test_webhook_sms_timeout_and_refusals(sms_server, sleeps):
    bad_token = WebhookSms(sms_server.webhook_url, token="wrong", sleep=sleeps)
    with pytest.raises(DialerAuthError):
        bad_token.send("1", "x", 1)
    wrong_path = WebhookSms(sms_server.url + "/nope", token="t0k3n", sleep=sleeps)
    with pytest.raises(DialerRejected):
        wrong_path.send("1", "x", 1)
    assert sleeps.delays == []

    sms_server.hang_seconds = 10
    slow = WebhookSms(
        sms_server.webhook_url, token="t0k3n", timeout=0.2, max_retries=1, sleep=sleeps
    )
    with pytest.raises(DialerUnavailable):
        slow.send("1", "x", 1)
    assert sleeps.delays == [1.0]


def test_simulator_sms_records_and_answers_per_contact():
    now = [0.0]
    gateway = SimulatorSms(seed=3, result_delay_s=1.0, clock=lambda: now[0])
    for contact_id in range(1, 101):
        gateway.send(f"+1212555{contact_id:04d}", "hello", contact_id)
    assert len(gateway.messages) == 100
    assert gateway.collect_results() == []
    now[0] = 1.0
    results = gateway.collect_results()
    assert len(results) == 100
    assert {r.call_result for r in results} <= {100, 101, 102}
    again = SimulatorSms(seed=3)
    assert [r.call_result for r in results] == [
        again.result_for(i) for i in range(1, 101)
    ]


def test_render_sms_template_fills_known_fields_only():
    fields = {
        "phone1": "+12125550100",
        "businessParam1": "Ada",
        "businessParam2": "{phone1}",
        "businessParam3": r"\1 $& %s",
        "businessParam4": None,
    }
    template = (
        "Hi {businessParam1}, we tried {phone1}. Ref {businessParam2} "
        "{businessParam3}|{businessParam4}|{unknown} {0} {phone1.__class__} "
        "{businessParam1!r} {businessparam1} {{phone1}}"
    )
    assert render_sms_template(template, fields) == (
        r"Hi Ada, we tried +12125550100. Ref {phone1} \1 $& %s||{unknown} {0} "
        "{phone1.__class__} {businessParam1!r} Ada {+12125550100}"
    )
    assert render_sms_template("", fields) == ""


# --- factory and plumbing -------------------------------------------------------


def test_build_dialer_for_each_name(tmp_path):
    config = {"ECM_UCCE_URL": "https://ucce.example", "ECM_UCCX_URL": "https://uccx"}
    prefs = {"filePath": str(tmp_path), "username": "u", "password": "p"}
    built = {name: build_dialer(name, prefs, config) for name in ("simulator", "file")}
    built["ucce"] = build_dialer("UCCE", prefs, config)
    built["uccx"] = build_dialer("uccx", prefs, config)
    assert isinstance(built["simulator"], SimulatorDialer)
    assert isinstance(built["file"], FileDialer)
    assert built["file"].archive_path == tmp_path / "archive"
    assert isinstance(built["ucce"], UcceDialer)
    assert isinstance(built["uccx"], UccxDialer)
    for name, dialer in built.items():
        assert isinstance(dialer, DialerAdapter)
        assert dialer.name == name

    with pytest.raises(ValueError, match="unknown dialer"):
        build_dialer("avaya", prefs, config)
    with pytest.raises(ValueError, match="filePath"):
        build_dialer("file", {}, config)
    with pytest.raises(ValueError, match="ECM_UCCX_URL"):
        build_dialer("uccx", prefs, {})
    with pytest.raises(ValueError, match="http"):
        build_dialer("ucce", prefs, {"ECM_UCCE_URL": "ucce.example"})


def test_build_dialer_prefers_configured_credentials(ucce_server, sleeps):
    config = {
        "ECM_UCCE_URL": ucce_server.url,
        "ECM_UCCE_USER": ucce_server.username,
        "ECM_UCCE_PASSWORD": ucce_server.password,
    }
    dialer = build_dialer("ucce", {"username": "x", "password": "y"}, config)
    assert len(dialer.list_campaigns()) == 3
    from_prefs = build_dialer(
        "ucce",
        {"username": ucce_server.username, "password": ucce_server.password},
        {"ECM_UCCE_URL": ucce_server.url},
    )
    assert len(from_prefs.list_campaigns()) == 3


def test_build_sms_gateway(sms_server):
    assert isinstance(build_sms_gateway({}), SimulatorSms)
    gateway = build_sms_gateway(
        {
            "ECM_SMS_GATEWAY": "webhook",
            "ECM_SMS_WEBHOOK_URL": sms_server.webhook_url,
            "ECM_SMS_WEBHOOK_TOKEN": "t0k3n",
            "ECM_SMS_DELIVERY_REPORTS": "true",
        }
    )
    assert isinstance(gateway, WebhookSms) and isinstance(gateway, SmsGateway)
    gateway.send("+1", "x", 5)
    assert gateway.collect_results() == []  # results come by callback instead
    with pytest.raises(ValueError):
        build_sms_gateway({"ECM_SMS_GATEWAY": "webhook"})
    with pytest.raises(ValueError, match="unknown SMS gateway"):
        build_sms_gateway({"ECM_SMS_GATEWAY": "pigeon"})


def test_parse_retry_after_accepts_seconds_and_dates():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), True), now) == 30
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=30), True), now) == 0
    )
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
