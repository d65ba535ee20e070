"""A finished import shows on /metrics: uploads by state, rows by outcome."""

from prometheus_client import REGISTRY

from tests.services.test_imports import run, upload_file
from tests.services.upload_files import make_campaign


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_finished_import_counts_its_rows_by_outcome(admin, tmp_path):
    campaign = make_campaign(admin)
    path = tmp_path / "contacts.csv"
    path.write_text("2125550101\n2125550102\nnot-a-number\n")
    before = {
        "done": _value("ecm_imports_total", kind="contacts", state="done"),
        "accepted": _value(
            "ecm_import_rows_total", kind="contacts", outcome="accepted"
        ),
        "rejected": _value(
            "ecm_import_rows_total", kind="contacts", outcome="rejected"
        ),
    }
    upload = run(upload_file(admin, "contacts", path, campaign))
    assert (upload.accepted, upload.rejected) == (2, 1)
    assert (
        _value("ecm_imports_total", kind="contacts", state="done") == before["done"] + 1
    )
    assert (
        _value("ecm_import_rows_total", kind="contacts", outcome="accepted")
        == before["accepted"] + 2
    )
    assert (
        _value("ecm_import_rows_total", kind="contacts", outcome="rejected")
        == before["rejected"] + 1
    )
