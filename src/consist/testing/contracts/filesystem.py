"""The contract every :class:`~consist.core.ports.filesystem.FileSystem` adapter must pass.

Usage::

    class TestMyFileSystem(FileSystemContract):
        @pytest.fixture
        def fs(self, tmp_path):
            return MyFileSystem(...)

The tests create their files under pytest's ``tmp_path`` in a ``data`` sub-directory, so an
adapter may keep its own state (e.g. a cache directory) elsewhere in ``tmp_path``. They set
files up, and look at them, through :meth:`FileSystemContract.files`: by default the local
disk (:class:`DiskFiles`); a filesystem that keeps its files elsewhere (in memory, in a bucket)
returns its own :class:`Files` back door. Known gaps are declared with ``notimpl`` (see
:mod:`consist.testing.contracts.gaps`). This module imports no pytest at import time;
``pytest`` is imported inside the tests that need it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Protocol

from consist.core.ports.filesystem import FileDigest, FileSystem
from consist.testing.contracts.gaps import GapsDeclared

_HOUR_NS = 3600 * 1_000_000_000
# BLAKE3 test vectors (the empty input, and b"abc").
BLAKE3_EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
BLAKE3_ABC = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


class Files(Protocol):
    """How the contract sets up and inspects files behind the filesystem's back."""

    def write(self, path: Path, data: bytes) -> Path:
        """Create or overwrite a file (and its parent folders); return ``path``."""
        ...

    def patch(self, path: Path, offset: int, data: bytes) -> None:
        """Overwrite bytes of an existing file in place, from ``offset``."""
        ...

    def read(self, path: Path) -> bytes: ...

    def set_mtime(self, path: Path, mtime_ns: int) -> None: ...

    def mtime_ns(self, path: Path) -> int: ...

    def rename(self, src: Path, dest: Path) -> Path:
        """Move a file or a folder; return ``dest``."""
        ...

    def rmtree(self, path: Path) -> None: ...

    def listdir(self, path: Path) -> list[str]:
        """Sorted names of the entries of a folder."""
        ...

    def is_file(self, path: Path) -> bool: ...


