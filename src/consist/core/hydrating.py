"""Making a run's bytes appear where it needs them: inputs produced elsewhere, outputs of
a cache hit, and whether a cache candidate's outputs still exist. Plans come from
:mod:`consist.core.hydration`; this carries them out through the run's ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consist.core.errors import MissingBytesError
from consist.core.hydration import Copy, plan_cached_outputs, plan_missing_inputs
from consist.core.model import Artifact, Run
from consist.core.step import RunnerPorts, StepRequest


class Hydrator:
    """Verified copies (or rebuilds from ingested rows) through the filesystem and
    artifact-locator ports."""

    def __init__(self, ports: RunnerPorts) -> None:
        self.ports = ports

    def expected(self, artifact: Artifact) -> Path:
        return self.ports.workspace.to_path(artifact.uri)

    def locate(self, artifact: Artifact) -> Path | None:
        return self.ports.artifacts.locate(artifact)

    def _copy(self, copies: list[Copy]) -> None:
        for copy in copies:
            if copy.source is not None and self._already_there(copy):
                continue
            if copy.source is not None:
                self.ports.fs.copy_verified(
                    copy.source, copy.dest, copy.artifact.digest, copy.artifact.size
                )
            elif not self.ports.artifacts.rebuild(copy.artifact, copy.dest):
                raise MissingBytesError(copy.key, copy.artifact.uri, copy.dest)

    def _already_there(self, copy: Copy) -> bool:
        """Whether ``copy.dest`` already holds the artifact's bytes (a repeated hit asking
        for the same output path): rewriting them would only cost a copy and a rename."""
        artifact, fs = copy.artifact, self.ports.fs
        if not artifact.digest or not fs.exists(copy.dest):
            return False
        return fs.digest(copy.dest).digest == artifact.digest

    def inputs(self, req: StepRequest, inputs: dict[str, Artifact], local: dict[str, Path]) -> None:
        if req.cache_hydration != "inputs-missing":
            return
        copies = plan_missing_inputs(
            {r.key: inputs[r.key] for r in req.inputs if r.key in inputs},
            expected=self.expected,
            exists=self.ports.fs.exists,
            locate=self.locate,
            rebuildable=self.ports.artifacts.rebuildable,
        )
        self._copy(copies)
        for copy in copies:
            local[copy.key] = copy.dest

    def outputs(self, req: StepRequest, run: Run, outputs: dict[str, Artifact]) -> None:
        copies = plan_cached_outputs(
            req.cache_hydration,
            outputs,
            output_paths=req.output_paths,
            artifact_dir=self.ports.workspace.to_path(run.artifact_dir or ""),
            materialize_dir=req.materialize_dir,
            locate=self.locate,
        )
        self._copy(copies)

    # -- the use case ----------------------------------------------------------------------
    def missing_outputs(self, candidate: Any, validate: str) -> list[str]:
        """Outputs of a cache candidate whose bytes are gone: found at no recorded location
        and not rebuildable from ingested rows (a stat each); with ``"eager"``, also those
        whose bytes no longer match their recorded digest."""
        gone = []
        # A locator may answer "is it there?" without fetching (remote objects: one HEAD);
        # locating a remote artifact would download it just to check.
        present = getattr(self.ports.artifacts, "present", None)
        for key, artifact in candidate.outputs.items():
            if validate != "eager" and present is not None and present(artifact):
                continue
            found = self.locate(artifact)
            if found is None:
                if not self.ports.artifacts.rebuildable(artifact):
                    gone.append(key)
            elif (
                validate == "eager"
                and artifact.digest
                and self.ports.fs.digest(found).digest != artifact.digest
            ):
                gone.append(key)
        return gone
