"""Module-level calls kept for code written against the original library's public API:
``consist.use_tracker``, ``consist.run``, ``consist.load_df``, ``consist.define_step``,
``consist.ref``, ``ExecutionOptions`` and ``CacheOptions``.

Each one is a thin spelling of a call Consist already has (see ``docs/original-api.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consist.api.context import current_tracker_var, owner_tracker
from consist.core.errors import ArgumentError, ArgumentTypeError, KeyNotFoundError


@contextmanager
def use_tracker(tracker: Any) -> Iterator[Any]:
    """Make ``tracker`` the current tracker of this thread or task inside the block, so
    ``consist.run(...)``, ``consist.scenario(...)`` and ``consist.load(...)`` need no
    ``tracker=``. Blocks nest; the previous current tracker comes back on exit."""
    if not hasattr(tracker, "run"):
        raise ArgumentTypeError(
            f"use_tracker() takes a consist.Tracker, got {type(tracker).__name__}: {tracker!r:.80}."
        )
    token = current_tracker_var.set(tracker)
    try:
        yield tracker
    finally:
        current_tracker_var.reset(token)


def run(fn: Callable[..., Any] | None = None, name: str | None = None, **options: Any) -> Any:
    """``tracker.run(fn, ...)`` on ``tracker=`` or, without it, the current tracker (set by
    ``with consist.use_tracker(tracker):`` or by an open run)."""
    tracker = owner_tracker(options.pop("tracker", None), "run", "run")
    return tracker.run(fn, name, **options)


def load_df(artifact: Any, **kwargs: Any) -> Any:
    """``consist.load(artifact, ...)`` for a tabular artifact: a pandas DataFrame unless
    ``engine=`` asks for another frame engine."""
    from consist.api.loading import load

    kwargs.setdefault("engine", "pandas")
    return load(artifact, **kwargs)


def define_step(
    outputs: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    description: str | None = None,
    **run_defaults: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``tracker.define_step(...)`` without a tracker: the defaults live on the function,
    so any tracker's ``run`` (or a scenario's) uses them."""
    from consist.api.steps import step_decorator

    return step_decorator(outputs, tags, description, run_defaults)


def ref(result: Any, key: str | None = None) -> Any:
    """The output ``key`` of a ``RunResult`` (its only output when ``key`` is None), to pass
    as an input of a later step; an ``Artifact`` is returned as it is."""
    outputs = getattr(result, "outputs", None)
    if not isinstance(outputs, Mapping):
        if hasattr(result, "key") and hasattr(result, "hash"):
            return result  # already an artifact
        raise ArgumentTypeError(
            f"consist.ref() takes a RunResult (or an Artifact), got {type(result).__name__}."
        )
    if key is None:
        if len(outputs) != 1:
            raise ArgumentError(
                f"run {result.run.id!r} has outputs {sorted(outputs)}; name one with key=..."
            )
        return next(iter(outputs.values()))
    if key not in outputs:
        raise KeyNotFoundError(
            f"run {result.run.id!r} has no output {key!r}; its outputs are {sorted(outputs)}."
        )
    return outputs[key]


@dataclass(frozen=True)
class CacheOptions:
    """Cache options of one ``run`` grouped in an object (``cache_options=``): each field
    is the run option of the same name; ``None`` leaves it unset."""

    cache_mode: str | None = None
    cache_hydration: str | None = None
    validate_cached_outputs: str | None = None


@dataclass(frozen=True)
class ExecutionOptions:
    """Execution options of one ``run`` grouped in an object (``execution_options=``).

    ``load_inputs`` and ``inject_context`` are the run options of those names.
    ``runtime_kwargs`` are keyword arguments for the function; each one enters the cache
    signature as an ``fn_args`` entry would (so a different value is a miss, never a stale
    hit). A name that repeats an ``inputs=`` or ``config=`` entry with the same value is
    bound from there and adds nothing.
    """

    load_inputs: bool | None = None
    inject_context: bool | str | None = None
    runtime_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.load_inputs is not None and not isinstance(self.load_inputs, bool):
            raise ArgumentTypeError(
                f"ExecutionOptions(load_inputs={self.load_inputs!r}) takes True or False."
            )
        if not isinstance(self.runtime_kwargs, Mapping):
            raise ArgumentTypeError(
                f"ExecutionOptions(runtime_kwargs={self.runtime_kwargs!r:.80}) takes a "
                "mapping of parameter name to value."
            )


_GROUPS: dict[str, tuple[type, tuple[str, ...]]] = {
    "execution_options": (ExecutionOptions, ("load_inputs", "inject_context")),
    "cache_options": (CacheOptions, ("cache_mode", "cache_hydration", "validate_cached_outputs")),
}


def expand_execution_options(args: Mapping[str, Any]) -> Mapping[str, Any]:
    """``args`` with ``execution_options=`` / ``cache_options=`` replaced by the run options
    they stand for; ``runtime_kwargs`` are checked to be in the signature already."""
    if not any(name in args for name in _GROUPS):
        return args
    rest = {k: v for k, v in args.items() if k not in _GROUPS}
    for option, (kind, names) in _GROUPS.items():
        given = args.get(option)
        if given is None:
            continue
        if not isinstance(given, kind):
            raise ArgumentTypeError(
                f"{option}={given!r:.80} must be a consist.{kind.__name__}(...)."
            )
        for name in names:
            value = getattr(given, name)
            if value is None:
                continue
            if name in rest and rest[name] != value:
                raise ArgumentError(
                    f"{name}={rest[name]!r} and {kind.__name__}({name}={value!r}) disagree; "
                    "give it once."
                )
            rest[name] = value
    execution = args.get("execution_options")
    if execution is not None and execution.runtime_kwargs:
        rest["fn_args"] = _merge_runtime(execution.runtime_kwargs, rest)
    return rest


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (str, os.PathLike)) and isinstance(b, (str, os.PathLike)):
        return Path(a).resolve() == Path(b).resolve()
    try:
        return bool(a is b or a == b)
    except Exception:  # noqa: BLE001 - values whose == is not a bool (arrays) are not equal
        return False


def _merge_runtime(runtime: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    """``fn_args`` with the runtime keyword arguments added (each one hashed with them)."""
    merged = dict(args.get("fn_args") or {})
    for name, value in runtime.items():
        bound = [
            option
            for option in ("inputs", "config")
            if isinstance(args.get(option), Mapping) and name in args[option]
        ]
        if bound and _same(args[bound[0]][name], value):
            continue  # already bound (and hashed) from inputs= or config=
        if name in merged and not _same(merged[name], value):
            raise ArgumentError(
                f"{name!r} is given twice with different values: fn_args={{{name!r}: "
                f"{merged[name]!r:.40}}} and ExecutionOptions(runtime_kwargs={{{name!r}: "
                f"{value!r:.40}}}); give it once."
            )
        merged[name] = value
    return merged
