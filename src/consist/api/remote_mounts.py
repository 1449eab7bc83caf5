"""Mounts on object stores: checking them, and refusing an object-store ``run_dir``.

Pure argument checks (nothing is contacted): a remote mount is a URL such as
``"s3://bucket/prefix"`` or a mapping ``{"url": ..., "storage_options": {...}}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    OptionValueError,
    has_credentials,
    redact,
)

# Schemes that are never object stores: local files, the workspace.
LOCAL_SCHEMES = frozenset({"file", "workspace", ""})
# A URL typed as a Path loses one slash ("s3:/bucket"); catch that spelling too.
_URLISH = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:/")


@dataclass(frozen=True, slots=True)
class RemoteRoot:
    """A mount on an object store: its name, prefix URL and (private) storage options."""

    name: str
    url: str
    storage_options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def protocol(self) -> str:
        return self.url.partition("://")[0].lower()


def refuse_remote_run_dir(run_dir: object) -> None:
    """Refuse an object-store ``run_dir`` before anything is created.

    ``run_dir`` holds the database, snapshots, journals and the download cache, which need
    a local filesystem's renames and locks; left alone, ``Path("s3://b/x")`` would quietly
    become a local folder named ``s3:``.
    """
    if not isinstance(run_dir, (str, os.PathLike)):
        return
    text = os.fspath(run_dir)
    if isinstance(text, str) and _URLISH.match(text) and not text.lower().startswith("file:"):
        raise ArgumentError(
            f"run_dir={redact(text)!r} is an object-store URL, but run_dir must be a local "
            "folder (it holds the database, snapshots and the download cache). Keep run_dir "
            "local and put artifacts on the store with a mount: "
            "Tracker('runs', mounts={'lake': 's3://bucket/prefix'}), then use 'lake://...' "
            "paths for inputs and output_paths."
        )


def _remote_root(name: str, value: object) -> RemoteRoot | None:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"url", "storage_options"})
        url, options = value.get("url"), value.get("storage_options") or {}
        if unknown or not isinstance(url, str) or not isinstance(options, Mapping):
            raise ArgumentTypeError(
                f"mounts[{name!r}] must be a path, a URL, or {{'url': 's3://bucket/prefix', "
                f"'storage_options': {{...}}}}; got keys {sorted(value)}."
            )
    elif isinstance(value, str) and "://" in value and not value.lower().startswith("file:"):
        url, options = value, {}
    else:
        return None
    if has_credentials(url):
        raise ArgumentError(
            f"mounts[{name!r}] is {redact(url)!r}, a URL with a user name and password in it, "
            "which would be recorded with every run. Give credentials through the "
            "environment or storage_options instead."
        )
    scheme, _, rest = url.partition("://")
    if not scheme or not rest.strip("/"):
        raise ArgumentError(
            f"mounts[{name!r}] is {url!r}; an object-store mount needs a bucket, e.g. "
            "'s3://bucket/prefix'."
        )
    return RemoteRoot(name, url.rstrip("/"), dict(options))


def split_mounts(mounts: object) -> tuple[object, dict[str, RemoteRoot]]:
    """``(local mounts, remote mounts)``: remote ones are URLs or ``{"url": ...}`` mappings.

    The local part is returned as given, for the usual checks; names of remote mounts are
    checked here the same way (identifiers other than ``file`` and ``workspace``).
    """
    if not isinstance(mounts, Mapping):
        return mounts, {}
    local: dict[object, object] = {}
    remote: dict[str, RemoteRoot] = {}
    for name, value in mounts.items():
        root = _remote_root(str(name), value)
        if root is None:
            local[name] = value
            continue
        if not isinstance(name, str) or not name.isidentifier() or name in LOCAL_SCHEMES:
            raise OptionValueError(
                "mounts",
                name,
                ["<identifier other than 'file' or 'workspace'>"],
                "Mount names become URI schemes, e.g. mounts={'lake': 's3://bucket/prefix'}.",
            )
        remote[name] = root
    return local, remote
