# Declared contract gaps (``notimpl``) become strict xfails.
from consist.plugin import pytest_collection_modifyitems  # noqa: F401
