"""The filesystem contract, run against the local adapter (with and without its hash cache)
and the in-memory fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.adapters.filesystems.local import LocalFileSystem
from consist.core.ports.filesystem import FileSystem
from consist.testing.contracts import FileSystemContract
from consist.testing.contracts.filesystem import Files
from consist.testing.fake_filesystem import MemoryFileSystem


class TestLocalFileSystemWithHashCache(FileSystemContract):
    @pytest.fixture
    def fs(self, tmp_path: Path) -> LocalFileSystem:
        return LocalFileSystem(cache_dir=tmp_path / "cache")


class TestLocalFileSystemWithoutHashCache(FileSystemContract):
    @pytest.fixture
    def fs(self) -> LocalFileSystem:
        return LocalFileSystem()


class TestMemoryFileSystem(FileSystemContract):
    notimpl = {
        "test_full_digest_is_the_blake3_of_the_bytes": (
            "consist.testing may import only the standard library and the core: the fake "
            "hashes with BLAKE2b-256 under the 'blake3:' prefix"
        ),
    }

    @pytest.fixture
    def fs(self) -> MemoryFileSystem:
        return MemoryFileSystem()

    def files(self, fs: FileSystem) -> Files:
        assert isinstance(fs, MemoryFileSystem)
        return fs.files


def test_memory_filesystem_never_touches_the_disk(tmp_path: Path) -> None:
    fs = MemoryFileSystem(clock=lambda: 5)
    target = tmp_path / "data" / "a.txt"
    fs.write_atomic(target, b"x")
    first = fs.mtime_ns(target)
    fs.write_atomic(target, b"y")
    assert not target.exists() and fs.read_bytes(target) == b"y"
    assert fs.mtime_ns(target) > first >= 5  # a stuck clock still gives each write a later one
    with pytest.raises(IsADirectoryError):
        fs.remove(target.parent)
    with pytest.raises(NotADirectoryError):
        fs.write_atomic(target / "below-a-file", b"z")
    assert fs.read_bytes(tmp_path / "nope") is None
