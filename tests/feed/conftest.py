"""Fixtures shared by the feed tests."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from portal.services.dialers import dialer_detail
from tests.conftest import PG_URL


@pytest.fixture
def hds(backend, tmp_path):
    """(url, engine) of empty Cisco tables (Dialer_Detail, Personal_Callback_List).

    They stand for the HDS/AW and Outbound Option databases, on the test's own
    backend: a separate SQLite file, or the PostgreSQL test database. Their columns
    and types are Cisco's (see ``portal.services.dialers.dialer_detail``).
    """
    url = f"sqlite:///{tmp_path / 'hds.sqlite3'}" if backend == "sqlite" else PG_URL
    engine = create_engine(url)
    dialer_detail.metadata.drop_all(engine)
    dialer_detail.metadata.create_all(engine)
    yield url, engine
    cached = dialer_detail._ENGINES.pop(url, None)
    if cached is not None:
        cached.dispose()
    dialer_detail.metadata.drop_all(engine)
    engine.dispose()
