"""The dialer's campaign list: fetched by the adapter, cached, found by id or name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import CiscoCampaign
from portal.services import cisco
from portal.services.dialers.base import DialerUnavailable
from portal.services.errors import ServiceUnavailable, Unauthorized


def cached() -> int:
    return db.session.scalar(select(func.count()).select_from(CiscoCampaign))


def test_fetch_returns_the_adapters_list_and_caches_it(viewer):
    items = cisco.fetch_cisco_campaigns(viewer)
    assert items and {"ciscoCampaignId", "ciscoCampaignName", "campaignType"} <= set(
        items[0]
    )
    assert cached() == len(items)
    cisco.fetch_cisco_campaigns(viewer)
    assert cached() == len(items), "a second fetch updates rows, never duplicates"


def test_fetch_needs_a_user(ctx):
    with pytest.raises(Unauthorized):
        cisco.fetch_cisco_campaigns(None)


def test_find_by_id_and_by_name_fill_an_empty_cache(ctx):
    assert cisco.find("5001").name == "Collections_Predictive"
    assert cisco.find_by_name("collections_PREDICTIVE").cisco_campaign_id == "5001"
    assert cisco.find("no-such") is None and cisco.find_by_name("nobody") is None


class DownDialer:
    calls = 0

    def list_campaigns(self):
        DownDialer.calls += 1
        raise DialerUnavailable("connection refused")


def test_a_dialer_that_is_down_is_503_for_fetch_and_a_miss_for_lookups(
    ctx, monkeypatch
):
    monkeypatch.setattr(cisco, "dialer", lambda: DownDialer())
    with pytest.raises(ServiceUnavailable):
        cisco.fetch_cisco_campaigns(_viewer())
    assert cisco.find("5001") is None


def test_a_dialer_that_is_not_configured_is_503(app_factory):
    app = app_factory(ECM_DIALER="file")  # the file dialer needs preferences.filePath
    with app.app_context():
        with pytest.raises(ServiceUnavailable) as exc:
            cisco.fetch_cisco_campaigns(_viewer())
        assert "not configured" in exc.value.message
        assert cisco.find("5001") is None


def test_cache_misses_ask_the_dialer_at_most_once_a_minute(ctx, monkeypatch):
    cisco.find("5001")  # fills the cache
    DownDialer.calls = 0
    monkeypatch.setattr(cisco, "dialer", lambda: DownDialer())
    for _ in range(3):
        assert cisco.find("unknown") is None
    assert DownDialer.calls == 0, "a fresh cache answers misses itself"
    for row in db.session.scalars(select(CiscoCampaign)):
        row.fetched_at -= timedelta(minutes=5)
    db.session.commit()
    cisco.find("unknown")
    assert DownDialer.calls == 1


def _viewer():
    from tests.conftest import make_user

    return make_user("Viewer", "cisco-viewer")
