"""Hook specifications: how plugins (built-in and third-party) extend Consist.

A plugin is a module with functions decorated by :data:`hookimpl`, registered through the
``consist.plugins`` entry-point group. Provider hooks return spec records from
:mod:`consist.core.registry`; observer hooks are told about run events and must not raise
(an observer that raises is logged and ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # annotations only: importing the hookspecs loads no model or registry
    from consist.core.cache import CacheDecision
    from consist.core.model import Artifact, Run
    from consist.core.registry import ExecutorSpec, FileSystemSpec, FrameEngineSpec, StoreSpec

PROJECT_NAME = "consist"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def consist_stores() -> list[StoreSpec]:
    """Return :class:`~consist.core.registry.StoreSpec` records for metadata stores."""


@hookspec
def consist_filesystems() -> list[FileSystemSpec]:
    """Return :class:`~consist.core.registry.FileSystemSpec` records for filesystems."""


@hookspec
def consist_frame_engines() -> list[FrameEngineSpec]:
    """Return :class:`~consist.core.registry.FrameEngineSpec` records for frame engines."""


@hookspec
def consist_executors() -> list[ExecutorSpec]:
    """Return :class:`~consist.core.registry.ExecutorSpec` records for executors."""


@hookspec(firstresult=True)
def consist_object_digest(obj: object) -> object | None:
    """Return a JSON-like stand-in for ``obj`` in a config digest, or None to decline.

    Lets a plugin make a custom type usable in ``config=`` (e.g. a geometry as WKT).
    """


@hookspec
def consist_run_started(run: Run) -> None:
    """A run has begun executing (not called for cache hits)."""


@hookspec
def consist_run_finished(run: Run) -> None:
    """A run ended; ``run.status`` says how (completed or failed)."""


@hookspec
def consist_artifact_logged(run: Run, artifact: Artifact, direction: str) -> None:
    """An artifact was recorded as an input or output of ``run``."""


@hookspec
def consist_cache_decided(run: Run, decision: CacheDecision) -> None:
    """The cache decision for ``run`` was made (hit or miss, with the reason)."""
