"""The filesystem contract on an object store: the fsspec adapter against moto's S3 server.

Paths the contract passes are keys below the adapter's root URL. Gaps are what object
stores cannot do: clients cannot set an object's modification time, and there are no
folders without objects in them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consist.core.ports.filesystem import FileSystem
from consist.testing.contracts import FileSystemContract
from consist.testing.contracts.filesystem import Files

pytest.importorskip("s3fs")
pytest.importorskip("moto")

from consist.adapters.filesystems.fsspec_ import FsspecFileSystem  # noqa: E402
from consist.testing.moto_s3 import S3Server, server_or_skip  # noqa: E402

_NO_MTIME = "S3 sets an object's modification time itself; a client cannot change it"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    yield from server_or_skip("no S3 server for the contract")


class BucketFiles:
    """The contract's back door, through boto3 (not through the adapter under test)."""

    def __init__(self, server: S3Server, bucket: str, prefix: str) -> None:
        self.client: Any = server.client()
        self.bucket = bucket
        self.prefix = prefix

    def key(self, path: Path) -> str:
        return self.prefix + "/" + path.as_posix().lstrip("/")

    def write(self, path: Path, data: bytes) -> Path:
        self.client.put_object(Bucket=self.bucket, Key=self.key(path), Body=data)
        return path

    def patch(self, path: Path, offset: int, data: bytes) -> None:
        old = bytearray(self.read(path))
        old[offset : offset + len(data)] = data
        self.write(path, bytes(old))

    def read(self, path: Path) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(path))["Body"]
        return bytes(body.read())

    def set_mtime(self, path: Path, mtime_ns: int) -> None:
        raise NotImplementedError(_NO_MTIME)

    def mtime_ns(self, path: Path) -> int:
        head = self.client.head_object(Bucket=self.bucket, Key=self.key(path))
        return int(head["LastModified"].timestamp() * 1_000_000_000)

    def _keys(self, path: Path) -> list[str]:
        base = self.key(path).rstrip("/") + "/"
        found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=base)
        return [item["Key"] for item in found.get("Contents", [])]

    def rename(self, src: Path, dest: Path) -> Path:
        keys = self._keys(src) or [self.key(src)]
        for key in keys:
            new = self.key(dest) + key[len(self.key(src)) :]
            self.client.copy_object(
                Bucket=self.bucket, Key=new, CopySource={"Bucket": self.bucket, "Key": key}
            )
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return dest

    def rmtree(self, path: Path) -> None:
        for key in self._keys(path):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def listdir(self, path: Path) -> list[str]:
        base = self.key(path).rstrip("/") + "/"
        return sorted({key[len(base) :].split("/")[0] for key in self._keys(path)})

    def is_file(self, path: Path) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(path))
        except Exception:
            return False
        return True


class TestFsspecFileSystemOnS3(FileSystemContract):
    notimpl = {
        "test_edit_that_restores_size_and_mtime_is_seen": _NO_MTIME,
        "test_fast_digest_follows_mtime": _NO_MTIME,
        "test_fast_digest_follows_size": _NO_MTIME,
        "test_mtime_ns_follows_the_filesystem_clock": _NO_MTIME,
        "test_make_dirs_creates_parents_and_tolerates_existing": (
            "object stores have no empty folders: a prefix exists once an object is below it"
        ),
    }

    @pytest.fixture
    def fs(self, s3: S3Server, request: pytest.FixtureRequest) -> FsspecFileSystem:
        bucket = s3.make_bucket("contract")
        # One prefix per test: the bucket outlives the test, like a shared store does.
        prefix = "t/" + request.node.name.replace("[", "_").replace("]", "_")
        fs = FsspecFileSystem("s3", root=f"{bucket}/{prefix}", storage_options=s3.storage_options)
        fs.files = BucketFiles(s3, "contract", prefix)  # type: ignore[attr-defined]
        return fs

    def files(self, fs: FileSystem) -> Files:
        return fs.files  # type: ignore[attr-defined, no-any-return]
