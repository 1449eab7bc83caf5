"""The fast lane: behaviour suites of the public API re-run on the in-memory fakes.

Every tracker here is composed by ``bootstrap`` over ``consist.testing``'s store (with hot
tables) and executor instead of DuckDB/SQLite: the same assertions must hold on the fakes,
which is what makes the fakes worth trusting in faster unit tests.
"""

from __future__ import annotations

import pytest
from test_caching import *  # noqa: F403 - the suites re-run here
from test_hydration import *  # noqa: F403
from test_lifecycle import *  # noqa: F403
from test_lineage_tracker import *  # noqa: F403


@pytest.fixture
def store_kind() -> str:
    return "fake"


# Not in the lane: these open trackers with ``Tracker(...)`` on database files themselves,
# or two trackers at once that must share one write queue (the registry-built stores do).
for _name in (
    "test_cache_epoch_invalidates_everything",
    "test_extending_a_scenario_in_a_new_run_dir_hydrates_missing_inputs",
    "test_without_hydration_a_missing_input_stays_where_it_was_produced",
    "test_a_renamed_workspace_still_loads_every_artifact",
    "test_a_second_tracker_with_its_own_run_dir_loads_earlier_artifacts",
    "test_materialize_and_load_input_bundle",
    "test_mounts_give_portable_uris_that_resolve_under_each_machines_root",
    "test_threads_with_their_own_trackers_do_not_share_runs",
    "test_asyncio_tasks_see_only_their_own_current_run",
):
    del globals()[_name]


def test_the_lane_runs_on_the_fakes(tracker) -> None:
    assert type(tracker.services.store).__name__ == "InMemoryTableStore"
    assert type(tracker.services.runner.ports.executors.executor("python")).__name__ == (
        "RecordingExecutor"
    )
