"""Declared contract gaps (``notimpl``) become strict xfail markers."""

from consist.testing.contracts.gaps import pytest_collection_modifyitems  # noqa: F401
