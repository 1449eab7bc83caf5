"""numpy arrays and xarray datasets reaching a step count by their content: passed through
``fn_args``, or read by a traced block from its surroundings."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")


def skims(scale: float = 1.0) -> xr.Dataset:
    times = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3) * scale
    return xr.Dataset(
        {"time": (("origin", "destination", "mode"), times)},
        coords={"mode": ["car", "bus", "walk"]},
        attrs={"units": "minutes"},
    )


def test_a_dataset_passed_to_a_step_counts_by_content(tracker) -> None:
    def total(ds: xr.Dataset) -> None:
        return None

    first = tracker.run(total, fn_args={"ds": skims()})
    assert not first.cache_hit
    assert tracker.run(total, fn_args={"ds": skims()}).cache_hit  # an equal copy
    assert not tracker.run(total, fn_args={"ds": skims(2.0)}).cache_hit
    relabelled = skims().assign_coords(mode=["car", "rail", "walk"])
    assert not tracker.run(total, fn_args={"ds": relabelled}).cache_hit
    retitled = skims()
    retitled.attrs["units"] = "hours"
    assert not tracker.run(total, fn_args={"ds": retitled}).cache_hit


def test_arrays_and_datasets_a_block_reads_count_by_content(tracker) -> None:
    seen = []
    for weights, ds in (
        (np.ones(1000), skims()),
        (np.ones(1000), skims()),  # new objects, equal content: a hit
        (np.ones(1000) * 2, skims()),
        (np.ones(1000) * 2, skims(3.0)),
    ):
        with tracker.trace("weighted", config={"k": 1}) as t:
            seen.append(t.is_cached)
            total = float((ds["time"].sum() * weights.sum()).item())
            t.log_meta(total=total)
    assert seen == [False, True, False, False]
    shown = tracker.find_runs(model="weighted")[0].identity["arguments"]["reads"]
    assert set(shown) == {"seen", "weights", "ds"}


def test_an_array_changed_in_place_between_blocks_counts(tracker) -> None:
    weights = np.ones(100)
    seen = []
    for value in (1.0, 2.0, 1.0):
        weights[:] = value  # the same array, changed in place
        with tracker.trace("in_place", config={"k": 1}) as t:
            seen.append(t.is_cached)
            t.log_meta(total=float(weights.sum()))
    assert seen == [False, False, True]
