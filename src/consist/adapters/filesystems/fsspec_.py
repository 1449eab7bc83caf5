"""The fsspec filesystem adapter: files on S3 (s3fs) or any other fsspec protocol.

It serves two roles. As the :class:`~consist.core.ports.filesystem.FileSystem` port it
digests, writes and copies objects; a :class:`~pathlib.Path` given to it names a key below
its ``root`` URL (``root="s3://bucket/prefix"`` and ``Path("/a/b.csv")`` address
``s3://bucket/prefix/a/b.csv``), a string with ``://`` is a full URL. As the
:class:`~consist.core.ports.objects.ObjectStore` capability it reads object metadata and
moves bytes between the store and local files: uploads are digested while they stream,
downloads land in a temporary file that is digested before it is renamed into place.

Digests are the BLAKE3 of the bytes, computed by this library, never the store's ETag (for
multipart uploads the ETag is a hash of part hashes, and other stores define it otherwise).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import blake3
import fsspec

from consist.adapters.filesystems.fsspec_errors import mismatch as _mismatch
from consist.adapters.filesystems.fsspec_errors import translated
from consist.adapters.filesystems.local import _DIR_CONTEXT, _record
from consist.core.errors import ObjectNotFoundError, OptionValueError, redact
from consist.core.ports.filesystem import FileDigest
from consist.core.ports.objects import ObjectStat

# Digesting reads (each a ranged GET) and local hashing use chunks of this size: large
# enough that request latency does not dominate, small enough that memory stays flat.
_CHUNK = 16 * 1024 * 1024
# Uploads up to this size go in one PUT; larger ones as multipart uploads of _PART bytes
# (the sizes s3fs's own put uses, so both cost the same number of requests).
_SINGLE_PUT = 100 * 1024 * 1024
_PART = 50 * 1024 * 1024
_HASHINGS = ("full", "fast")
# Digests of objects already read, by their change hint (URL, version/ETag, size): reading a
# version twice cannot give another digest. Bounded so a long process does not grow.
_MEMO_LIMIT = 4096


def _stamp(info: Mapping[str, Any]) -> int:
    """Modification time in nanoseconds from an fsspec ``info`` mapping (0 if unknown)."""
    for name in ("LastModified", "mtime", "last_modified", "created"):
        value = info.get(name)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1_000_000_000)
        with contextlib.suppress(TypeError, ValueError):
            return int(float(value) * 1_000_000_000)
    return 0


def _tag(info: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = info.get(name)
        if value:
            return str(value).strip('"')
    return None


class FsspecFileSystem:
    """Files behind an fsspec protocol (tested on S3 through s3fs).

    Parameters
    ----------
    protocol
        The fsspec protocol, e.g. ``"s3"``, ``"gcs"``, ``"memory"``.
    root
        URL that :class:`~pathlib.Path` arguments are relative to (needed only when paths,
        not URLs, are passed: the filesystem contract does so).
    storage_options
        Passed to ``fsspec.filesystem`` (endpoint, profile, key/secret, ...). Kept in memory
        only: nothing here writes them anywhere. Absent options come from the protocol's
        usual places (environment variables, ``~/.aws``, fsspec's configuration).
    cache_dir
        Accepted for symmetry with the local adapter; unused (the download cache lives in
        the api, which knows the workspace).
    """

    def __init__(
        self,
        protocol: str = "s3",
        root: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.protocol = protocol
        self.root = root.rstrip("/") if root else None
        options = dict(storage_options or {})
        # Objects change behind our back (that is what the change hint is for): a cached
        # listing would hide it.
        options.setdefault("use_listings_cache", False)
        options.setdefault("skip_instance_cache", True)
        self._fs = fsspec.filesystem(protocol, **options)
        self._memo: dict[str, str] = {}

    # -- addresses -------------------------------------------------------------------------
    def url(self, path: Path | str) -> str:
        """The full URL of ``path`` (a URL is returned as it is)."""
        text = os.fspath(path)
        if "://" in text:
            return text
        if self.root is None:
            raise OptionValueError(
                "path",
                text,
                [f"{self.protocol}://bucket/key"],
                "This filesystem has no root URL, so it needs full URLs.",
            )
        return self.root + "/" + PurePosixPath(text).as_posix().lstrip("/")

    def _key(self, path: Path | str) -> str:
        return self._fs._strip_protocol(self.url(path))

    # -- the FileSystem port -----------------------------------------------------------------
    def digest(self, path: Path | str, hashing: str = "full") -> FileDigest:
        """Digest an object (or every object below a prefix, like a local directory).

        Parameters
        ----------
        path
            A URL or a path below ``root``.
        hashing
            ``"full"``: BLAKE3 of the bytes (memoised per object version); ``"fast"``: of
            the size and modification time only.

        Raises
        ------
        FileNotFoundError
            If nothing exists there.
        """
        if hashing not in _HASHINGS:
            raise OptionValueError("hashing", hashing, _HASHINGS)
        url = self.url(path)
        with translated(url):
            info = self._info(url)
            if info is None:
                raise FileNotFoundError(2, "cannot digest a missing object", url)
            if info.get("type") == "directory":
                return self._digest_dir(url, hashing)
            return FileDigest(self._digest_object(url, info, hashing), int(info["size"]))

    def read_bytes(self, path: Path | str) -> bytes | None:
        """The object's bytes, or None if there is none."""
        url = self.url(path)
        with translated(url):
            try:
                return bytes(self._fs.cat_file(self._key(url)))
            except FileNotFoundError:
                return None

    def write_atomic(self, path: Path | str, data: bytes) -> None:
        """Store ``data`` as one object: a single PUT is all-or-nothing on object stores.

        Raises
        ------
        IsADirectoryError
            If objects already exist below ``path`` as a prefix (a local rename onto a
            non-empty directory fails the same way).
        """
        url = self.url(path)
        with translated(url):
            key = self._key(url)
            if self._fs.isdir(key):
                raise IsADirectoryError(21, "objects exist below this prefix", url)
            self._fs.pipe_file(key, bytes(data))

    def exists(self, path: Path | str) -> bool:
        """Whether an object or a non-empty prefix exists at ``path``."""
        url = self.url(path)
        with translated(url):
            return bool(self._fs.exists(self._key(url)))

    def mtime_ns(self, path: Path | str) -> int:
        """When the store last wrote the object, in nanoseconds (its own clock)."""
        url = self.url(path)
        with translated(url):
            info = self._info(url)
        if info is None:
            raise FileNotFoundError(2, "no such object", url)
        return _stamp(info)

    def remove(self, path: Path | str) -> None:
        """Delete the object; one that is already gone is fine."""
        url = self.url(path)
        with translated(url), contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._key(url))

    def make_dirs(self, path: Path | str) -> None:
        """Nothing to do: object stores have no folders, a prefix exists once an object is
        written below it."""

    def copy_verified(
        self,
        src: Path | str,
        dest: Path | str,
        digest: str | None = None,
        size: int | None = None,
    ) -> FileDigest:
        """Copy an object (or a prefix) to ``dest`` only if its bytes match ``digest``.

        A file is read once, through a local temporary file that is digested on the way, and
        uploaded from there only on a match: what lands is exactly what was checked. A prefix
        is digested first and then copied by the store itself.
        """
        src_url, dest_url = self.url(src), self.url(dest)
        with translated(src_url):
            info = self._info(src_url)
            if info is None:
                raise FileNotFoundError(2, "no such object", src_url)
            if info.get("type") == "directory":
                found = self._digest_dir(src_url, "full")
                if digest is not None and digest.startswith("blake3:") and found.digest != digest:
                    raise _mismatch(src_url, digest, found.digest)
                self._fs.copy(self._key(src_url), self._key(dest_url), recursive=True)
                return found
        scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"consist-{secrets.token_hex(8)}"
        try:
            found = self.download(src_url, scratch, digest, size)
            self.upload(scratch, dest_url)
        finally:
            with contextlib.suppress(OSError):
                scratch.unlink()
        return found

    # -- the ObjectStore capability ----------------------------------------------------------
    def stat(self, url: str) -> ObjectStat | None:
        """Size, ETag and version id of the object at ``url`` (one HEAD), or None."""
        with translated(url):
            info = self._info(url)
            if info is None:
                self._check_bucket(url)
        if info is None or info.get("type") == "directory":
            return None
        return ObjectStat(
            url=url,
            size=int(info["size"]),
            etag=_tag(info, "ETag", "etag", "md5Hash", "crc32c"),
            version=_tag(info, "VersionId", "version_id", "generation"),
        )

    def download(
        self, url: str, dest: Path, digest: str | None = None, size: int | None = None
    ) -> FileDigest:
        """Stream ``url`` into ``dest`` through a temporary file, digesting it on the way;
        renamed into place only if it matches ``digest`` and ``size`` (when given). A prefix
        becomes a local folder, verified as a directory digest."""
        with translated(url):
            info = self._info(url)
        if info is not None and info.get("type") == "directory":
            from consist.adapters.filesystems.fsspec_trees import download_tree

            with translated(url):
                return download_tree(self, url, dest, digest, size)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name[:100]}.{os.getpid()}.{secrets.token_hex(6)}.part")
        try:
            with translated(url):
                found, length = self._stream_to(url, tmp)
            if digest is not None and digest.startswith("blake3:") and found != digest:
                raise _mismatch(url, digest, found)
            if size is not None and length != size:
                raise _mismatch(url, f"{size} bytes", f"{length} bytes")
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return FileDigest(found, length)

    def upload(self, src: Path, url: str) -> FileDigest:
        """Stream the local file ``src`` to ``url`` in multipart chunks, hashing each chunk as
        it is sent: the file is read once, and the digest is of the bytes that were sent."""
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        with translated(url):
            if os.path.getsize(src) <= _SINGLE_PUT:
                # One request, as a plain put does for files this size: the bytes read are
                # hashed and sent from the same buffer.
                with open(src, "rb", buffering=0) as reader:
                    data = reader.readall()
                hasher.update(data)
                self._fs.pipe_file(self._key(url), data)
                length = len(data)
            else:
                length = self._upload_parts(src, url, hasher)
            result = FileDigest("blake3:" + hasher.hexdigest(), length)
            stat = self.stat(url)
        if stat is not None and stat.hint is not None:
            self._remember(stat.hint, result.digest)
        return result

    # -- internals -------------------------------------------------------------------------
    def _upload_parts(self, src: Path, url: str, hasher: blake3.blake3) -> int:
        """Send ``src`` as a multipart upload of ``_PART`` chunks, hashing each chunk on the
        way; returns the number of bytes sent."""
        length = 0
        buffer = bytearray(_PART)
        view = memoryview(buffer)
        with (
            open(src, "rb", buffering=0) as reader,
            self._fs.open(self._key(url), "wb", block_size=_PART) as writer,
        ):
            while n := reader.readinto(buffer):
                chunk = view[:n]
                hasher.update(chunk)
                writer.write(chunk)
                length += n
        return length

    def _check_bucket(self, url: str) -> None:
        """Raise :class:`ObjectNotFoundError` if the bucket of ``url`` does not exist: a
        missing object and a mistyped bucket need different fixes."""
        bucket = self._key(url).split("/", 1)[0]
        if bucket and not self._fs.exists(bucket):
            raise ObjectNotFoundError(
                f"the bucket {bucket!r} of {redact(url)} does not exist (or these credentials "
                "cannot see it); check the bucket name in the mount or URL, or create it."
            )

    def _info(self, url: str) -> dict[str, Any] | None:
        try:
            return dict(self._fs.info(self._key(url)))
        except FileNotFoundError:
            return None

    def _stream_to(self, url: str, tmp: Path) -> tuple[str, int]:
        """Fetch ``url`` into ``tmp`` with the protocol's own transfer (one streamed GET on
        S3), then digest ``tmp`` while it is still in the page cache. Ranged reads hashed
        on the fly cost a request per chunk and ran at two thirds of the speed."""
        self._fs.get_file(self._key(url), str(tmp))
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        length = 0
        with open(tmp, "rb", buffering=0) as reader:
            while n := reader.readinto(buffer):
                hasher.update(view[:n])
                length += n
        return "blake3:" + hasher.hexdigest(), length

    def _read_digest(self, url: str) -> str:
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        with self._fs.open(self._key(url), "rb", block_size=_CHUNK, cache_type="none") as f:
            while chunk := f.read(_CHUNK):
                hasher.update(chunk)
        return "blake3:" + hasher.hexdigest()

    def _digest_object(self, url: str, info: Mapping[str, Any], hashing: str) -> str:
        if hashing == "fast":
            token = b"%d:%d" % (int(info["size"]), _stamp(info))
            return "fast:" + blake3.blake3(token).hexdigest()
        stat = ObjectStat(
            url, int(info["size"]), _tag(info, "ETag", "etag"), _tag(info, "VersionId")
        )
        hint = stat.hint
        if hint is not None and hint in self._memo:
            return self._memo[hint]
        found = self._read_digest(url)
        if hint is not None:
            self._remember(hint, found)
        return found

    def _remember(self, hint: str, digest: str) -> None:
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.pop(next(iter(self._memo)))
        self._memo[hint] = digest

    def _walk(self, url: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(relative POSIX path, info)`` of every object below the prefix ``url``."""
        base = self._key(url).rstrip("/") + "/"
        for key, info in self._fs.find(base, detail=True).items():
            rel = key[len(base) :] if key.startswith(base) else key
            # Folder markers and dot-names are left out, as the local adapter leaves out
            # empty folders and dot-files, so a tree digests alike in both places.
            if not rel or rel.endswith("/") or any(p.startswith(".") for p in rel.split("/")):
                continue
            yield rel, dict(info)

    def _digest_dir(self, url: str, hashing: str) -> FileDigest:
        files = sorted(self._walk(url), key=lambda item: item[0].encode())
        manifest = blake3.blake3(derive_key_context=_DIR_CONTEXT)
        total = 0
        prefix = url.rstrip("/") + "/"
        for rel, info in files:
            value = self._digest_object(prefix + rel, info, hashing)
            manifest.update(_record(rel.encode(), value.encode("ascii")))
            total += int(info["size"])
        kind = "fast:" if hashing == "fast" else "blake3:"
        return FileDigest(kind + manifest.hexdigest(), total)
