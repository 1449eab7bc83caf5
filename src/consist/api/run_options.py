"""The options of one run, typed: :class:`RunKeywords` is what ``tracker.run`` accepts (so
editors and type checkers see every option), :class:`RunOptions` the same options checked
once at the api boundary and frozen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

from consist.api import arguments, options
from consist.api.capture import capture_folder
from consist.core.errors import ArgumentTypeError
from consist.core.model import CacheMode, validate_key
from consist.core.workspace import absolute

ValidateMode = Literal["lazy", "eager"]
OutputMissing = Literal["warn", "error", "ignore"]
HydrationPolicy = Literal["metadata", "inputs-missing", "outputs-requested", "outputs-all"]


class RunKeywords(TypedDict, total=False):
    """Keyword options of ``tracker.run`` and ``sc.run`` (see the user guide)."""

    run_id: str
    model: str
    description: str
    config: Any
    inputs: Mapping[str, Any] | Sequence[Any]
    depends_on: Mapping[str, Any] | Sequence[Any]
    outputs: Sequence[str]
    output_paths: Mapping[str, str | os.PathLike[str]]
    fn_args: Mapping[str, Any]
    load_inputs: bool
    inject_context: bool | str
    tags: Sequence[str]
    year: int
    iteration: int
    facet: Any
    facet_from: Sequence[str]
    facet_index: bool
    artifact_dir: str | os.PathLike[str]
    hash_inputs: Sequence[Any]
    cache_mode: CacheMode
    cache_hydration: HydrationPolicy
    validate_cached_outputs: ValidateMode
    executor: str
    container: Mapping[str, Any]
    capture_dir: str | os.PathLike[str]
    capture_pattern: str
    output_missing: OutputMissing
    materialize_cached_outputs_dir: str | os.PathLike[str]


#: Every option name ``tracker.run`` takes besides ``fn`` (``name`` is positional too).
RUN_KEYWORDS = frozenset(RunKeywords.__annotations__) | {"name"}


@dataclass(frozen=True, slots=True)
class RunOptions:
    """A run's options after their one check (the identity is computed from these)."""

    name: str | None = None
    run_id: str | None = None
    model: str | None = None
    description: str | None = None
    config: Any = None
    inputs: Any = None
    depends_on: Any = None
    hash_inputs: Any = None
    outputs: tuple[str, ...] = ()
    output_paths: Mapping[str, Path] = field(default_factory=dict)
    fn_args: Mapping[str, Any] = field(default_factory=dict)
    load_inputs: bool | None = None
    inject_context: bool | str = False
    tags: Any = None
    year: Any = None
    iteration: Any = None
    facet: Any = None
    facet_from: Any = None
    facet_index: bool = True
    artifact_dir: str | None = None
    parent_run_id: str | None = None
    cache_mode: CacheMode = "reuse"
    cache_hydration: str = "metadata"
    validate_cached_outputs: ValidateMode = "lazy"
    executor: str = "python"
    container: Mapping[str, Any] | None = None
    capture_dir: Path | None = None
    capture_pattern: str = "*"
    output_missing: OutputMissing = "warn"
    materialize_dir: Path | None = None

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> RunOptions:
        """Check every option in ``args`` (absent ones take their defaults)."""
        unknown = sorted(set(args) - _ACCEPTED)
        if unknown:
            raise ArgumentTypeError(f"unknown run options {unknown}; allowed: {sorted(_ACCEPTED)}.")
        values = {k: v for k, v in args.items() if k in _PLAIN}
        capture_dir = args.get("capture_dir")
        materialize = args.get("materialize_cached_outputs_dir")
        return cls(
            **values,
            outputs=tuple(arguments.names(args.get("outputs") or (), "outputs")),
            output_paths=_output_paths(args.get("output_paths")),
            fn_args=arguments.mapping(args.get("fn_args") or {}, "fn_args", "{'alpha': 0.5}"),
            cache_mode=options.cache_mode(args.get("cache_mode", "reuse")),
            validate_cached_outputs=cast(
                ValidateMode,
                options.choice(
                    "validate_cached_outputs",
                    args.get("validate_cached_outputs", "lazy"),
                    options.VALIDATE_MODES,
                ),
            ),
            output_missing=cast(
                OutputMissing,
                options.choice(
                    "output_missing",
                    args.get("output_missing", "warn"),
                    options.OUTPUT_MISSING_MODES,
                ),
            ),
            run_id=validate_key(args["run_id"], "run_id") if "run_id" in args else None,
            facet_index=arguments.flag(args.get("facet_index", True), "facet_index"),
            artifact_dir=(
                arguments.path_text(args["artifact_dir"], "artifact_dir", "outputs/step")
                if args.get("artifact_dir") is not None
                else None
            ),
            capture_dir=capture_folder(capture_dir) if capture_dir is not None else None,
            materialize_dir=absolute(materialize) if materialize is not None else None,
        )


def _output_paths(value: Any) -> dict[str, Path]:
    given = arguments.mapping(value or {}, "output_paths", "{'result': 'result.csv'}")
    return {
        validate_key(k, "output_paths key"): Path(
            arguments.path_text(v, f"output_paths[{k!r}]", "out.csv")
        )
        for k, v in given.items()
    }


_DERIVED = {
    "facet_index",
    "artifact_dir",
    "outputs",
    "output_paths",
    "fn_args",
    "cache_mode",
    "validate_cached_outputs",
    "output_missing",
    "run_id",
    "capture_dir",
    "materialize_dir",
}
_PLAIN = {f.name for f in fields(RunOptions)} - _DERIVED
# What a request may carry: the user's options plus parent_run_id (set by runs opened by hand).
_ACCEPTED = RUN_KEYWORDS | {"parent_run_id"}
