"""Sweeps (``tracker.map`` / ``sc.map``): in process on every store, and on a local Dask
cluster (two worker processes) recording into PostgreSQL or a SQLite file."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import consist
from consist import Tracker
from consist.api.sweeps import SweepError

distributed = pytest.importorskip("distributed")


def simulate(config: dict[str, Any]) -> Path:
    """A step that writes one small output file."""
    if config.get("fail"):
        raise ValueError(f"item {config['i']} was told to fail")
    time.sleep(config.get("sleep", 0))
    out = consist.current_run_dir() / "result.txt"
    out.write_text(str(config["i"] * 2))
    return out


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A local Dask cluster of two single-threaded worker processes."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _executed(client: Any) -> int:
    """Tasks the workers have run so far (the workers' own counters)."""
    counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
    return sum(counts.values())


def _sweep_tracker(make_tracker: Any, workdir: Path) -> Tracker:
    return make_tracker(run_dir=workdir / "runs", project_root=workdir)


# -- in process, on every store ------------------------------------------------------------


def test_map_in_process_returns_results_in_order_and_reuses(make_tracker, workdir) -> None:
    tracker = _sweep_tracker(make_tracker, workdir)
    items = [{"i": i} for i in range(6)]
    first = tracker.map(simulate, items, outputs=["result"])
    assert [r.run.config for r in first] == items
    assert not any(r.cache_hit for r in first)
    assert [r["result"].path.read_text() for r in first] == [str(2 * i) for i in range(6)]
    again = tracker.map(simulate, items, outputs=["result"])
    assert all(r.cache_hit for r in again)
    assert [r.run.meta["cache_source"] for r in again] == [r.run.id for r in first]


def test_a_failed_item_does_not_lose_the_others(make_tracker, workdir) -> None:
    tracker = _sweep_tracker(make_tracker, workdir)
    items = [{"i": 0}, {"i": 1, "fail": True}, {"i": 2}]
    with pytest.raises(SweepError) as info:
        tracker.map(simulate, items)
    assert set(info.value.failures) == {1} and "told to fail" in str(info.value)
    assert [type(r).__name__ for r in info.value.results] == [
        "RunResult",
        "ValueError",
        "RunResult",
    ]
    returned = tracker.map(simulate, items, errors="return")
    assert isinstance(returned[1], ValueError) and returned[0].cache_hit and returned[2].cache_hit
    statuses = sorted(r.status.value for r in tracker.find_runs(model="simulate"))
    assert statuses.count("failed") == 2 and statuses.count("completed") == 4


def test_a_bad_item_is_refused_before_anything_is_recorded(make_tracker, workdir) -> None:
    tracker = _sweep_tracker(make_tracker, workdir)
    with pytest.raises(TypeError, match="item 1"):
        tracker.map(simulate, [{"i": 0}, {"i": 1, "callback": lambda: 0}])
    with pytest.raises(consist.ConsistError, match="executor"):
        tracker.map(simulate, [{"i": 0}], executor="spark")
    with pytest.raises(TypeError, match="list of configs"):
        tracker.map(simulate, {"i": 0})
    assert tracker.find_runs() == []


def test_scenario_map_makes_steps_of_the_scenario(make_tracker, workdir) -> None:
    tracker = _sweep_tracker(make_tracker, workdir)
    with tracker.scenario("sweep") as sc:
        results = sc.map(
            simulate, [{"i": i} for i in range(3)], per_item=lambda c: {"year": 2020 + c["i"]}
        )
    assert [r.run.parent_run_id for r in results] == ["sweep"] * 3
    assert [r.run.year for r in results] == [2020, 2021, 2022]


# -- on a Dask cluster ---------------------------------------------------------------------


@pytest.fixture
def pg_tracker(make_tracker, workdir, store_kind: str) -> Tracker:
    if store_kind != "postgres":
        pytest.skip("the Dask tests record into PostgreSQL (and one into a SQLite file)")
    return _sweep_tracker(make_tracker, workdir)


def test_200_steps_on_two_workers_then_200_hits_without_tasks(pg_tracker, dask_client) -> None:
    items = [{"i": i} for i in range(200)]
    before = _executed(dask_client)
    results = pg_tracker.map(simulate, items, executor="dask", dask_client=dask_client)
    assert [r.run.config["i"] for r in results] == list(range(200))
    assert all(r.run.status.value == "completed" and not r.cache_hit for r in results)
    assert {r.run.pid for r in results} != {os.getpid()}  # recorded by the workers
    assert _executed(dask_client) - before == 200
    recorded = pg_tracker.find_runs(model="simulate", status="completed")
    assert len(recorded) == 200
    again = pg_tracker.map(simulate, items, executor="dask", dask_client=dask_client)
    assert _executed(dask_client) - before == 200  # not one task more
    assert all(r.cache_hit for r in again)
    assert {r.run.pid for r in again} == {os.getpid()}
    assert [r.run.meta["cache_source"] for r in again] == [r.run.id for r in results]


def test_killing_a_worker_mid_sweep_loses_no_recorded_run(pg_tracker, dask_client) -> None:
    import psycopg

    url = pg_tracker.db_path
    completed = "SELECT id FROM run WHERE status = 'completed' AND model_name = 'simulate'"
    seen_before_kill: set[str] = set()
    killed: list[int] = []

    def kill_one_worker() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                rows = conn.execute(completed).fetchall()  # type: ignore[arg-type]
                if len(rows) >= 40:
                    seen_before_kill.update(r[0] for r in rows)
                    pid = next(iter(dask_client.run(os.getpid).values()))
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.02)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    items = [{"i": i, "sleep": 0.03} for i in range(200)]
    results = pg_tracker.map(simulate, items, executor="dask", dask_client=dask_client)
    killer.join()
    assert killed, "the sweep ended before a worker could be killed"
    assert [r.run.config["i"] for r in results] == list(range(200))
    assert all(r.run.status.value == "completed" for r in results)
    final = {r.id for r in pg_tracker.find_runs(model="simulate", status="completed")}
    assert seen_before_kill <= final  # nothing recorded before the kill was lost
    assert {r.run.id for r in results} <= final
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted it for the next test


