"""Resolving artifacts to local paths and loading them, for one tracker's workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consist.api.frames import FrameIO
from consist.core.inputs import driver_for
from consist.core.model import Artifact
from consist.core.workspace import Workspace


class ArtifactAccess:
    """The :class:`~consist.core.model.ArtifactResolver` a tracker attaches to its artifacts."""

    def __init__(self, workspace: Workspace, frames: FrameIO) -> None:
        self.workspace = workspace
        self.frames = frames

    def attach(self, artifact: Artifact) -> Artifact:
        artifact._resolver = self
        return artifact

    def local_path(self, artifact: Artifact) -> Path:
        return self.workspace.to_path(artifact.uri)

    def load(self, artifact: Artifact, *, engine: str | None = None, **kwargs: Any) -> Any:
        path = self.local_path(artifact)
        driver = artifact.driver or driver_for(path)
        if not path.exists():
            raise FileNotFoundError(
                f"artifact {artifact.key!r} ({artifact.uri}) has no bytes at {path}; "
                "re-run its producer or restore the file."
            )
        if driver is None:
            raise ValueError(
                f"artifact {artifact.key!r} has no driver (file {path.name}); "
                "read it yourself from artifact.path."
            )
        frame_type = f"{engine}.DataFrame" if engine else ""
        return self.frames.read(path, driver, frame_type, **kwargs)
