"""Databases recorded through the public API, on DuckDB and SQLite, for the CLI tests.

Every test that reads a database runs once per store (the ``store_kind`` fixture). The
read-only tests share one recorded workspace per store; tests that change files or the
database (``gc``, ``validate`` after tampering, ``db rebuild``) record a fresh one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import STORES, Recorded, record


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def _shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recorded]:
    return {}


@pytest.fixture
def recorded(_shared: dict[str, Recorded], store_kind: str, tmp_path_factory: Any) -> Recorded:
    """A workspace recorded once per store and module; tests must not change it."""
    if store_kind not in _shared:
        _shared[store_kind] = record(tmp_path_factory.mktemp(f"ws_{store_kind}"), store_kind)
    return _shared[store_kind]


@pytest.fixture
def fresh(tmp_path: Path, store_kind: str) -> Recorded:
    """A workspace of this test's own, free to change."""
    return record(tmp_path / "ws", store_kind)
