"""Declared contract gaps (``notimpl``) become strict xfail markers."""

import sys
from pathlib import Path

from consist.testing.contracts.gaps import pytest_collection_modifyitems  # noqa: F401

# The PostgreSQL server fixtures live beside the test folders (tests/postgres_server.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from postgres_server import postgres_cluster, postgres_url  # noqa: E402, F401
