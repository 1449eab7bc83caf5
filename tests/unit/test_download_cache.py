"""The download cache for remote objects: verified blobs, change hints, LRU eviction."""

from __future__ import annotations

import os
import time
from pathlib import Path

import blake3
import pytest

from consist.adapters.filesystems.local import LocalFileSystem
from consist.api.objcache import DownloadCache, max_bytes_from_environment
from consist.core.errors import ArgumentError, ConsistWarning
from consist.core.ports.filesystem import FileDigest


def _put(cache: DownloadCache, data: bytes) -> str:
    digest = "blake3:" + blake3.blake3(data).hexdigest()
    path = cache.path_for(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    cache.admit(digest)
    return digest


def test_an_intact_blob_is_handed_out_and_an_altered_one_is_discarded(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", LocalFileSystem())
    digest = _put(cache, b"payload")
    assert cache.get(digest) == cache.path_for(digest)
    cache.path_for(digest).write_bytes(b"paYload")
    with pytest.warns(ConsistWarning, match="altered"):
        assert cache.get(digest) is None
    assert not cache.path_for(digest).exists()


def test_least_recently_used_blobs_go_first_and_the_newest_always_stays(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", LocalFileSystem(), max_bytes=25)
    old = _put(cache, b"a" * 10)
    time.sleep(0.02)
    used = _put(cache, b"b" * 10)
    time.sleep(0.02)
    assert cache.get(old) is not None  # "old" is now the most recently used
    time.sleep(0.02)
    new = _put(cache, b"c" * 10)  # 30 bytes > 25: evict the least recently used
    assert cache.path_for(old).exists() and cache.path_for(new).exists()
    assert not cache.path_for(used).exists()
    tiny = DownloadCache(tmp_path / "tiny", LocalFileSystem(), max_bytes=0)
    only = _put(tiny, b"d" * 10)
    assert tiny.path_for(only).exists()  # the blob just added is never evicted


def test_hints_survive_a_new_cache_object_and_ignore_a_torn_line(tmp_path: Path) -> None:
    cache = DownloadCache(tmp_path / "cache", LocalFileSystem())
    found = FileDigest("blake3:" + "ab" * 32, 3)
    cache.remember("s3://b/k", "etag1", found)
    with open(cache.hints_log, "a") as f:
        f.write('["s3://b/k", "etag2", 3, "blake3:')  # a crash mid-append
    again = DownloadCache(tmp_path / "cache", LocalFileSystem())
    assert again.known_digest("s3://b/k", "etag1", 3) == found.digest
    assert again.known_digest("s3://b/k", "etag2", 3) is None
    assert again.known_digest("s3://b/k", "etag1", 4) is None  # other size: other object
    assert again.known_digest("s3://b/k", None, 3) is None


def test_the_bound_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSIST_CACHE_MAX_BYTES", "1234")
    assert max_bytes_from_environment() == 1234
    monkeypatch.setenv("CONSIST_CACHE_MAX_BYTES", "lots")
    with pytest.raises(ArgumentError, match="CONSIST_CACHE_MAX_BYTES='lots'"):
        max_bytes_from_environment()
    monkeypatch.delenv("CONSIST_CACHE_MAX_BYTES")
    assert max_bytes_from_environment() == 20 * 1024**3
    assert os.environ.get("CONSIST_CACHE_MAX_BYTES") is None
