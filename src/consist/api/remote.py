"""Artifacts on object stores: remote mounts, staging, the download cache, remote inputs.

A mount may name an object-store prefix (``mounts={"lake": "s3://bucket/prefix"}``). The
workspace stays local; each remote mount gets a *staging* folder,
``run_dir/.consist/staging/<name>/``, which stands for the prefix on this machine:

* a step writes an output to its staging path (``output_paths={"k": "lake://x.parquet"}``
  resolves there); when the run records it, the file is uploaded and digested in the same
  pass (:mod:`consist.api.staging`) and recorded as ``lake://x.parquet``;
* an input on the store (``"lake://raw/a.csv"`` or a bare ``"s3://bucket/raw/a.csv"``) is
  identified by the digest of its bytes. The first time an object version is seen it is
  downloaded once into the content-addressed cache (:mod:`consist.api.objcache`) and
  digested on the way; later, one HEAD request tells whether the ETag/version id and size
  are still those of a version already digested. Only a step that executes needs the bytes.

Credentials never leave memory: mount URLs holding ``user:password@`` are refused, and
``storage_options`` are handed to the adapter only.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote

from consist.api.objcache import DownloadCache, max_bytes_from_environment
from consist.api.plugins import construct
from consist.api.remote_mounts import (
    LOCAL_SCHEMES,
    RemoteRoot,
)
from consist.core.errors import (
    InputNotFoundError,
    MountNotFoundError,
    ObjectNotFoundError,
    redact,
)
from consist.core.inputs import InputRef, Role, driver_for, raw_artifact_id
from consist.core.model import Artifact
from consist.core.ports.filesystem import FileDigest, FileSystem
from consist.core.ports.objects import ObjectStore
from consist.core.registry import FileSystemSpec, Registry
from consist.core.workspace import Workspace, _relative_part

# Schemes that are never object stores: local files, the workspace.
_LOCAL_SCHEMES = LOCAL_SCHEMES


class ObjectStores:
    """The remote side of one tracker: its remote mounts, adapters, staging and cache.

    Parameters
    ----------
    remotes
        Remote mounts by name.
    consist_dir
        ``run_dir/.consist``: staging folders and the download cache live below it.
    registry
        The adapter registry; object-store adapters are chosen by URL protocol.
    fs
        The local filesystem (digests of cached and staged files).
    """

    def __init__(
        self,
        remotes: Mapping[str, RemoteRoot],
        consist_dir: Path,
        registry: Registry,
        fs: FileSystem,
    ) -> None:
        self.remotes = dict(remotes)
        self.staging = {name: consist_dir / "staging" / name for name in self.remotes}
        self.cache = DownloadCache(consist_dir / "cache", fs, max_bytes_from_environment())
        self._registry = registry
        self._fs = fs
        self._adapters: dict[tuple[str, str], ObjectStore] = {}

    # -- addresses ---------------------------------------------------------------------------
    def is_remote(self, uri: str) -> bool:
        """Whether a recorded address or user string names an object on a store."""
        scheme = uri.partition("://")[0] if "://" in uri else ""
        if scheme in self.remotes:
            return True
        return scheme not in _LOCAL_SCHEMES and self._spec(scheme) is not None

    def url_of(self, uri: str) -> str:
        """The object URL of ``lake://rel`` or of a bare URL (returned as it is)."""
        scheme, _, rest = uri.partition("://")
        root = self.remotes.get(scheme)
        if root is None:
            return uri
        rel = _relative_part(uri, rest)
        return root.url + "/" + rel if rel else root.url

    def portable(self, url: str) -> str:
        """``lake://rel`` for a URL below a remote mount (longest prefix wins), else ``url``."""
        for root in sorted(self.remotes.values(), key=lambda r: len(r.url), reverse=True):
            if url.startswith(root.url + "/"):
                return f"{root.name}://{quote(url[len(root.url) + 1 :])}"
        return url

    def staging_path(self, uri: str) -> Path:
        """The local path a step writes an output to, for ``lake://rel`` or a URL under a
        remote mount.

        Raises
        ------
        MountNotFoundError
            For a URL under no remote mount: its output would have nowhere portable to be
            recorded.
        """
        address = self.portable(uri) if "://" in uri else uri
        scheme, _, rest = address.partition("://")
        if scheme not in self.staging:
            raise MountNotFoundError(
                f"{redact(uri)!r} is on an object store but under no mount of this tracker; "
                "outputs on a store are written through a mount: "
                "Tracker(..., mounts={'lake': '" + redact(uri.rsplit("/", 1)[0]) + "'}) and "
                "output_paths={'key': 'lake://file.parquet'}."
            )
        return self.staging[scheme] / _relative_part(address, rest)

    def staged_url(self, path: Path) -> str | None:
        """The object URL a staged local file goes to, or None if it is not staged."""
        text = str(path)
        for name, folder in self.staging.items():
            prefix = str(folder) + os.sep
            if text.startswith(prefix):
                rel = Path(text[len(prefix) :]).as_posix()
                return self.remotes[name].url + "/" + rel
        return None

    # -- adapters ----------------------------------------------------------------------------
    def _spec(self, protocol: str, fallback: bool = False) -> FileSystemSpec | None:
        specs = [s for s in self._registry.specs("filesystem") if isinstance(s, FileSystemSpec)]
        for spec in specs:
            if protocol in spec.protocols and spec.name != "local":
                return spec
        if not fallback or not protocol:
            return None
        # A remote mount may use any protocol fsspec knows, listed by a spec or not.
        return next((s for s in specs if s.name == "fsspec"), None)

    def _owner(self, url: str) -> RemoteRoot | None:
        """The mount whose settings serve ``url``: the longest mount prefix holding it, else
        a mount on the same bucket (a bare URL next to a mount reaches the same endpoint)."""
        roots = sorted(self.remotes.values(), key=lambda r: len(r.url), reverse=True)
        for root in roots:
            if url == root.url or url.startswith(root.url + "/"):
                return root
        bucket = "/".join(url.split("/", 3)[:3])
        return next((r for r in roots if r.url == bucket or r.url.startswith(bucket + "/")), None)

    def store(self, url: str) -> ObjectStore:
        """The adapter serving ``url``, with the storage options of the mount it is under."""
        owner = self._owner(url)
        protocol = url.partition("://")[0].lower()
        key = (protocol, owner.name if owner else "")
        if key not in self._adapters:
            spec = self._spec(protocol, fallback=owner is not None)
            if spec is None:
                raise MountNotFoundError(
                    f"no installed filesystem serves {redact(url)!r}; install the fsspec "
                    f"implementation for {protocol}:// (for S3: pip install 'consist[s3]')."
                )
            options = dict(owner.storage_options) if owner else {}
            self._adapters[key] = construct(spec, protocol, storage_options=options)
        return self._adapters[key]

    # -- bytes -------------------------------------------------------------------------------
    def fetch(self, url: str, digest: str | None, size: int | None = None) -> Path:
        """A local, verified copy of ``url`` in the download cache (downloaded if needed).

        Raises
        ------
        IntegrityError
            If the object's bytes no longer match ``digest``; nothing is cached.
        """
        if digest is not None and digest.startswith("blake3:"):
            cached = self.cache.get(digest)
            if cached is not None:
                return cached
        return self._download(url, digest, size)[0]

    def _download(self, url: str, digest: str | None, size: int | None) -> tuple[Path, FileDigest]:
        store = self.store(url)
        # A name of its own per download: trackers sharing a workspace may fetch at once.
        scratch = self.cache.root / "incoming" / secrets.token_hex(8)
        found = store.download(url, scratch, digest, size)
        dest = self.cache.path_for(found.digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if scratch.is_dir():  # a prefix: a folder blob (replace cannot overwrite a folder)
            if dest.exists():
                shutil.rmtree(scratch)
            else:
                os.replace(scratch, dest)
        else:
            os.replace(scratch, dest)
        stat = store.stat(url)
        if stat is not None and stat.size == found.size:
            self.cache.remember(url, stat.version or stat.etag, found)
        return self.cache.admit(found.digest), found

    def identify(self, url: str) -> tuple[FileDigest, Path | None]:
        """The digest of the object at ``url`` now, and its cached copy if there is one.

        One HEAD request; the bytes are read only for an object version not seen before.

        Raises
        ------
        FileNotFoundError
            If there is no object at ``url``.
        """
        store = self.store(url)
        stat = store.stat(url)
        if stat is None:
            raise FileNotFoundError(2, "no object at this address", redact(url))
        known = self.cache.known_digest(url, stat.version or stat.etag, stat.size)
        if known is not None:
            # No read at all: the blob (if cached) is verified when a step needs it.
            return FileDigest(known, stat.size), None
        path, found = self._download(url, None, None)
        return found, path

    def upload(self, path: Path, url: str) -> FileDigest:
        """Upload a staged file to ``url``, digested while it streams; the new object's
        ETag/version is remembered, so reading it back as an input needs no download."""
        store = self.store(url)
        found = store.upload(path, url)
        stat = store.stat(url)
        if stat is not None and stat.size == found.size:
            self.cache.remember(url, stat.version or stat.etag, found)
        return found

    # -- inputs ------------------------------------------------------------------------------
    def input_ref(self, key: str, role: Role, text: str, what: str) -> InputRef:
        """An input on a store, identified by its content digest; its local path is the
        cached copy when there is one (else it is fetched when a step needs the bytes)."""
        url = self.url_of(text)
        uri = self.portable(url)
        try:
            found, _ = self.identify(url)
        except ObjectNotFoundError:
            raise  # no bucket: its own advice
        except FileNotFoundError:
            raise InputNotFoundError(key, redact(url), what) from None
        name = unquote(url.rsplit("/", 1)[-1])
        artifact = Artifact(
            id=raw_artifact_id(key, uri, found.digest),
            key=key,
            uri=uri,
            driver=driver_for(Path(name)),
            digest=found.digest,
            size=found.size,
            run_id=None,
            created_at=datetime.now(UTC),
        )
        # No local path: identity is the digest just found, and the bytes are located (and
        # verified) through the artifact only if the step executes.
        return InputRef(key, role, None, artifact)

    def locate(self, artifact: Artifact) -> Path | None:
        """A local copy of a remote artifact with the recorded bytes: its staged file when
        that still matches, else the cache, else downloaded (verified); None if the object
        is gone."""
        digest = artifact.digest
        try:
            staged = self.staging_path(artifact.uri)
        except LookupError:
            staged = None
        # The staged copy counts only while it still holds the recorded bytes: a later run
        # may have written another version to the same path.
        if (
            staged is not None
            and staged.is_file()
            and (digest is None or self._fs.digest(staged, "full").digest == digest)
        ):
            return staged
        url = self.url_of(artifact.uri)
        if digest is not None and digest.startswith("blake3:"):
            cached = self.cache.get(digest)
            if cached is not None:
                return self._named(cached, url)
            try:
                return self._named(self.fetch(url, digest, artifact.size), url)
            except ObjectNotFoundError:
                raise
            except FileNotFoundError:
                return None
        return self.locate_uri(artifact.uri)

    def locate_uri(self, uri: str) -> Path | None:
        """A local copy of what is at ``uri`` now (no recorded digest to check against: the
        object's current digest is found from its change hint or by reading it once)."""
        try:
            staged = self.staging_path(uri)
        except LookupError:
            staged = None
        if staged is not None and staged.is_file():
            return staged
        url = self.url_of(uri)
        try:
            found, local = self.identify(url)
        except FileNotFoundError:
            return None
        return self._named(local or self.fetch(url, found.digest, found.size), url)

    def _named(self, blob: Path, url: str) -> Path:
        return self.cache.named(blob, unquote(url.rstrip("/").rsplit("/", 1)[-1]))

    def cached_copy(self, artifact: Artifact) -> Path | None:
        """The artifact's blob in the download cache, if it is there (never downloads)."""
        digest = artifact.digest
        if digest is None or not digest.startswith("blake3:"):
            return None
        path = self.cache.path_for(digest)
        return path if path.exists() else None

    def present(self, artifact: Artifact) -> bool:
        """Whether the artifact's bytes can be had without downloading them to find out: a
        staged or cached copy, or an object of the recorded size on the store."""
        if self.cached_copy(artifact) is not None:
            return True
        try:
            if self.staging_path(artifact.uri).is_file():
                return True  # a stat, as for local outputs (checked in full when used)
        except LookupError:
            pass
        url = self.url_of(artifact.uri)
        store = self.store(url)
        stat = store.stat(url)
        if stat is None:  # no object: perhaps a prefix (a directory output)
            exists = getattr(store, "exists", None)
            return bool(exists is not None and exists(url))
        return artifact.size is None or stat.size == artifact.size


def staged_output_paths(paths: Mapping[str, Path], workspace: Workspace) -> dict[str, Path]:
    """``output_paths`` with entries on an object store (``lake://x``, ``s3://bucket/x``)
    replaced by their staging paths, where the step writes them for upload."""
    objects = getattr(workspace, "objects", None)
    if objects is None:
        return dict(paths)
    staged: dict[str, Path] = {}
    for key, path in paths.items():
        # As a Path, "lake://x" has lost a slash: "lake:/x".
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):/+(.*)$", path.as_posix())
        if match and match[1] not in _LOCAL_SCHEMES and objects.is_remote(match[1] + "://"):
            staged[key] = objects.staging_path(f"{match[1]}://{match[2]}")
        else:
            staged[key] = path
    return staged


@dataclass(slots=True)
class RemoteWorkspace(Workspace):
    """A workspace whose remote mounts resolve to their staging folders on this machine."""

    objects: ObjectStores | None = None

    def to_path(self, uri: str) -> Path:
        scheme = uri.partition("://")[0] if "://" in uri else ""
        objects = self.objects
        if objects is not None and scheme not in self.mounts and objects.is_remote(uri):
            return objects.staging_path(uri)
        return Workspace.to_path(self, uri)
