"""The ports a run's use case works through besides storage: where artifacts' bytes are,
the shell around a step's execution, and which executor runs it.

Each is a small protocol the api implements with objects (never callbacks into the api), and
each has a plain in-core default so the use cases run on fakes alone.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from consist.core.model import Artifact
from consist.core.ports.executor import Executor
from consist.core.ports.filesystem import FileSystem
from consist.core.workspace import Workspace

if TYPE_CHECKING:
    from consist.core.session import RunSession


@runtime_checkable
class ArtifactLocator(Protocol):
    """Finds an artifact's bytes and binds artifacts to the workspace that can load them."""

    def attach(self, artifact: Artifact) -> Artifact:
        """The artifact, made able to resolve its path and load itself here."""
        ...

    def locate(self, artifact: Artifact) -> Path | None:
        """Where the artifact's bytes are now (this workspace or the producer's), or None."""
        ...

    def rebuildable(self, artifact: Artifact) -> bool:
        """Whether rows ingested into the database can stand in for the artifact's file."""
        ...

    def rebuild(self, artifact: Artifact, dest: Path) -> bool:
        """Write the artifact's ingested rows to ``dest``; False when there are none."""
        ...


@runtime_checkable
class SessionShell(Protocol):
    """What surrounds a step while it executes: the current run, its context, capture."""

    def activate(self, session: RunSession) -> AbstractContextManager[Any]:
        """Make ``session`` the current run while the step executes."""
        ...

    def context(self, session: RunSession) -> Any:
        """The object a step asking for a run context receives."""
        ...

    def capture(
        self, session: RunSession, folder: Path, pattern: str
    ) -> AbstractContextManager[Any]:
        """Record files written into ``folder`` (matching ``pattern``) while the step runs."""
        ...


@runtime_checkable
class Executors(Protocol):
    """The executors a run can be sent to, by name."""

    def executor(self, name: str) -> Executor:
        """The executor registered as ``name`` (built on first use)."""
        ...


class LocalArtifacts:
    """An :class:`ArtifactLocator` that looks in one workspace only and rebuilds nothing."""

    def __init__(self, workspace: Workspace, fs: FileSystem) -> None:
        self._workspace = workspace
        self._fs = fs

    def attach(self, artifact: Artifact) -> Artifact:
        return artifact

    def locate(self, artifact: Artifact) -> Path | None:
        try:
            path = self._workspace.to_path(artifact.uri)
        except LookupError:
            return None
        return path if self._fs.exists(path) else None

    def rebuildable(self, artifact: Artifact) -> bool:
        return False

    def rebuild(self, artifact: Artifact, dest: Path) -> bool:
        return False


class PlainShell:
    """A :class:`SessionShell` that adds nothing around a step (no current run, no capture);
    a step asking for a context receives the session itself."""

    def activate(self, session: RunSession) -> AbstractContextManager[Any]:
        return nullcontext()

    def context(self, session: RunSession) -> Any:
        return session

    def capture(
        self, session: RunSession, folder: Path, pattern: str
    ) -> AbstractContextManager[Any]:
        return nullcontext()
