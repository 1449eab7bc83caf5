"""Finding an artifact's bytes on this machine, and loading them.

An artifact's URI resolves through this tracker's ``run_dir`` and mounts first. When the
bytes are not there (another tracker with its own ``run_dir`` shares the database, or the
file lives in a workspace that was never moved), the workspace the producing run recorded is
tried next.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from consist.api.frames import FrameIO
from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    MissingBytesError,
    MountNotFoundError,
)
from consist.core.inputs import driver_for
from consist.core.model import Artifact, Run
from consist.core.ports.filesystem import FileSystem
from consist.core.workspace import Workspace

if TYPE_CHECKING:
    from consist.api.remote import ObjectStores


class RowSource(Protocol):
    """Ingested rows that can be written back as an artifact's file (the hot tables)."""

    def is_rebuildable(self, artifact: Artifact) -> bool: ...

    def rebuild_from_rows(self, artifact: Artifact, dest: Path) -> bool: ...

    def rebuild_for_load(self, artifact: Artifact, db_fallback: str) -> Path | None: ...


def recorded_workspace(run: Run | None) -> Workspace | None:
    """The workspace a run recorded (its machine's ``run_dir`` and mounts), if any."""
    roots = (run.meta or {}).get("workspace") if run is not None else None
    if not isinstance(roots, dict) or not roots.get("run_dir"):
        return None
    mounts = {str(k): Path(v) for k, v in (roots.get("mounts") or {}).items()}
    return Workspace(Path(roots["run_dir"]), mounts)


class ArtifactAccess:
    """The :class:`~consist.core.model.ArtifactResolver` a tracker attaches to its artifacts."""

    def __init__(
        self, workspace: Workspace, frames: FrameIO, get_run: Callable[[str], Run | None]
    ) -> None:
        self.workspace = workspace
        self.frames = frames
        self._get_run = get_run
        self._producers: dict[str, Workspace | None] = {}
        #: Rows ingested into the database, standing in for lost files (set once built).
        self.rows: RowSource | None = None
        #: Object stores behind remote mounts and object URLs (see ``api/remote.py``).
        self.remote: ObjectStores | None = None

    def attach(self, artifact: Artifact) -> Artifact:
        artifact._resolver = self
        return artifact

    def rebuildable(self, artifact: Artifact) -> bool:
        return self.rows is not None and self.rows.is_rebuildable(artifact)

    def rebuild(self, artifact: Artifact, dest: Path) -> bool:
        return self.rows is not None and self.rows.rebuild_from_rows(artifact, dest)

    def _candidates(self, uri: str, run_id: str | None) -> list[Path]:
        found: list[Path] = []
        for workspace in (self.workspace, self._producer_workspace(run_id)):
            if workspace is None:
                continue
            try:
                path = workspace.to_path(uri)
            except LookupError:  # a mount this workspace does not have
                continue
            if path not in found:
                found.append(path)
        return found

    def _producer_workspace(self, run_id: str | None) -> Workspace | None:
        if run_id is None:
            return None
        if run_id not in self._producers:
            self._producers[run_id] = recorded_workspace(self._get_run(run_id))
        return self._producers[run_id]

    def locate(self, artifact: Artifact) -> Path | None:
        """Where the artifact's bytes are now, or None if they are nowhere to be found."""
        if not isinstance(artifact, Artifact):
            raise ArgumentTypeError(
                f"expected an Artifact, got {type(artifact).__name__} ({artifact!r:.80}); "
                "get one from result.outputs or tracker.get_artifact(key)."
            )
        if self.remote is not None and self.remote.is_remote(artifact.uri):
            return self.remote.locate(artifact)  # a verified local copy, fetched if need be
        return self.locate_uri(artifact.uri, artifact.run_id)

    def present(self, artifact: Artifact) -> bool:
        """Whether the artifact's bytes can be had, without downloading remote ones."""
        if self.remote is not None and self.remote.is_remote(artifact.uri):
            return self.remote.present(artifact)
        return self.locate(artifact) is not None

    def locate_uri(self, uri: str, run_id: str | None) -> Path | None:
        """Where the bytes recorded at ``uri`` by run ``run_id`` are now, or None."""
        if self.remote is not None and self.remote.is_remote(uri):
            return self.remote.locate_uri(uri)
        try:
            local = self.workspace.to_path(uri)
            if local.exists():  # the common case: no database lookup at all
                return local
        except LookupError:
            pass
        return next((p for p in self._candidates(uri, run_id) if p.exists()), None)

    def local_path(self, artifact: Artifact) -> Path:
        found = self.locate(artifact)
        if found is not None:
            return found
        candidates = self._candidates(artifact.uri, artifact.run_id)
        if not candidates:
            raise MountNotFoundError(
                f"artifact {artifact.key!r} ({artifact.uri}) names a mount this tracker does "
                "not have; pass it in Tracker(mounts={...})."
            )
        return candidates[0]

    def load(
        self,
        artifact: Artifact,
        *,
        engine: str | None = None,
        db_fallback: str = "inputs-only",
        **kwargs: Any,
    ) -> Any:
        if engine is not None:
            self.frames.check_engine(engine)
        path = self.locate(artifact)
        if path is None and self.rows is not None:
            path = self.rows.rebuild_for_load(artifact, db_fallback)
        if path is None:
            path = self.local_path(artifact)
        driver = artifact.driver or driver_for(path)
        if not path.exists():
            raise MissingBytesError(
                artifact.key,
                artifact.uri,
                path,
                "Rows ingested into the database stand in for a lost file with "
                f"db_fallback='always' (this load used {db_fallback!r}).",
            )
        if driver is None:
            raise ArgumentError(
                f"artifact {artifact.key!r} has no driver (file {path.name}); "
                "read it yourself from artifact.path."
            )
        if engine is not None:
            return self.frames.read_with(engine, path, driver, **kwargs)
        return self.frames.read(path, driver, **kwargs)

    def materialize(self, artifact: Artifact, dest: Path, fs: FileSystem) -> Path:
        """Copy the artifact's bytes to ``dest``, verified against the recorded digest."""
        source = self.locate(artifact)
        if source is None:
            raise MissingBytesError(artifact.key, artifact.uri, dest)
        if source != dest:
            fs.copy_verified(source, dest, artifact.digest, artifact.size)
        return dest

    def input_bundle(self, inputs: dict[str, Artifact], fs: FileSystem) -> dict[str, Any]:
        """Inputs made local (copied in where missing) and loaded: frames for tabular
        files, local paths for the rest."""
        bundle: dict[str, Any] = {}
        for key, artifact in inputs.items():
            expected = self.workspace.to_path(artifact.uri)
            if not expected.exists():
                self.materialize(artifact, expected, fs)
            # A directory with a readable driver is an array store (zarr): loaded too.
            readable = artifact.driver is not None and self.frames.can_read(artifact.driver)
            bundle[key] = (
                self.load(self.attach(artifact)) if readable and expected.exists() else expected
            )
        return bundle
