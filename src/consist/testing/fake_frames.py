"""A fake :class:`~consist.core.ports.frames.FrameEngine` over plain Python rows.

:class:`FakeFrame` is a table as column names and rows of plain values; :class:`FakeFrameEngine`
writes it as a JSON document (``{"columns": [...], "rows": [[...], ...]}``) and reads that back,
or a JSON array of records (as pandas writes with ``orient="records"``). It offers the
:class:`~consist.core.ports.frames.FrameRecords` and
:class:`~consist.core.ports.frames.FrameDescriber` capabilities, so tests can run frame IO
without a dataframe library. It does not write parquet, csv, feather or arrow (a declared gap
of :class:`consist.testing.contracts.FrameEngineContract`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class FakeFrame:
    """A table: column names and rows (tuples of plain values, None for missing ones)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        width = len(self.columns)
        for row in self.rows:
            if len(row) != width:
                raise ValueError(f"row {row!r} has {len(row)} values for {width} columns")

    @classmethod
    def from_dicts(cls, records: list[dict[str, Any]]) -> FakeFrame:
        """A frame of records; columns in order of first appearance, None where absent."""
        columns: dict[str, None] = {}
        for record in records:
            columns.update(dict.fromkeys(record))
        names = tuple(columns)
        return cls(names, tuple(tuple(r.get(n) for n in names) for r in records))

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def _logical(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "other"
    kinds = set()
    for value in present:
        if isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, float):
            kinds.add("float")
        elif isinstance(value, str):
            kinds.add("string")
        elif isinstance(value, bytes):
            kinds.add("binary")
        else:
            kinds.add("other")
    if kinds == {"integer", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else "other"


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


class FakeFrameEngine:
    """The frame engine port for :class:`FakeFrame`, writing JSON."""

    name = "fake"
    drivers: tuple[str, ...] = ("json",)

    def __init__(self) -> None:
        self.writes: list[tuple[Path, str]] = []
        self.reads: list[tuple[Path, str]] = []

    def handles(self, value: Any) -> bool:
        return isinstance(value, FakeFrame)

    def _check(self, driver: str, verb: str) -> None:
        if driver not in self.drivers:
            raise ValueError(
                f"{self.name} cannot {verb} driver {driver!r}; use one of "
                f"{', '.join(self.drivers)}."
            )

    def write(self, value: Any, path: Path, driver: str) -> None:
        self._check(driver, "write")
        if not isinstance(value, FakeFrame):
            raise TypeError(f"{self.name} writes FakeFrame values, not {type(value).__name__}")
        document = {"columns": list(value.columns), "rows": [list(r) for r in value.rows]}
        text = json.dumps(document, ensure_ascii=False, allow_nan=False)
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        self.writes.append((target, driver))

    def read(self, path: Path, driver: str, **kwargs: Any) -> FakeFrame:
        self._check(driver, "read")
        if kwargs:
            raise TypeError(f"{self.name} takes no read options, got {sorted(kwargs)}")
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        self.reads.append((Path(path), driver))
        if isinstance(document, list):
            return FakeFrame.from_dicts(document)
        return FakeFrame(tuple(document["columns"]), tuple(tuple(row) for row in document["rows"]))

    # -- capabilities ----------------------------------------------------------------------

    def to_records(self, value: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        return list(value.columns), [tuple(_plain(v) for v in row) for row in value.rows]

    def from_records(self, names: list[str], rows: list[tuple[Any, ...]]) -> FakeFrame:
        return FakeFrame(tuple(names), tuple(tuple(row) for row in rows))

    def describe(self, value: Any, driver: str | None = None) -> list[tuple[str, str]] | None:
        if not isinstance(value, FakeFrame):
            if driver not in self.drivers:
                return None
            try:
                value = self.read(Path(value), driver)
            except (OSError, ValueError, KeyError, TypeError):
                return None
        columns = list(zip(*value.rows, strict=True)) if value.rows else []
        return [
            (name, _logical(list(columns[i]) if columns else []))
            for i, name in enumerate(value.columns)
        ]
