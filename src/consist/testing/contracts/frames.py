"""The contract every :class:`~consist.core.ports.frames.FrameEngine` must pass.

Usage::

    class TestMyEngine(FrameEngineContract):
        notimpl = {"test_parquet_round_trip": "this engine writes json only"}

        @pytest.fixture
        def engine(self):
            return MyEngine()

Frames are built and read back through the engine's :class:`~consist.core.ports.frames.
FrameRecords` capability; an engine without it overrides :meth:`FrameEngineContract.frame`
and :meth:`FrameEngineContract.records` (and declares the capability tests as gaps). Every
test writes under pytest's ``tmp_path``. This module imports no pytest at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consist.core.ports.frames import FrameDescriber, FrameEngine, FrameRecords
from consist.core.tables import LOGICAL_TYPES
from consist.testing.contracts.gaps import GapsDeclared

NAMES = ["id", "name", "score"]
ROWS: list[tuple[Any, ...]] = [(1, "a", 0.5), (2, "b", None), (3, "ç", 2.25)]
TYPES = [("id", "integer"), ("name", "string"), ("score", "float")]
UNKNOWN_DRIVER = "xlsx-not-a-driver"


class FrameEngineContract(GapsDeclared):
    """Contract tests for a frame engine; subclasses provide an ``engine`` fixture."""

    # -- building and reading frames (override for engines without FrameRecords) ----------

    def frame(self, engine: FrameEngine, names: list[str], rows: list[tuple[Any, ...]]) -> Any:
        """A frame of ``engine``'s library with columns ``names`` and ``rows``."""
        assert isinstance(engine, FrameRecords), "override frame() or offer FrameRecords"
        return engine.from_records(names, rows)

    def records(self, engine: FrameEngine, value: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and plain rows of a frame of ``engine``'s library."""
        assert isinstance(engine, FrameRecords), "override records() or offer FrameRecords"
        names, rows = engine.to_records(value)
        return list(names), [tuple(row) for row in rows]

    def _round_trip(self, engine: FrameEngine, tmp_path: Path, driver: str) -> None:
        path = tmp_path / f"table.{driver}"
        engine.write(self.frame(engine, NAMES, ROWS), path, driver)
        assert path.exists(), driver
        back = engine.read(path, driver)
        assert engine.handles(back), driver
        assert self.records(engine, back) == (NAMES, ROWS), driver

    # -- the port --------------------------------------------------------------------------

    def test_is_a_frame_engine(self, engine: FrameEngine) -> None:
        assert isinstance(engine, FrameEngine)
        assert isinstance(engine.name, str) and engine.name
        assert isinstance(engine.drivers, tuple) and engine.drivers
        assert all(isinstance(d, str) and d for d in engine.drivers)
        assert len(set(engine.drivers)) == len(engine.drivers)

    def test_handles_its_own_frames(self, engine: FrameEngine) -> None:
        assert engine.handles(self.frame(engine, NAMES, ROWS)) is True
        assert engine.handles(self.frame(engine, NAMES, [])) is True

    def test_handles_nothing_else(self, engine: FrameEngine, tmp_path: Path) -> None:
        others: list[Any] = [
            None,
            1,
            "text",
            b"bytes",
            [],
            [{"id": 1}],
            {"id": [1, 2]},
            (1, 2),
            tmp_path,
            object(),
        ]
        for value in others:
            assert engine.handles(value) is False, repr(value)

    def test_every_driver_round_trips(self, engine: FrameEngine, tmp_path: Path) -> None:
        for driver in engine.drivers:
            self._round_trip(engine, tmp_path, driver)

    def test_parquet_round_trip(self, engine: FrameEngine, tmp_path: Path) -> None:
        # Consist writes the frames a step returns as parquet.
        assert "parquet" in engine.drivers
        self._round_trip(engine, tmp_path, "parquet")

    def test_empty_frame_keeps_its_columns(self, engine: FrameEngine, tmp_path: Path) -> None:
        for driver in engine.drivers:
            path = tmp_path / f"empty.{driver}"
            engine.write(self.frame(engine, NAMES, []), path, driver)
            assert self.records(engine, engine.read(path, driver)) == (NAMES, []), driver

    def test_writing_again_replaces_the_file(self, engine: FrameEngine, tmp_path: Path) -> None:
        for driver in engine.drivers:
            path = tmp_path / f"again.{driver}"
            engine.write(self.frame(engine, NAMES, ROWS), path, driver)
            engine.write(self.frame(engine, NAMES, ROWS[:1]), path, driver)
            assert self.records(engine, engine.read(path, driver)) == (NAMES, ROWS[:1]), driver

    def test_unknown_driver_is_rejected_on_write(self, engine: FrameEngine, tmp_path: Path) -> None:
        import pytest

        path = tmp_path / "table.out"
        with pytest.raises(ValueError, match=UNKNOWN_DRIVER) as info:
            engine.write(self.frame(engine, NAMES, ROWS), path, UNKNOWN_DRIVER)
        for driver in engine.drivers:  # the message lists what would work
            assert driver in str(info.value)
        assert not path.exists()

    def test_unknown_driver_is_rejected_on_read(self, engine: FrameEngine, tmp_path: Path) -> None:
        import pytest

        driver = engine.drivers[0]
        path = tmp_path / f"table.{driver}"
        engine.write(self.frame(engine, NAMES, ROWS), path, driver)
        with pytest.raises(ValueError, match=UNKNOWN_DRIVER) as info:
            engine.read(path, UNKNOWN_DRIVER)
        for known in engine.drivers:
            assert known in str(info.value)

    def test_reading_a_missing_file_raises_file_not_found(
        self, engine: FrameEngine, tmp_path: Path
    ) -> None:
        import pytest

        for driver in engine.drivers:
            with pytest.raises(FileNotFoundError):
                engine.read(tmp_path / f"missing.{driver}", driver)

    # -- capabilities ----------------------------------------------------------------------

    def test_records_round_trip(self, engine: FrameEngine) -> None:
        assert isinstance(engine, FrameRecords), "the engine does not offer FrameRecords"
        value = engine.from_records(NAMES, ROWS)
        assert engine.handles(value)
        names, rows = engine.to_records(value)
        assert (list(names), [tuple(r) for r in rows]) == (NAMES, ROWS)
        names, rows = engine.to_records(engine.from_records(NAMES, []))
        assert (list(names), list(rows)) == (NAMES, [])

    def test_describes_a_frame(self, engine: FrameEngine) -> None:
        assert isinstance(engine, FrameDescriber), "the engine does not offer FrameDescriber"
        assert engine.describe(self.frame(engine, NAMES, ROWS)) == TYPES

    def test_describes_a_written_file_or_says_unknown(
        self, engine: FrameEngine, tmp_path: Path
    ) -> None:
        assert isinstance(engine, FrameDescriber), "the engine does not offer FrameDescriber"
        for driver in engine.drivers:
            path = tmp_path / f"table.{driver}"
            engine.write(self.frame(engine, NAMES, ROWS), path, driver)
            described = engine.describe(path, driver)
            if described is None:
                continue
            assert [name for name, _ in described] == NAMES, driver
            assert all(kind in LOGICAL_TYPES for _, kind in described), driver
