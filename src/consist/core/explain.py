"""Explaining a cache decision: what differs between a run and the run it could have reused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consist.core.model import Artifact, Run

_MISSING = "<absent>"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: ``what`` (a dotted config key, an input key, ...) went old → new."""

    what: str
    old: Any
    new: Any


@dataclass(slots=True)
class CacheExplanation:
    """Why a run was a cache hit, or why it was not.

    For a hit, ``source_run_id`` is the run it reused. For a miss, ``compared_to`` is the
    nearest earlier run of the same model (None if there is none) and the ``*_changes`` lists
    say what differs from it.
    """

    run_id: str
    cache_hit: bool
    source_run_id: str | None = None
    #: Why a matching run was not reused (e.g. its outputs are missing), when one matched.
    refused: str | None = None
    compared_to: str | None = None
    code_changed: bool = False
    code: Change | None = None
    config_changes: list[Change] = field(default_factory=list)
    #: Values bound to the call that differ: ``fn_args.k``, ``self.k``.
    argument_changes: list[Change] = field(default_factory=list)
    #: Captured values (closure cells, module globals) that differ: ``closure.factor``.
    captured_changes: list[Change] = field(default_factory=list)
    input_changes: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)
    #: The end of the log of the command the run executed (container steps); for a hit,
    #: that of the run it reused.
    log: str | None = None

    @property
    def summary(self) -> str:
        if self.cache_hit:
            return f"run {self.run_id} reused run {self.source_run_id}"
        if self.refused:
            return f"run {self.run_id} executed: {self.refused}"
        if self.compared_to is None:
            return f"run {self.run_id} executed: no earlier run of this model to reuse"
        parts = []
        captured = [f"{c.what}: {c.old} -> {c.new}" for c in self.captured_changes]
        if self.code_changed:
            parts.append("code changed" + (f" ({', '.join(captured)})" if captured else ""))
        parts += [f"config {c.what}: {c.old!r} -> {c.new!r}" for c in self.config_changes]
        parts += [f"{c.what}: {c.old!r} -> {c.new!r}" for c in self.argument_changes]
        parts += [f"input {c.what} changed" for c in self.input_changes]
        parts += [f"{c.what}: {c.old!r} -> {c.new!r}" for c in self.other_changes]
        reasons = "; ".join(parts) or "its signature differs in no recorded component"
        return f"run {self.run_id} executed instead of reusing {self.compared_to}: {reasons}"

    def __str__(self) -> str:
        if self.log:
            return f"{self.summary}\n--- container log (end) ---\n{self.log.rstrip()}"
        return self.summary


def command_log(run: Run | None) -> str | None:
    """The log tail a container step recorded in ``run.meta["container"]``, if any."""
    record = (run.meta or {}).get("container") if run is not None else None
    tail = record.get("log_tail") if isinstance(record, Mapping) else None
    return tail if isinstance(tail, str) else None


def config_changes(old: Any, new: Any, prefix: str = "") -> list[Change]:
    """Differences between two canonical config trees, by dotted key."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes: list[Change] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            changes += config_changes(old.get(key, _MISSING), new.get(key, _MISSING), path)
        return changes
    if old == new and type(old) is type(new):
        return []
    return [Change(prefix or "<config>", old, new)]


def input_changes(old: Mapping[str, Artifact], new: Mapping[str, Artifact]) -> list[Change]:
    """Inputs added, removed, or whose bytes (or producer) differ, by key."""
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        old_id = _input_identity(before)
        new_id = _input_identity(after)
        if old_id != new_id:
            changes.append(Change(key, old_id, new_id))
    return changes


def _input_identity(artifact: Artifact | None) -> Any:
    if artifact is None:
        return _MISSING
    return (artifact.digest, artifact.run_id)


def explain_miss(
    run: Run,
    previous: Run | None,
    *,
    inputs: Mapping[str, Artifact],
    previous_inputs: Mapping[str, Artifact],
) -> CacheExplanation:
    """Compare ``run`` with ``previous`` component by component."""
    result = CacheExplanation(
        run.id,
        False,
        compared_to=previous.id if previous else None,
        refused=(run.meta or {}).get("cache_miss"),
        log=command_log(run),
    )
    if previous is None:
        return result
    if run.code_digest != previous.code_digest:
        result.code_changed = True
        result.code = Change("code", previous.code_digest, run.code_digest)
    if run.config_digest != previous.config_digest:
        result.config_changes = config_changes(previous.config, run.config)
    before, after = previous.identity or {}, run.identity or {}
    if run.arguments_digest != previous.arguments_digest:
        result.argument_changes = config_changes(
            before.get("arguments", {}), after.get("arguments", {})
        ) or [Change("arguments", previous.arguments_digest, run.arguments_digest)]
    if result.code_changed:
        result.captured_changes = config_changes(
            before.get("captured", {}), after.get("captured", {})
        )
    if run.inputs_digest != previous.inputs_digest:
        result.input_changes = input_changes(previous_inputs, inputs)
    for name in ("cache_epoch", "year", "iteration", "parent_run_id"):
        if getattr(run, name) != getattr(previous, name):
            result.other_changes.append(Change(name, getattr(previous, name), getattr(run, name)))
    return result