def test_sqlite_file_shared_by_dask_workers(make_tracker, workdir, store_kind, dask_client) -> None:
    if store_kind != "sqlite":
        pytest.skip("one file store is enough for the local multi-process path")
    tracker = _sweep_tracker(make_tracker, workdir)
    items = [{"i": i} for i in range(10)]
    results = tracker.map(simulate, items, executor="dask", dask_client=dask_client)
    assert [r.run.config["i"] for r in results] == list(range(10))
    assert all(
        r.cache_hit for r in tracker.map(simulate, items, executor="dask", dask_client=dask_client)
    )


def test_scenario_map_on_dask_sets_the_coupler(pg_tracker, dask_client) -> None:
    with pg_tracker.scenario("grid") as sc:
        results = sc.map(
            simulate,
            [{"i": i} for i in range(4)],
            outputs=["result"],
            executor="dask",
            dask_client=dask_client,
        )
        assert sc.coupler.get("result") is not None
    assert [r.run.parent_run_id for r in results] == ["grid"] * 4
    header = pg_tracker.get_artifacts_for_run("grid")
    assert {a.run_id for a in header.outputs.values()} <= {r.run.id for r in results}


def tabulate(config: dict[str, Any]) -> Any:
    """A step that returns a value (written by the recording process): no run context needed,
    which a call sent alone to a worker does not have."""
    import pandas as pd

    return pd.DataFrame({"i": [config["i"]], "pid": [os.getpid()]})


def test_one_call_on_a_worker_recorded_here(pg_tracker, dask_client) -> None:
    result = pg_tracker.run(tabulate, config={"i": 21}, executor="dask")  # the default client
    frame = result.output.load()
    assert result.run.pid == os.getpid() and frame["pid"][0] != os.getpid()
    assert frame["i"][0] == 21


def test_without_a_cluster_the_error_says_how_to_get_one(
    make_tracker, workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = _sweep_tracker(make_tracker, workdir)

    def no_client() -> None:  # what distributed says in a process that has none
        raise ValueError("No global client found and no address provided")

    # Clients of other tests in this process would otherwise be found.
    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(consist.ConsistError, match="dask_client="):
        tracker.map(simulate, [{"i": 0}], executor="dask")