class DiskFiles:
    """:class:`Files` on the local disk."""

    def write(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def patch(self, path: Path, offset: int, data: bytes) -> None:
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(data)

    def read(self, path: Path) -> bytes:
        return path.read_bytes()

    def set_mtime(self, path: Path, mtime_ns: int) -> None:
        os.utime(path, ns=(mtime_ns, mtime_ns))

    def mtime_ns(self, path: Path) -> int:
        return path.stat().st_mtime_ns

    def rename(self, src: Path, dest: Path) -> Path:
        return src.rename(dest)

    def rmtree(self, path: Path) -> None:
        shutil.rmtree(path)

    def listdir(self, path: Path) -> list[str]:
        return sorted(p.name for p in path.iterdir())

    def is_file(self, path: Path) -> bool:
        return path.is_file()


def _make_old(files: Files, path: Path, age_ns: int = _HOUR_NS) -> int:
    """Give ``path`` an mtime ``age_ns`` in the past (as data copied from elsewhere has)."""
    then = time.time_ns() - age_ns
    files.set_mtime(path, then)
    return then


def _tree(files: Files, root: Path, contents: dict[str, bytes]) -> Path:
    for rel, data in contents.items():
        files.write(root / rel, data)
    return root


class FileSystemContract(GapsDeclared):
    """Contract tests for a filesystem adapter; subclasses provide an ``fs`` fixture."""

    def files(self, fs: FileSystem) -> Files:
        """The back door the tests use to set files up; the local disk unless overridden."""
        return DiskFiles()

    # -- files -----------------------------------------------------------------------------

    def test_is_a_filesystem(self, fs: FileSystem) -> None:
        assert isinstance(fs, FileSystem)

    def test_same_bytes_give_the_same_digest(self, fs: FileSystem, tmp_path: Path) -> None:
        a = self.files(fs).write(tmp_path / "data" / "a.bin", b"hello consist\n" * 100)
        b = self.files(fs).write(tmp_path / "data" / "sub" / "b.bin", b"hello consist\n" * 100)
        assert fs.digest(a) == fs.digest(b)
        assert fs.digest(a) == fs.digest(a)

    def test_one_changed_byte_changes_the_digest(self, fs: FileSystem, tmp_path: Path) -> None:
        data = bytearray(b"x" * 4096)
        a = self.files(fs).write(tmp_path / "data" / "a.bin", bytes(data))
        data[2048] ^= 1
        b = self.files(fs).write(tmp_path / "data" / "b.bin", bytes(data))
        assert fs.digest(a).digest != fs.digest(b).digest

    def test_digest_format_and_size(self, fs: FileSystem, tmp_path: Path) -> None:
        path = self.files(fs).write(tmp_path / "data" / "a.bin", b"\x00\x01" * 777)
        result = fs.digest(path)
        assert isinstance(result, FileDigest)
        assert result.digest.startswith("blake3:")
        hex_part = result.digest.removeprefix("blake3:")
        assert len(hex_part) == 64 and int(hex_part, 16) >= 0
        assert result.size == 1554

    def test_full_digest_is_the_blake3_of_the_bytes(self, fs: FileSystem, tmp_path: Path) -> None:
        # Digests recorded by one filesystem are checked by another (hydration, copies):
        # "blake3:" must mean BLAKE3, not merely a 256-bit hash.
        empty = self.files(fs).write(tmp_path / "data" / "empty", b"")
        abc = self.files(fs).write(tmp_path / "data" / "abc", b"abc")
        assert fs.digest(empty).digest == "blake3:" + BLAKE3_EMPTY
        assert fs.digest(abc).digest == "blake3:" + BLAKE3_ABC

    def test_empty_file(self, fs: FileSystem, tmp_path: Path) -> None:
        empty = self.files(fs).write(tmp_path / "data" / "empty", b"")
        one = self.files(fs).write(tmp_path / "data" / "one", b"\x00")
        assert fs.digest(empty).size == 0
        assert fs.digest(empty).digest != fs.digest(one).digest

    def test_in_place_edit_right_after_digest_is_seen(self, fs: FileSystem, tmp_path: Path) -> None:
        # Same size, written within one timestamp tick: a cache keyed on stat must not hide it.
        path = self.files(fs).write(tmp_path / "data" / "a.csv", b"a,b\n1,2\n")
        before = fs.digest(path).digest
        self.files(fs).write(path, b"a,b\n1,3\n")
        assert fs.digest(path).digest != before

    def test_edit_that_restores_size_and_mtime_is_seen(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        # cp -p, rsync -t, tar and unzip rewrite bytes and then set the mtime from the source.
        path = self.files(fs).write(tmp_path / "data" / "a.csv", b"a,b\n1,2\n")
        old = _make_old(self.files(fs), path)
        before = fs.digest(path).digest
        assert fs.digest(path).digest == before
        self.files(fs).patch(path, 0, b"A")
        self.files(fs).set_mtime(path, old)
        assert fs.digest(path).digest != before

    def test_missing_file_raises_file_not_found(self, fs: FileSystem, tmp_path: Path) -> None:
        import pytest

        missing = tmp_path / "data" / "nope.csv"
        with pytest.raises(FileNotFoundError, match="nope.csv"):
            fs.digest(missing)
        with pytest.raises(FileNotFoundError):
            fs.digest(missing, hashing="fast")

    def test_unknown_hashing_is_rejected(self, fs: FileSystem, tmp_path: Path) -> None:
        import pytest

        path = self.files(fs).write(tmp_path / "data" / "a.bin", b"1")
        with pytest.raises(ValueError, match="full") as info:
            fs.digest(path, hashing="sha1")
        assert "fast" in str(info.value)

    # -- fast hashing ----------------------------------------------------------------------

    def test_fast_digest_follows_mtime(self, fs: FileSystem, tmp_path: Path) -> None:
        path = self.files(fs).write(tmp_path / "data" / "a.bin", b"payload")
        self.files(fs).set_mtime(path, 1_600_000_000_000_000_000)
        first = fs.digest(path, hashing="fast")
        assert first.digest.startswith("fast:")
        assert first.size == 7
        assert fs.digest(path, hashing="fast") == first
        self.files(fs).set_mtime(path, 1_600_000_000_000_000_001)
        assert fs.digest(path, hashing="fast").digest != first.digest

    def test_fast_digest_follows_size(self, fs: FileSystem, tmp_path: Path) -> None:
        path = self.files(fs).write(tmp_path / "data" / "a.bin", b"payload")
        self.files(fs).set_mtime(path, 1_600_000_000_000_000_000)
        first = fs.digest(path, hashing="fast").digest
        self.files(fs).write(path, b"payload!")
        self.files(fs).set_mtime(path, 1_600_000_000_000_000_000)
        assert fs.digest(path, hashing="fast").digest != first

    # -- directories -----------------------------------------------------------------------

    def test_directory_digest_and_size(self, fs: FileSystem, tmp_path: Path) -> None:
        root = _tree(
            self.files(fs), tmp_path / "data" / "d", {"a.txt": b"aaa", "sub/b.txt": b"bbbb"}
        )
        result = fs.digest(root)
        assert result.digest.startswith("blake3:")
        assert result.size == 7
        assert result.digest != fs.digest(root / "a.txt").digest

    def test_directory_digest_changes_on_rename(self, fs: FileSystem, tmp_path: Path) -> None:
        root = _tree(
            self.files(fs), tmp_path / "data" / "d", {"a.txt": b"aaa", "sub/b.txt": b"bbbb"}
        )
        before = fs.digest(root)
        self.files(fs).rename(root / "sub" / "b.txt", root / "sub" / "c.txt")
        after = fs.digest(root)
        assert after.digest != before.digest
        assert after.size == before.size
        # moving between levels is a rename too
        self.files(fs).rename(root / "sub" / "c.txt", root / "c.txt")
        assert fs.digest(root).digest not in {before.digest, after.digest}

    def test_directory_digest_changes_on_content(self, fs: FileSystem, tmp_path: Path) -> None:
        root = _tree(
            self.files(fs), tmp_path / "data" / "d", {"a.txt": b"aaa", "sub/b.txt": b"bbbb"}
        )
        before = fs.digest(root).digest
        self.files(fs).write(root / "sub" / "b.txt", b"bbbB")
        assert fs.digest(root).digest != before

    def test_directory_digest_changes_when_a_file_is_added(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        root = _tree(self.files(fs), tmp_path / "data" / "d", {"a.txt": b"aaa"})
        before = fs.digest(root).digest
        self.files(fs).write(root / "z.txt", b"")
        assert fs.digest(root).digest != before

    def test_directory_digest_ignores_creation_order(self, fs: FileSystem, tmp_path: Path) -> None:
        files = {
            "b.txt": b"2",
            "a.txt": b"1",
            "sub/z.txt": b"3",
            "sub/y/x.txt": b"4",
            "a b.txt": b"5",
        }
        one = _tree(self.files(fs), tmp_path / "data" / "one", files)
        two = _tree(self.files(fs), tmp_path / "data" / "two", dict(reversed(list(files.items()))))
        assert fs.digest(one) == fs.digest(two)

    def test_directory_digest_of_a_moved_tree_is_unchanged(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        root = _tree(
            self.files(fs), tmp_path / "data" / "d", {"a.txt": b"aaa", "sub/b.txt": b"bbbb"}
        )
        before = fs.digest(root)
        moved = self.files(fs).rename(root, tmp_path / "data" / "elsewhere")
        assert fs.digest(moved) == before

    def test_missing_directory_raises_file_not_found(self, fs: FileSystem, tmp_path: Path) -> None:
        import pytest

        with pytest.raises(FileNotFoundError):
            fs.digest(tmp_path / "data" / "no-such-dir" / "x")

    # -- writes and existence --------------------------------------------------------------

    def test_write_atomic_creates_and_replaces(self, fs: FileSystem, tmp_path: Path) -> None:
        target = tmp_path / "data" / "new" / "deeper" / "out.json"
        fs.write_atomic(target, b'{"v": 1}')
        assert self.files(fs).read(target) == b'{"v": 1}'
        first = fs.digest(target).digest
        fs.write_atomic(target, b'{"v": 2}')
        assert self.files(fs).read(target) == b'{"v": 2}'
        assert fs.digest(target).digest != first
        assert self.files(fs).listdir(target.parent) == ["out.json"]

    def test_write_atomic_failure_leaves_no_temp_file(self, fs: FileSystem, tmp_path: Path) -> None:
        import pytest

        target = tmp_path / "data" / "taken"
        self.files(fs).write(target / "inside.txt", b"a directory cannot be replaced by a file")
        with pytest.raises(OSError):
            fs.write_atomic(target, b"data")
        assert self.files(fs).listdir(target.parent) == ["taken"]
        assert self.files(fs).is_file(target / "inside.txt")

    def test_exists(self, fs: FileSystem, tmp_path: Path) -> None:
        path = tmp_path / "data" / "x.txt"
        assert not fs.exists(path)
        fs.write_atomic(path, b"x")
        assert fs.exists(path)
        assert fs.exists(path.parent)

    def test_mtime_ns_follows_the_filesystem_clock(self, fs: FileSystem, tmp_path: Path) -> None:
        path = tmp_path / "data" / "clock.txt"
        fs.write_atomic(path, b"1")
        first = fs.mtime_ns(path)
        assert first == self.files(fs).mtime_ns(path)
        self.files(fs).set_mtime(path, first + 5_000_000_000)
        assert fs.mtime_ns(path) == first + 5_000_000_000

    def test_write_atomic_recreates_a_folder_removed_meanwhile(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        target = tmp_path / "data" / "snapshots" / "a.json"
        fs.write_atomic(target, b"1")
        self.files(fs).rmtree(target.parent)
        fs.write_atomic(target, b"2")
        assert self.files(fs).read(target) == b"2"

    def test_make_dirs_creates_parents_and_tolerates_existing(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        target = tmp_path / "data" / "a" / "b"
        fs.make_dirs(target)
        fs.make_dirs(target)  # already there: no error
        assert fs.exists(target) and fs.exists(target.parent)
        fs.write_atomic(target / "f.txt", b"x")
        assert fs.read_bytes(target / "f.txt") == b"x"

    def test_remove_deletes_and_tolerates_missing_files(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        target = tmp_path / "data" / "gone.txt"
        fs.write_atomic(target, b"x")
        fs.remove(target)
        assert not fs.exists(target)
        fs.remove(target)  # already gone: no error

    def test_copy_verified_copies_matching_bytes(self, fs: FileSystem, tmp_path: Path) -> None:
        src = tmp_path / "data" / "src.bin"
        fs.write_atomic(src, b"payload")
        recorded = fs.digest(src)
        dest = tmp_path / "data" / "copies" / "dest.bin"
        got = fs.copy_verified(src, dest, recorded.digest, recorded.size)
        assert self.files(fs).read(dest) == b"payload" and got.digest == recorded.digest

    def test_copy_verified_refuses_altered_bytes_and_leaves_nothing(
        self, fs: FileSystem, tmp_path: Path
    ) -> None:
        import pytest

        from consist.core.errors import IntegrityError

        src = tmp_path / "data" / "src.bin"
        fs.write_atomic(src, b"payload")
        recorded = fs.digest(src)
        self.files(fs).write(src, b"paYload")  # one byte changed after it was recorded
        dest = tmp_path / "data" / "copies" / "dest.bin"
        with pytest.raises(IntegrityError, match="recorded digest"):
            fs.copy_verified(src, dest, recorded.digest, recorded.size)
        assert self.files(fs).listdir(dest.parent) == []

    def test_copy_verified_directories(self, fs: FileSystem, tmp_path: Path) -> None:
        src = tmp_path / "data" / "tree"
        fs.write_atomic(src / "a.txt", b"a")
        fs.write_atomic(src / "sub" / "b.txt", b"b")
        recorded = fs.digest(src)
        dest = tmp_path / "data" / "copy_of_tree"
        fs.copy_verified(src, dest, recorded.digest)
        assert self.files(fs).read(dest / "sub" / "b.txt") == b"b"
        assert fs.digest(dest).digest == recorded.digest
