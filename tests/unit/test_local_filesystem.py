"""Unit tests of the local filesystem adapter's hash cache, hashing paths and plugin."""

from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import blake3
import pytest

from consist.adapters.filesystems import hashcache, local
from consist.adapters.filesystems.hashcache import HashCache
from consist.adapters.filesystems.local import LocalFileSystem

HOUR_NS = 3600 * 1_000_000_000


def _blake3(data: bytes) -> str:
    return "blake3:" + blake3.blake3(data).hexdigest()


def _stat(
    dev: int, ino: int, size: int = 10, mtime: int = 1_000, ctime: int = 2_000
) -> types.SimpleNamespace:
    """A stat-like record with old timestamps, so it is outside any racy window."""
    return types.SimpleNamespace(
        st_dev=dev, st_ino=ino, st_size=size, st_mtime_ns=mtime, st_ctime_ns=ctime
    )


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every time the adapter actually reads and hashes a file."""
    calls: list[str] = []
    real = local._hash_file

    def counting(path: str, size: int) -> str:
        calls.append(path)
        return real(path, size)

    monkeypatch.setattr(local, "_hash_file", counting)
    return calls


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the hash cache's clock an hour ahead: every file on disk is now past the racy window.

    (Setting an old mtime with os.utime is not enough: it moves ctime to now.)
    """
    monkeypatch.setattr(hashcache, "_now_ns", lambda: time.time_ns() + HOUR_NS)


def _log_lines(cache_dir: Path) -> list[bytes]:
    log = cache_dir / "hash-cache.log"
    return log.read_bytes().splitlines() if log.exists() else []


# -- memoisation ---------------------------------------------------------------------------


@pytest.mark.usefixtures("later")
def test_unchanged_file_is_not_read_again(tmp_path: Path, hash_calls: list[str]) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")
    fs = LocalFileSystem(cache_dir=tmp_path / "cache")
    first = fs.digest(path)
    second = fs.digest(path)
    assert first == second
    assert first.digest == _blake3(b"a,b\n1,2\n")
    assert len(hash_calls) == 1
    assert len(_log_lines(tmp_path / "cache")) == 1


@pytest.mark.usefixtures("later")
def test_changed_file_is_hashed_again(tmp_path: Path, hash_calls: list[str]) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")
    os.utime(path, ns=(10**18, 10**18))
    fs = LocalFileSystem(cache_dir=tmp_path / "cache")
    before = fs.digest(path).digest
    path.write_bytes(b"a,b\n1,3\n")
    os.utime(path, ns=(10**18 + 1, 10**18 + 1))
    assert fs.digest(path).digest == _blake3(b"a,b\n1,3\n") != before
    assert len(hash_calls) == 2


def test_file_inside_the_racy_window_is_not_memoised(tmp_path: Path, hash_calls: list[str]) -> None:
    path = tmp_path / "fresh.csv"
    path.write_bytes(b"still being written")
    fs = LocalFileSystem(cache_dir=tmp_path / "cache")
    assert fs.digest(path) == fs.digest(path)
    assert len(hash_calls) == 2
    assert _log_lines(tmp_path / "cache") == []


def test_recent_ctime_alone_keeps_a_file_out_of_the_cache(
    tmp_path: Path, hash_calls: list[str]
) -> None:
    path = tmp_path / "copied.csv"
    path.write_bytes(b"copied with cp -p")
    os.utime(path, ns=(10**18, 10**18))  # old mtime, but the ctime says "just now"
    fs = LocalFileSystem(cache_dir=tmp_path / "cache")
    fs.digest(path)
    fs.digest(path)
    assert len(hash_calls) == 2


@pytest.mark.usefixtures("later")
def test_cache_persists_across_instances(tmp_path: Path, hash_calls: list[str]) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"\x01" * 1000)
    first = LocalFileSystem(cache_dir=tmp_path / "cache").digest(path)
    second = LocalFileSystem(cache_dir=tmp_path / "cache").digest(path)
    assert first == second
    assert len(hash_calls) == 1
    LocalFileSystem(cache_dir=tmp_path / "other-cache").digest(path)
    assert len(hash_calls) == 2


