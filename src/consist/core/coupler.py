"""The coupler: a scenario's hand-off of artifacts from one step to the next, by key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from consist.core.errors import ArgumentTypeError, InvalidKeyError, KeyNotFoundError
from consist.core.model import Artifact, RunResult

_MISSING = object()


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidKeyError(f"coupler keys are non-empty strings such as 'persons', got {key!r}")
    if "\x00" in key:  # refused here, not when a later step takes it as an input key
        raise InvalidKeyError(
            f"coupler key {key!r} contains a NUL character (\\x00); use a plain name such as "
            f"{key.replace(chr(0), '') or 'persons'!r}."
        )
    return key


class Coupler:
    """Scenario-local ``key -> Artifact`` mapping (keys may be namespaced as ``"ns/key"``)."""

    #: A traced block reading the coupler reads scenario state its identity cannot see into.
    __consist_block_read__ = "scenario"

    def __init__(self) -> None:
        self._items: dict[str, Artifact] = {}

    def set(self, key: str, artifact: Artifact) -> Artifact:
        """Hand ``artifact`` to later steps under ``key`` (replacing what was there)."""
        if not isinstance(artifact, Artifact):
            raise ArgumentTypeError(
                f"coupler.set({key!r}, ...) takes an Artifact, got {type(artifact).__name__}; "
                "log the data first (e.g. consist.log_dataframe) and set the artifact it returns."
            )
        self._items[_check_key(key)] = artifact
        return artifact

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def require(self, key: str) -> Artifact:
        """The artifact under ``key``; ``KeyError`` listing the keys that are set if absent."""
        try:
            return self._items[key]
        except KeyError:
            have = ", ".join(repr(k) for k in sorted(self._items)) or "none"
            raise KeyNotFoundError(
                f"the coupler has no {key!r}; keys set so far: {have}. Run the step that "
                f"produces it first, or use coupler.get({key!r}) for an optional input."
            ) from None

    def update(
        self, outputs: Mapping[str, Artifact] | RunResult | None = None, **more: Artifact
    ) -> None:
        """Set every ``key -> artifact`` of a mapping (e.g. ``result.outputs``) or run result."""
        if isinstance(outputs, RunResult):
            outputs = outputs.outputs
        for key, artifact in {**dict(outputs or {}), **more}.items():
            self.set(key, artifact)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if default is _MISSING:
            self.require(key)
            return self._items.pop(key)
        return self._items.pop(key, default)

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, Artifact]]:
        return list(self._items.items())

    def view(self, namespace: str) -> CouplerView:
        """The keys under ``"<namespace>/"``, addressed without the prefix."""
        return CouplerView(self, _check_key(namespace))

    def __getitem__(self, key: str) -> Artifact:
        return self.require(key)

    def __setitem__(self, key: str, artifact: Artifact) -> None:
        self.set(key, artifact)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Coupler({sorted(self._items)})"


class CouplerView(Coupler):
    """A namespaced window onto a coupler: ``view.set("x", a)`` sets ``"ns/x"``."""

    def __init__(self, parent: Coupler, namespace: str) -> None:
        self._parent = parent
        self._prefix = namespace.rstrip("/") + "/"

    @property
    def _items(self) -> dict[str, Artifact]:  # type: ignore[override]
        n = len(self._prefix)
        return {k[n:]: a for k, a in self._parent._items.items() if k.startswith(self._prefix)}

    def set(self, key: str, artifact: Artifact) -> Artifact:
        return self._parent.set(self._prefix + _check_key(key), artifact)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if default is _MISSING:
            return self._parent.pop(self._prefix + key)
        return self._parent.pop(self._prefix + key, default)

    def view(self, namespace: str) -> CouplerView:
        return CouplerView(self._parent, self._prefix + _check_key(namespace))

    def __repr__(self) -> str:
        return f"CouplerView({self._prefix!r}, {sorted(self._items)})"
