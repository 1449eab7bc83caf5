"""The plugin SDK: every name a third-party adapter package needs, in one documented place.

A plugin imports from here and nowhere deeper, so the library can reorganise its internals
without breaking installed plugins::

    from consist.plugin import ExecutorSpec, hookimpl


    @hookimpl
    def consist_executors():
        return [ExecutorSpec(name="stopwatch", factory="my_pkg.executor:StopwatchExecutor")]

What is here:

- :data:`hookimpl`, the marker for hook implementations, and :data:`HOOKS`, the names of
  every hook (specified in :mod:`consist.core.hookspecs`);
- the spec records a provider hook returns (:class:`StoreSpec`, :class:`FileSystemSpec`,
  :class:`FrameEngineSpec`, :class:`ExecutorSpec`);
- the ports an adapter implements (``typing.Protocol`` classes: nothing to inherit) and the
  value types that cross them;
- the errors an adapter raises at its boundary;
- the contract suites (``ExecutorContract``, ``FrameEngineContract``, ...) a plugin's own
  tests subclass. They are imported on first use, so importing this module needs no pytest.

Importing this module loads no dataframe library, database driver or SQL toolkit; it is
not imported by ``import consist``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from consist.core.cache import CacheDecision, DecisionKind
from consist.core.errors import (
    AdapterNotFoundError,
    ConsistError,
    IntegrityError,
    PluginError,
    StoreError,
    StoreLockedError,
)
from consist.core.hookspecs import PROJECT_NAME, hookimpl
from consist.core.model import Artifact, Link, Run, RunArtifacts, RunStatus
from consist.core.ports.executor import Executor, TaskExecutor, TaskOutcome
from consist.core.ports.filesystem import FileDigest, FileSystem
from consist.core.ports.frames import (
    FrameCollector,
    FrameDescriber,
    FrameEngine,
    FrameRecords,
    FrameStacker,
    TypedReader,
)
from consist.core.ports.objects import ObjectStat, ObjectStore
from consist.core.ports.store import (
    CacheCandidate,
    MetadataStore,
    RunQuery,
    SqlEngineProvider,
    WriteBatch,
)
from consist.core.ports.tables import TableStore
from consist.core.registry import (
    AdapterSpec,
    ExecutorSpec,
    FileSystemSpec,
    FrameEngineSpec,
    StoreSpec,
)

#: The entry-point group a plugin package declares its plugin module under.
ENTRY_POINT_GROUP = "consist.plugins"

#: Every hook a plugin may implement, by kind (see the "Writing a plugin" guide).
HOOKS: dict[str, tuple[str, ...]] = {
    "provider": (
        "consist_stores",
        "consist_filesystems",
        "consist_frame_engines",
        "consist_executors",
    ),
    "first result": ("consist_object_digest",),
    "observer": (
        "consist_run_started",
        "consist_run_finished",
        "consist_artifact_logged",
        "consist_cache_decided",
    ),
}

# Contract suites live in consist.testing (which imports only the core); they are resolved
# lazily so a plugin's runtime import of this module does not pull in test machinery.
_CONTRACTS = {
    "ExecutorContract": "consist.testing.contracts",
    "FileSystemContract": "consist.testing.contracts",
    "FrameEngineContract": "consist.testing.contracts",
    "GapsDeclared": "consist.testing.contracts",
    "StoreContract": "consist.testing.contracts",
    "TableStoreContract": "consist.testing.contracts",
    "pytest_collection_modifyitems": "consist.testing.contracts.gaps",
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "HOOKS",
    "PROJECT_NAME",
    "AdapterNotFoundError",
    "AdapterSpec",
    "Artifact",
    "CacheCandidate",
    "CacheDecision",
    "ConsistError",
    "DecisionKind",
    "Executor",
    "ExecutorContract",
    "ExecutorSpec",
    "FileDigest",
    "FileSystem",
    "FileSystemContract",
    "FileSystemSpec",
    "FrameCollector",
    "FrameDescriber",
    "FrameEngine",
    "FrameEngineContract",
    "FrameEngineSpec",
    "FrameRecords",
    "FrameStacker",
    "GapsDeclared",
    "IntegrityError",
    "Link",
    "MetadataStore",
    "ObjectStat",
    "ObjectStore",
    "PluginError",
    "Run",
    "RunArtifacts",
    "RunQuery",
    "RunStatus",
    "SqlEngineProvider",
    "StoreContract",
    "StoreError",
    "StoreLockedError",
    "StoreSpec",
    "TableStore",
    "TableStoreContract",
    "TaskExecutor",
    "TaskOutcome",
    "TypedReader",
    "WriteBatch",
    "hookimpl",
    "pytest_collection_modifyitems",
]


def __getattr__(name: str) -> Any:
    module = _CONTRACTS.get(name)
    if module is None:
        raise AttributeError(f"module 'consist.plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from consist.testing.contracts import (
        ExecutorContract,
        FileSystemContract,
        FrameEngineContract,
        GapsDeclared,
        StoreContract,
        TableStoreContract,
    )
    from consist.testing.contracts.gaps import pytest_collection_modifyitems