@pytest.mark.usefixtures("later")
def test_a_miss_picks_up_entries_appended_by_another_process(
    tmp_path: Path, hash_calls: list[str]
) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    reader = LocalFileSystem(cache_dir=tmp_path / "cache")
    reader.digest(a)  # loads (and extends) the log
    LocalFileSystem(cache_dir=tmp_path / "cache").digest(b)  # "another process"
    assert reader.digest(b).digest == _blake3(b"b")
    assert len(hash_calls) == 2


@pytest.mark.usefixtures("later")
def test_directory_digest_reuses_file_digests(tmp_path: Path, hash_calls: list[str]) -> None:
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "x").write_bytes(b"x")
    (root / "sub" / "y").write_bytes(b"y")
    fs = LocalFileSystem(cache_dir=tmp_path / "cache")
    assert fs.digest(root) == fs.digest(root)
    assert len(hash_calls) == 2


def test_file_changed_while_hashed_is_not_memoised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: None
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"version 1")
    real = local._hash_file

    def hash_then_edit(p: str, size: int) -> str:
        digest = real(p, size)
        Path(p).write_bytes(b"version 2")
        os.utime(p, ns=(10**18, 10**18))
        return digest

    monkeypatch.setattr(local, "_hash_file", hash_then_edit)
    LocalFileSystem(cache_dir=tmp_path / "cache").digest(path)
    assert _log_lines(tmp_path / "cache") == []


# -- the log -------------------------------------------------------------------------------


def test_corrupt_and_truncated_lines_are_ignored(tmp_path: Path) -> None:
    log = tmp_path / "hash-cache.log"
    writer = HashCache(log)
    good, flipped, torn_head, torn = (_stat(1, i) for i in (1, 2, 3, 4))
    for i, st in enumerate((good, flipped, torn_head, torn)):
        writer.put(st, _blake3(b"%d" % i))
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) == 4
    flipped_line = lines[1].replace(b"blake3:", b"blake3:f", 1)[: len(lines[1]) - 1] + b"\n"
    # A line torn by a crash after one byte, then glued to the next append: "1" + "1 3 ..."
    # must not be read as an entry for device 11.
    glued = lines[2][:1] + lines[2]
    log.write_bytes(
        lines[0] + flipped_line + b"garbage\n" + b"1 9 10 1000\n" + glued + lines[3][:-10]
    )
    reader = HashCache(log)
    assert reader.get(good) == _blake3(b"0")
    assert reader.get(flipped) is None
    assert reader.get(_stat(11, 3)) is None  # the glued line parses, but its CRC fails
    assert reader.get(torn_head) is None
    assert reader.get(torn) is None  # no trailing newline: possibly still being written


