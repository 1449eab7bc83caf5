"""Which value each parameter of a step function receives (SPEC §2 binding rules).

The plan is computed *before* anything is recorded, so a parameter that cannot be bound is a
``BindingError`` with nothing written. Loading the values is the shell's job.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from consist.core.errors import BindingError, ContextParameterError

Source = Literal["fn_args", "config", "input", "config_key", "context"]
# How an input is handed over: its local path, the Artifact, or loaded by a frame engine.
Load = Literal["path", "artifact", "frame"]

_PATH_TYPES = {
    "pathlib.Path",
    "pathlib.PurePath",
    "pathlib.PosixPath",
    "builtins.str",
    "os.PathLike",
}
_PATH_NAMES = {"Path", "PurePath", "str", "PathLike", "os.PathLike", "pathlib.Path"}
_ARTIFACT_NAMES = {"Artifact", "consist.Artifact", "consist.core.model.Artifact"}


@dataclass(frozen=True, slots=True)
class ParamBinding:
    """Where one parameter's value comes from."""

    name: str
    source: Source
    load: Load | None = None
    # Fully qualified class name of the annotation when a frame is wanted ("" = default engine).
    frame_type: str = ""


def _qualified(tp: Any) -> str:
    module = getattr(tp, "__module__", "")
    qualname = getattr(tp, "__qualname__", getattr(tp, "__name__", ""))
    return f"{module}.{qualname}"


def _strip_optional(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def classify_annotation(annotation: Any) -> tuple[Load, str]:
    """Map a parameter annotation onto how an input is handed over.

    Strings (from ``from __future__ import annotations``) are matched by name, so no library is
    imported to decide. Unknown annotations get the frame from the default engine.
    """
    if annotation is inspect.Parameter.empty:
        return "frame", ""
    annotation = _strip_optional(annotation)
    if isinstance(annotation, str):
        name = annotation.strip().removeprefix("Optional[").rstrip("]").split("|")[0].strip()
        if name in _PATH_NAMES:
            return "path", ""
        if name in _ARTIFACT_NAMES:
            return "artifact", ""
        return "frame", _frame_name_hint(name)
    qualified = _qualified(annotation)
    if qualified in _PATH_TYPES or (isinstance(annotation, type) and _is_pathlike_type(annotation)):
        return "path", ""
    if qualified == "consist.core.model.Artifact":
        return "artifact", ""
    return "frame", qualified


def _is_pathlike_type(tp: type) -> bool:
    import os
    from pathlib import PurePath

    return issubclass(tp, (PurePath, str)) or tp is os.PathLike


def _frame_name_hint(name: str) -> str:
    """Qualified class name for a frame annotation written as a string."""
    short = name.rsplit(".", 1)
    prefix = short[0] if len(short) == 2 else ""
    leaf = short[-1]
    if prefix in ("pl", "polars"):
        return f"polars.{leaf}"
    if prefix in ("pd", "pandas"):
        return f"pandas.{leaf}"
    if prefix in ("xr", "xarray"):
        return f"xarray.{leaf}"
    return ""


def _annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        # Unresolvable forward references: fall back to the raw (possibly string) annotations.
        return {}


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    kind: inspect._ParameterKind
    required: bool
    annotation: Any


@lru_cache(maxsize=1024)
def _parameters_cached(fn: Callable[..., Any]) -> tuple[_Param, ...]:
    return _parameters(fn)


def _parameters(fn: Callable[..., Any]) -> tuple[_Param, ...]:
    """The bindable parameters of ``fn`` with resolved annotations.

    Resolving annotations compiles every string annotation, so it is memoised per function
    object (a redefined function is a new object and is read afresh).
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise BindingError(f"cannot inspect the parameters of {fn!r}: {exc}") from exc
    hints = _annotations(fn)
    return tuple(
        _Param(p.name, p.kind, p.default is p.empty, hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


def plan_binding(
    fn: Callable[..., Any],
    *,
    fn_args: Mapping[str, Any],
    has_config: bool,
    config_keys: Collection[str],
    input_keys: Collection[str],
    load_inputs: bool,
    context_param: str | None = None,
) -> list[ParamBinding]:
    """Decide each parameter's source; raise :class:`BindingError` for an unbindable one,
    or for a parameter asked to take both the run context and an input or ``fn_args`` value."""
    if context_param is not None and (context_param in input_keys or context_param in fn_args):
        source = "an input" if context_param in input_keys else "fn_args"
        raise BindingError(
            f"inject_context={context_param!r} names the parameter that {source} also fills; "
            f"{_fn_name(fn)}() cannot receive both. Inject the context under another name "
            "(e.g. inject_context='ctx')."
        )
    try:
        params = _parameters_cached(fn)
    except TypeError:  # an unhashable callable object: inspect it every time
        params = _parameters(fn)
    plan: list[ParamBinding] = []
    for param in params:
        name = param.name
        if name in fn_args:
            plan.append(ParamBinding(name, "fn_args"))
        elif context_param is not None and name == context_param:
            plan.append(ParamBinding(name, "context"))
        elif name == "config" and has_config:
            plan.append(ParamBinding(name, "config"))
        elif name in input_keys:
            if not load_inputs:
                plan.append(ParamBinding(name, "input", "path"))
            else:
                load, frame_type = classify_annotation(param.annotation)
                plan.append(ParamBinding(name, "input", load, frame_type))
        elif name in config_keys:
            plan.append(ParamBinding(name, "config_key"))
        elif param.required:
            if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                what = "positional-only parameter"
            else:
                what = "parameter"
            raise BindingError(
                f"{_fn_name(fn)}() {what} {name!r} has no value: it is not in inputs "
                f"({sorted(input_keys)}), not a config key, and has no default. Pass it in "
                f"inputs={{{name!r}: ...}}, fn_args={{{name!r}: ...}}, or give it a default."
            )
    named = {p.name for p in params}
    if context_param is not None and context_param not in named and not _takes_keywords(fn):
        raise ContextParameterError(
            f"inject_context asks for the run context in a parameter {context_param!r}, but "
            f"{_fn_name(fn)}() has no such parameter (its parameters are {sorted(named)}); add "
            f"a parameter {context_param!r}, or name yours with inject_context='<name>'."
        )
    extra = [key for key in fn_args if key not in named]
    if extra:
        # fn_args count for identity, so one the function can never receive would only
        # cause misses; it is most likely a typo.
        if not _takes_keywords(fn):
            raise BindingError(
                f"fn_args names {sorted(extra)}, but {_fn_name(fn)}() has no such parameter "
                f"(its parameters are {sorted(named)}); fix the name, or accept **kwargs."
            )
        plan += [ParamBinding(key, "fn_args") for key in extra]
    return plan


def _takes_keywords(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True  # nothing to check against: pass them and let the call decide
    return any(p.kind is p.VAR_KEYWORD for p in parameters)


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def config_value(config: Any, key: str) -> Any:
    """A top-level config entry by name (mapping key or attribute)."""
    if isinstance(config, Mapping):
        return config[key]
    return getattr(config, key)


def config_keys(config: Any) -> set[str]:
    """Top-level keys a config offers for binding by name."""
    if config is None:
        return set()
    if isinstance(config, Mapping):
        return {k for k in config if isinstance(k, str)}
    fields = getattr(type(config), "model_fields", None)
    if isinstance(fields, Mapping):
        return set(fields)
    dataclass_fields = getattr(config, "__dataclass_fields__", None)
    if isinstance(dataclass_fields, Mapping):
        return set(dataclass_fields)
    return set()
