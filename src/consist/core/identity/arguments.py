"""The arguments component of a step's identity: every value bound to the call.

Besides config and inputs, a step receives values through ``fn_args``, through the
arguments of a ``functools.partial``, and through the instance of a bound method or callable
object (``self``). Each reaches the function, so each counts. Keyword and positional values
are named by the parameter they bind, so ``partial(step, k=1)``, ``partial(step, 1)`` and
``fn_args={"k": 1}`` are the same call and the same identity. A value with no stable digest
is refused with an error naming it: leaving it out would risk a false cache hit.

``fn_args`` and partial arguments are read on every call. An instance (``self``) is digested
like a value the code captures: once per object, the first time this process sees it, so
``Model(1).step`` and ``Model(2).step`` differ while a step that keeps a counter or a results
list on ``self`` stays cached (changing a setting on the same instance between calls is not
seen: create a new instance, or pass the setting as config).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import types
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from consist.core.errors import ArgumentHashError, ConfigHashError
from consist.core.identity._targets import _targets
from consist.core.identity._values import (
    _is_code,
    _once,
    _qualified,
    instance_state,
    known_standin,
)
from consist.core.identity.canonical import Fallback, canonicalize, storable_tree, tree_digest
from consist.core.model import Artifact, Run, RunResult

__all__ = ["ArgumentsIdentity", "arguments_identity"]


@dataclass(frozen=True, slots=True)
class ArgumentsIdentity:
    """Digest and canonical tree of the values bound to a call.

    ``digest`` is ``""`` when nothing is bound beyond config and inputs (the signature then
    has no arguments component); ``tree`` holds ``fn_args`` (by parameter name) and
    ``self`` (the instance's state) where present.
    """

    digest: str = ""
    tree: dict[str, Any] = field(default_factory=dict)
    #: ``tree`` as a run records it: JSON keys, long values shown by their digest.
    shown: dict[str, Any] = field(default_factory=dict)


def arguments_identity(
    fn: Any,
    fn_args: Mapping[str, Any],
    *,
    fallback: Fallback | None = None,
    code_digest: Callable[[Any], str] | None = None,
) -> ArgumentsIdentity:
    """Canonicalise everything ``fn`` will be called with beyond config and inputs.

    Parameters
    ----------
    fn
        The step's callable: a function, bound method, partial or callable object.
    fn_args
        Values passed by name (``tracker.run(fn_args=...)``); they override a partial's.
    fallback
        Plugin hook for other types (see :func:`~consist.core.identity.canonicalize`).
    code_digest
        Digest of a callable passed as an argument (its code counts, not its name).

    Raises
    ------
    ArgumentHashError
        If a bound value has no stable digest; the message names it and the fixes.
    """
    _targets_, bound = _targets(fn, follow=False)
    named: dict[str, Any] = {}
    instances: list[Any] = []
    for kind, value in reversed(bound):  # innermost first: outer partials override
        if kind == "self":
            instances.append(value)
        else:
            named.update(_partial_arguments(value))
    named.update(fn_args)
    if not named and not instances:
        return ArgumentsIdentity()
    standin = _standin(fallback, code_digest)
    tree: dict[str, Any] = {}
    if named:
        tree["fn_args"] = _canonical(named, "fn_args", standin)
    if instances:
        # An instance counts like a captured value: as it was when first seen, so a step
        # keeping a counter or a results list on self stays cached.
        states = [_once("self", obj, lambda o: _state(o, standin)) for obj in instances]
        tree["self"] = states[0] if len(states) == 1 else states
    return ArgumentsIdentity(tree_digest(tree), tree, _shown(storable_tree(tree)))


_SHOWN_LIMIT = 160


def _shown(node: Any) -> Any:
    """A record of ``node`` small enough to store with every run: values whose JSON is
    longer than a line are replaced by their digest."""
    if isinstance(node, dict):
        return {key: _shown(value) for key, value in node.items()}
    text = json.dumps(node, sort_keys=True, allow_nan=True, ensure_ascii=False)
    if len(text) <= _SHOWN_LIMIT:
        return node
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _partial_arguments(partial: functools.partial) -> dict[str, Any]:
    """A partial's arguments by the parameter they bind (``*args`` extras by position)."""
    args, keywords = list(partial.args), dict(partial.keywords)
    if not args:
        return keywords
    try:
        bound = inspect.signature(partial.func).bind_partial(*args)
    except (TypeError, ValueError):  # no signature to read, or more values than names
        return {"*args": args, **keywords}
    named: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            named["*args"] = list(value)
        else:
            named[name] = value
    return {**named, **keywords}


def _state(obj: Any, standin: Fallback) -> Any:
    if hasattr(obj, "model_dump") or hasattr(type(obj), "__consist_identity__"):
        return _canonical(obj, "self", standin)
    if hasattr(obj, "__dataclass_fields__"):
        return _canonical(obj, "self", standin)
    state = instance_state(obj)
    if state is None:
        raise ArgumentHashError("self", obj)
    return _canonical(state, "self", standin)  # the class itself counts as code


def _canonical(value: Any, path: str, standin: Fallback) -> Any:
    try:
        return canonicalize(value, fallback=standin, path=path)
    except ArgumentHashError:
        raise
    except ConfigHashError as exc:
        raise ArgumentHashError(exc.path, exc.value, exc.fix) from None  # keep a shape's fix


def _standin(fallback: Fallback | None, code_digest: Callable[[Any], str] | None) -> Fallback:
    def standin(value: Any) -> Any:
        known = known_standin(value)
        if known is not None:
            return known
        if _is_code(value) or isinstance(value, types.BuiltinFunctionType):
            # A function passed as an argument is code the step runs: its code counts.
            digest = code_digest(value) if code_digest is not None else ""
            return {"\x00code": _qualified(value), "digest": digest}
        if fallback is not None:
            return fallback(value)
        return None

    return standin


#: How a type asks to be treated when a traced block reads it (a class attribute):
#: ``"context"`` is a handle with no data of its own (a tracker), skipped; ``"scenario"`` is
#: a scenario's state (its coupler), which a block's identity cannot see into.
BLOCK_READ_ATTRIBUTE = "__consist_block_read__"


def block_arguments_identity(
    values: Mapping[str, Any],
    *,
    fallback: Fallback | None = None,
    code_digest: Callable[[Any], str] | None = None,
    accumulators: Collection[str] = (),
) -> tuple[ArgumentsIdentity, tuple[str, ...]]:
    """The identity of the values a traced block reads from its surroundings (by name),
    and the names of those with no stable digest (the caller decides what stands in).

    Artifacts count by content, a step's result by its outputs' contents, a function by
    its code, modules and library handles not at all; anything else as a config value
    would, or by its instance state.

    A value counts as it is now, as ``fn_args`` do: a dict or a frame changed in place
    between two blocks is a miss. The block's own ``accumulators`` (names it changes in
    place, such as a results list it appends to) count as this process first saw them
    instead, so a block collecting its results stays cached.
    """
    standin = _standin(fallback, code_digest)

    def with_state(value: Any) -> Any:
        kind = getattr(type(value), BLOCK_READ_ATTRIBUTE, None)
        if kind == "context":  # a handle held by a value the block reads (self.tracker)
            return {"\x00handle": _qualified(type(value))}
        if kind is not None:
            return None  # scenario state: no digest, so the whole read is unseen
        known = standin(value)
        if known is not None:
            return known
        state = instance_state(value)
        return None if state is None else {"\x00object:" + _qualified(type(value)): state}

    tree: dict[str, Any] = {}
    unseen: list[str] = []
    for name, value in values.items():
        kind = getattr(type(value), BLOCK_READ_ATTRIBUTE, None)
        if kind == "context" or isinstance(value, types.ModuleType):
            continue
        if kind == "scenario":
            unseen.append(name)
            continue
        # The block's own accumulators count as first seen (their growth is the block's
        # doing); every other value as it is now.
        if name.partition(".")[0] in accumulators:
            node = _block_once(value, lambda v: _block_node(v, with_state))
        else:
            node = _block_node(value, with_state)
        if node is _UNSEEN:
            unseen.append(name)
        else:
            tree[name] = node
    if not tree:
        return ArgumentsIdentity(), tuple(unseen)
    wrapped = {"reads": tree}
    return ArgumentsIdentity(tree_digest(wrapped), wrapped, _shown(storable_tree(wrapped))), tuple(
        unseen
    )


_UNSEEN: Any = object()


_BLOCK_LIMIT = 4096
#: id -> (a weak reference to the value, or the value itself when it takes none; its node).
_BLOCK_SEEN: dict[int, tuple[Any, Any]] = {}


def _block_once(value: Any, compute: Callable[[Any], Any]) -> Any:
    """``compute(value)`` the first time this process sees ``value``, remembered while the
    object lives. An accumulator may hold large, short-lived values (a frame per loop), so
    the memo holds it weakly where the type allows."""
    entry = _BLOCK_SEEN.get(id(value))
    if entry is not None:
        holder, node = entry
        current = holder() if isinstance(holder, weakref.ReferenceType) else holder
        if current is value:
            return node
    node = compute(value)
    try:
        holder = weakref.ref(value)
    except TypeError:  # plain containers and numbers: held, as captured values are
        holder = value
    if len(_BLOCK_SEEN) >= _BLOCK_LIMIT:  # drop the older half: re-digested if seen again
        for key in list(_BLOCK_SEEN)[: _BLOCK_LIMIT // 2]:
            del _BLOCK_SEEN[key]
    _BLOCK_SEEN[id(value)] = (holder, node)
    return node


def _block_node(value: Any, standin: Fallback) -> Any:
    try:
        return _canonical(_library_value(value), "read", standin)
    except (ConfigHashError, TypeError, RecursionError):
        return _UNSEEN


def _library_value(value: Any) -> Any:
    """Artifacts, runs and step results by what a block can read from them: contents, and
    for a step's result also its run's signature (a cache hit shares it with its source)."""
    if isinstance(value, Artifact):
        return {"\x00artifact": value.digest or value.uri}
    if isinstance(value, RunResult):
        outputs = {k: a.digest or a.uri for k, a in value.outputs.items()}
        return {"\x00result": value.run.signature or value.run.id, "outputs": outputs}
    if isinstance(value, Run):
        return {"\x00run": value.signature or value.id}
    if type(value).__name__ == "ndarray" and type(value).__module__ == "numpy":
        return _array_token(value)
    return value


def _array_token(array: Any) -> Any:
    """A numpy array by dtype, shape and bytes: hashing the buffer costs milliseconds where
    converting a large array to Python values (as config does) costs seconds."""
    if array.dtype.hasobject:
        return array  # Python objects: digested value by value
    data = array.tobytes()  # C order whatever the layout, so equal arrays hash alike
    digest = hashlib.blake2b(data, digest_size=32).hexdigest()
    return {"\x00ndarray": [array.dtype.str, list(array.shape), digest]}