def test_unreadable_log_degrades_to_hashing(
    tmp_path: Path, hash_calls: list[str], later: None, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cache" / "hash-cache.log").mkdir(parents=True)  # a directory: cannot be used
    path = tmp_path / "a.bin"
    path.write_bytes(b"a")
    fs = LocalFileSystem(cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        assert fs.digest(path).digest == fs.digest(path).digest == _blake3(b"a")
    assert len(hash_calls) == 1  # still memoised in memory for this process
    assert len(caplog.records) == 1  # warned once, not on every miss


def test_write_atomic_with_fsync(tmp_path: Path) -> None:
    target = tmp_path / "out" / "x.bin"
    fs = LocalFileSystem(fsync=True)
    fs.write_atomic(target, b"1")
    fs.write_atomic(target, b"22")
    assert target.read_bytes() == b"22"
    assert [p.name for p in target.parent.iterdir()] == ["x.bin"]


def test_put_rejects_a_non_blake3_digest(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="blake3"):
        HashCache(tmp_path / "log").put(_stat(1, 1), "fast:" + "0" * 64)


def test_compaction_keeps_the_latest_entries(tmp_path: Path) -> None:
    log = tmp_path / "hash-cache.log"
    cache = HashCache(log, compact_min_lines=50)
    for i in range(1, 11):
        cache.put(_stat(1, i), _blake3(b"other %d" % i))
    for version in range(200):
        cache.put(_stat(1, 100), _blake3(b"version %d" % version))
    lines = log.read_bytes().splitlines()
    assert len(lines) <= 50  # 210 appends were compacted down
    assert len(lines) > 11  # ... and appending continued after the last compaction
    reader = HashCache(log)
    assert reader.get(_stat(1, 100)) == _blake3(b"version 199")
    assert all(reader.get(_stat(1, i)) == _blake3(b"other %d" % i) for i in range(1, 11))
    assert not [p for p in tmp_path.iterdir() if p.name != log.name]  # no temp file left


def _append_entries(log: str, worker: int, count: int) -> None:
    cache = HashCache(Path(log))
    for i in range(count):
        cache.put(_stat(worker, i + 1), _blake3(b"%d/%d" % (worker, i)))


def test_concurrent_appends_from_two_processes(tmp_path: Path) -> None:
    log = tmp_path / "hash-cache.log"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_entries, args=(str(log), w, 300)) for w in (1, 2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    lines = log.read_bytes().splitlines()
    parsed = [hashcache._parse(line) for line in lines]
    assert len(lines) == 600 and None not in parsed
    for entry in parsed:
        assert entry is not None
        (dev, ino, _, _, _), digest = entry
        assert digest == _blake3(b"%d/%d" % (dev, ino - 1))
    reader = HashCache(log)
    assert all(reader.get(_stat(w, i + 1)) is not None for w in (1, 2) for i in range(300))


# -- hashing -------------------------------------------------------------------------------


def test_large_file_digest_matches_blake3(tmp_path: Path) -> None:
    data = os.urandom(1 << 20) * 20 + b"tail"  # 20 MiB + 4: crosses the chunk size unevenly
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    result = LocalFileSystem().digest(path)
    assert result.digest == "blake3:" + blake3.blake3(data).hexdigest()
    assert result.size == len(data)


def test_fast_digest_reads_nothing(tmp_path: Path, hash_calls: list[str]) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    os.utime(path, ns=(5, 5))
    result = LocalFileSystem(cache_dir=tmp_path / "cache").digest(path, hashing="fast")
    assert result.digest == "fast:" + blake3.blake3(b"3:5").hexdigest()
    assert hash_calls == []


# -- directories ---------------------------------------------------------------------------


def test_directory_digest_skips_dot_entries(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    fs = LocalFileSystem()
    before = fs.digest(root)
    (root / ".DS_Store").write_bytes(b"noise")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_bytes(b"ref")
    (root / "sub" / ".a.txt.swp").write_bytes(b"swap")
    assert fs.digest(root) == before
    (root / "sub" / "visible").write_bytes(b"")
    assert fs.digest(root) != before


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_directory_symlinks_are_followed_and_cycles_rejected(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "t.txt").write_bytes(b"t")
    root = tmp_path / "d"
    root.mkdir()
    (root / "link").symlink_to(target, target_is_directory=True)
    fs = LocalFileSystem()
    before = fs.digest(root)
    assert before.size == 1
    (target / "t.txt").write_bytes(b"T")
    assert fs.digest(root) != before
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    assert fs.digest(root).size == 1
    (target / "loop").symlink_to(root, target_is_directory=True)
    with pytest.raises(OSError, match="cycle"):
        fs.digest(root)


# -- plugin --------------------------------------------------------------------------------


def test_plugin_spec_loads_lazily(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from consist.adapters.filesystems import plugin\n"
        "[spec] = [s for s in plugin.consist_filesystems() if s.name == 'local']\n"
        "assert 'blake3' not in sys.modules and 'fsspec' not in sys.modules\n"
        "assert 'consist.adapters.filesystems.local' not in sys.modules\n"
        "cls = spec.load()\n"
        "print(spec.name, spec.protocols, cls.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["local", "('file',", "'')", "LocalFileSystem"]


def test_unknown_hashing_names_the_allowed_values(tmp_path: Path) -> None:
    check: Callable[[], object] = lambda: LocalFileSystem().digest(tmp_path, hashing="quick")  # noqa: E731
    with pytest.raises(ValueError, match="'full', 'fast'"):
        check()
