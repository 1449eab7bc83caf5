"""Consist: cached, traceable and queryable scientific workflows.

Importing this package is cheap: every public name is resolved on first use, so no
dataframe library, database driver or SQL toolkit is imported until it is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_EXPORTS: dict[str, str] = {
    "Tracker": "consist.api.tracker:Tracker",
    "load": "consist.api.loading:load",
    "current_tracker": "consist.api.context:current_tracker",
    "RunContext": "consist.api.context:RunContext",
    "log_artifact": "consist.api.functions:log_artifact",
    "log_input": "consist.api.functions:log_input",
    "log_output": "consist.api.functions:log_output",
    "log_artifacts": "consist.api.functions:log_artifacts",
    "log_dataframe": "consist.api.functions:log_dataframe",
    "log_meta": "consist.api.functions:log_meta",
    "current_run_dir": "consist.api.functions:current_run_dir",
    "find_runs": "consist.api.queries:find_runs",
    "find_run": "consist.api.queries:find_run",
    "scenario": "consist.api.scenario:scenario",
    "Scenario": "consist.api.scenario:Scenario",
    "Coupler": "consist.core.coupler:Coupler",
    "run_query": "consist.api.sql:run_query",
    "db_session": "consist.api.sql:db_session",
    "pivot_facets": "consist.models:pivot_facets",
    "capture_outputs": "consist.api.functions:capture_outputs",
    "materialize_artifacts": "consist.api.loading:materialize_artifacts",
    "RunMatchError": "consist.core.errors:RunMatchError",
    "ContextParameterError": "consist.core.errors:ContextParameterError",
    "CacheExplanation": "consist.core.explain:CacheExplanation",
    "LineageNode": "consist.core.lineage:LineageNode",
    "RunNode": "consist.core.lineage:RunNode",
    "MissingBytesError": "consist.core.errors:MissingBytesError",
    "Artifact": "consist.core.model:Artifact",
    "Run": "consist.core.model:Run",
    "RunResult": "consist.core.model:RunResult",
    "RunArtifacts": "consist.core.model:RunArtifacts",
    "RunStatus": "consist.core.model:RunStatus",
    "hookimpl": "consist.core.hookspecs:hookimpl",
    "ConsistError": "consist.core.errors:ConsistError",
    "ConsistWarning": "consist.core.errors:ConsistWarning",
    "OptionValueError": "consist.core.errors:OptionValueError",
    "InvalidKeyError": "consist.core.errors:InvalidKeyError",
    "ConfigHashError": "consist.core.errors:ConfigHashError",
    "ArgumentHashError": "consist.core.errors:ArgumentHashError",
    "InputNotFoundError": "consist.core.errors:InputNotFoundError",
    "SpecialFileError": "consist.core.errors:SpecialFileError",
    "BindingError": "consist.core.errors:BindingError",
    "OutputError": "consist.core.errors:OutputError",
    "OutputMissingError": "consist.core.errors:OutputMissingError",
    "RunIdConflictError": "consist.core.errors:RunIdConflictError",
    "NoActiveRunError": "consist.core.errors:NoActiveRunError",
    "ActiveRunError": "consist.core.errors:ActiveRunError",
    "RunNotFoundError": "consist.core.errors:RunNotFoundError",
    "ReadOnlyError": "consist.core.errors:ReadOnlyError",
    "IntegrityError": "consist.core.errors:IntegrityError",
    "StoreError": "consist.core.errors:StoreError",
    "StoreLockedError": "consist.core.errors:StoreLockedError",
    "SchemaVersionError": "consist.core.errors:SchemaVersionError",
    "PluginError": "consist.core.errors:PluginError",
    "SchemaValidationError": "consist.core.errors:SchemaValidationError",
    "SchemaNotFoundError": "consist.core.errors:SchemaNotFoundError",
    "ArgumentError": "consist.core.errors:ArgumentError",
    "ArgumentTypeError": "consist.core.errors:ArgumentTypeError",
    "KeyNotFoundError": "consist.core.errors:KeyNotFoundError",
    "MountNotFoundError": "consist.core.errors:MountNotFoundError",
    "UnsafeAddressError": "consist.core.errors:UnsafeAddressError",
    "ViewNotFoundError": "consist.core.errors:ViewNotFoundError",
    "UnsupportedError": "consist.core.errors:UnsupportedError",
    "ContainerError": "consist.core.containers:ContainerError",
    "IngestResult": "consist.core.tables:IngestResult",
    "MatrixViewFactory": "consist.api.matrix:MatrixViewFactory",
    "lineage_svg": "consist.api.graphviz_:lineage_svg",
    "use_tracker": "consist.api.compat_calls:use_tracker",
    "run": "consist.api.compat_calls:run",
    "load_df": "consist.api.compat_calls:load_df",
    "ExecutionOptions": "consist.api.compat_calls:ExecutionOptions",
    "CacheOptions": "consist.api.compat_calls:CacheOptions",
    "define_step": "consist.api.compat_calls:define_step",
    "ref": "consist.api.compat_calls:ref",
}

__all__ = [
    "ActiveRunError",
    "ArgumentError",
    "ArgumentHashError",
    "ArgumentTypeError",
    "Artifact",
    "BindingError",
    "CacheExplanation",
    "ConfigHashError",
    "ConsistError",
    "ConsistWarning",
    "ContainerError",
    "Coupler",
    "IngestResult",
    "InputNotFoundError",
    "IntegrityError",
    "InvalidKeyError",
    "KeyNotFoundError",
    "LineageNode",
    "MatrixViewFactory",
    "MissingBytesError",
    "MountNotFoundError",
    "NoActiveRunError",
    "OptionValueError",
    "OutputError",
    "OutputMissingError",
    "PluginError",
    "ReadOnlyError",
    "Run",
    "RunArtifacts",
    "RunContext",
    "RunIdConflictError",
    "RunNode",
    "RunNotFoundError",
    "RunResult",
    "RunStatus",
    "Scenario",
    "SchemaNotFoundError",
    "SchemaValidationError",
    "SchemaVersionError",
    "SpecialFileError",
    "StoreError",
    "StoreLockedError",
    "Tracker",
    "UnsafeAddressError",
    "UnsupportedError",
    "ViewNotFoundError",
    "__version__",
    "current_run_dir",
    "current_tracker",
    "db_session",
    "find_run",
    "find_runs",
    "hookimpl",
    "lineage_svg",
    "load",
    "log_artifact",
    "log_artifacts",
    "log_dataframe",
    "log_input",
    "log_meta",
    "log_output",
    "pivot_facets",
    "capture_outputs",
    "materialize_artifacts",
    "RunMatchError",
    "ContextParameterError",
    "use_tracker",
    "run",
    "load_df",
    "ExecutionOptions",
    "CacheOptions",
    "define_step",
    "ref",
    "run_query",
    "scenario",
]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'consist' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from consist.api.compat_calls import (
        CacheOptions,
        ExecutionOptions,
        define_step,
        load_df,
        ref,
        run,
        use_tracker,
    )
    from consist.api.context import RunContext, current_tracker
    from consist.api.functions import (
        capture_outputs,
        current_run_dir,
        log_artifact,
        log_artifacts,
        log_dataframe,
        log_input,
        log_meta,
        log_output,
    )
    from consist.api.graphviz_ import lineage_svg
    from consist.api.loading import load, materialize_artifacts
    from consist.api.matrix import MatrixViewFactory
    from consist.api.queries import find_run, find_runs
    from consist.api.scenario import Scenario, scenario
    from consist.api.sql import db_session, run_query
    from consist.api.tracker import Tracker
    from consist.core.coupler import Coupler
    from consist.core.errors import (
        ActiveRunError,
        ArgumentError,
        ArgumentHashError,
        ArgumentTypeError,
        BindingError,
        ConfigHashError,
        ConsistError,
        ConsistWarning,
        ContextParameterError,
        InputNotFoundError,
        IntegrityError,
        InvalidKeyError,
        KeyNotFoundError,
        MissingBytesError,
        MountNotFoundError,
        NoActiveRunError,
        OptionValueError,
        OutputError,
        OutputMissingError,
        PluginError,
        ReadOnlyError,
        RunIdConflictError,
        RunMatchError,
        RunNotFoundError,
        SchemaVersionError,
        SpecialFileError,
        StoreError,
        StoreLockedError,
    )
    from consist.core.explain import CacheExplanation
    from consist.core.hookspecs import hookimpl
    from consist.core.lineage import LineageNode, RunNode
    from consist.core.model import Artifact, Run, RunArtifacts, RunResult, RunStatus
    from consist.models import pivot_facets
