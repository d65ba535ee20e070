"""Fixtures shared by the feed tests."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from portal.services.dialers import dialer_detail, uccx_results
from tests.conftest import PG_URL


@pytest.fixture
def hds(backend, tmp_path):
    """(url, engine) of empty Cisco tables: Dialer_Detail, Personal_Callback_List
    and UCCX's DialingList.

    They stand for the HDS/AW, Outbound Option and db_cra databases, on the test's
    own backend: a separate SQLite file, or the PostgreSQL test database. Their
    columns and types are Cisco's (``portal.services.dialers.dialer_detail`` and
    ``uccx_results``, each with its source).
    """
    url = f"sqlite:///{tmp_path / 'hds.sqlite3'}" if backend == "sqlite" else PG_URL
    engine = create_engine(url)
    for tables in (dialer_detail.metadata, uccx_results.metadata):
        tables.drop_all(engine)
        tables.create_all(engine)
    yield url, engine
    cached = dialer_detail._ENGINES.pop(url, None)
    if cached is not None:
        cached.dispose()
    for tables in (dialer_detail.metadata, uccx_results.metadata):
        tables.drop_all(engine)
    engine.dispose()
