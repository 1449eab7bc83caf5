"""The filesystem contract, run against the local adapter with and without its hash cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.adapters.filesystems.local import LocalFileSystem
from consist.testing.contracts import FileSystemContract


class TestLocalFileSystemWithHashCache(FileSystemContract):
    @pytest.fixture
    def fs(self, tmp_path: Path) -> LocalFileSystem:
        return LocalFileSystem(cache_dir=tmp_path / "cache")


class TestLocalFileSystemWithoutHashCache(FileSystemContract):
    @pytest.fixture
    def fs(self) -> LocalFileSystem:
        return LocalFileSystem()
