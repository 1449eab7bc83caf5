"""Hydration policies, materialisation, mounts and portable paths, on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from frame_libs import as_dict, assert_frame_equal, frame_type, make_frame, takes

import consist
from consist import Tracker

ZONES = {"zone": [1, 2, 3], "jobs": [10, 20, 30]}
FRAME = pd.DataFrame(ZONES)


class Calls:
    def __init__(self) -> None:
        self.count = 0


def _tracker(root: Path, db: Path, **kwargs) -> Tracker:
    return Tracker(run_dir=root, db_path=db, project_root=root.parent, **kwargs)


def test_extending_a_scenario_in_a_new_run_dir_hydrates_missing_inputs(
    workdir: Path, db_file: Path | str, lib: str
) -> None:
    db = db_file  # shared by both workspaces: a file, or a PostgreSQL URL
    upstream_calls, seen = Calls(), {}

    def preprocess():
        upstream_calls.count += 1
        return {"zones": make_frame(lib, ZONES)}

    def simulate(zones: Path, config):
        seen["path"] = zones
        seen["rows"] = len(pd.read_parquet(zones))
        return {"result": pd.read_parquet(zones).assign(scale=config["scale"])}

    def pipeline(tracker: Tracker, scale: int) -> None:
        with consist.scenario(
            "baseline", tracker=tracker, step_cache_hydration="inputs-missing"
        ) as sc:
            sc.run(fn=preprocess, outputs=["zones"])
            sc.run(fn=simulate, input_keys=["zones"], config={"scale": scale})

    with _tracker(workdir / "first", db) as first:
        pipeline(first, scale=1)
    with _tracker(workdir / "second", db) as second:
        pipeline(second, scale=2)  # a new downstream step in a new workspace
    assert upstream_calls.count == 1  # the upstream step was not re-run
    local = seen["path"]
    assert local.is_relative_to(workdir / "second") and local.exists()
    assert seen["rows"] == 3
    assert_frame_equal(pd.read_parquet(local), FRAME)  # whichever library wrote it


def test_without_hydration_a_missing_input_stays_where_it_was_produced(
    workdir: Path, db_file: Path | str
) -> None:
    db = db_file  # shared by both workspaces: a file, or a PostgreSQL URL
    with _tracker(workdir / "first", db) as first:
        produced = first.run(lambda: {"zones": FRAME}, name="make_zones")["zones"]
    with _tracker(workdir / "second", db) as second:
        seen = {}

        def use(zones: Path):
            seen["path"] = zones

        second.run(use, inputs={"zones": produced})
    assert seen["path"].is_relative_to(workdir / "first")  # read in place, nothing copied
    assert not (workdir / "second" / "outputs" / "make_zones").exists()


def _two_outputs():
    return {"persons": FRAME, "households": FRAME.head(1)}


def two_outputs_of(lib: str):
    """``_two_outputs`` returning frames of ``lib``."""

    def _two_outputs():
        frame = make_frame(lib, ZONES)
        return {"persons": frame, "households": frame.head(1)}

    return _two_outputs


def test_outputs_requested_copies_exactly_the_named_outputs_on_a_hit(tracker, workdir) -> None:
    wanted = workdir / "for_legacy_tool" / "persons.parquet"
    miss = tracker.run(_two_outputs)
    assert not miss.cache_hit and not wanted.exists()
    hit = tracker.run(
        _two_outputs, cache_hydration="outputs-requested", output_paths={"persons": wanted}
    )
    assert hit.cache_hit and wanted.exists()
    pd.testing.assert_frame_equal(pd.read_parquet(wanted), FRAME)
    assert sorted(p.name for p in wanted.parent.iterdir()) == ["persons.parquet"]
    assert miss["persons"].path.exists()  # copied, not moved


def test_outputs_all_copies_every_output_on_a_hit_and_nothing_on_a_miss(tracker, workdir) -> None:
    target = workdir / "materialised"
    miss = tracker.run(
        _two_outputs, cache_hydration="outputs-all", materialize_cached_outputs_dir=target
    )
    assert not miss.cache_hit and not target.exists()  # a miss copies nothing
    hit = tracker.run(
        _two_outputs, cache_hydration="outputs-all", materialize_cached_outputs_dir=target
    )
    assert hit.cache_hit
    assert sorted(p.name for p in target.iterdir()) == ["households.parquet", "persons.parquet"]
    into_run_dir = tracker.run(_two_outputs, cache_hydration="outputs-all")
    run_dir = tracker.run_dir / "outputs" / "_two_outputs" / into_run_dir.run.id
    assert sorted(p.name for p in run_dir.iterdir()) == ["households.parquet", "persons.parquet"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cache_hydration": "outputs-requested"}, "output_paths"),
        ({"cache_hydration": "metadata", "materialize_cached_outputs_dir": "x"}, "outputs-all"),
        (
            {
                "cache_hydration": "outputs-requested",
                "materialize_cached_outputs_dir": "x",
                "output_paths": {"persons": "p.parquet"},
            },
            "outputs-all",
        ),
        ({"cache_hydration": "everything"}, "'metadata', 'inputs-missing'"),
    ],
)
def test_invalid_policies_are_refused_before_anything_is_recorded(tracker, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        tracker.run(_two_outputs, **kwargs)
    with pytest.raises(ValueError):
        consist.scenario("s", tracker=tracker, step_cache_hydration="everything")
    assert tracker.find_runs() == []
    assert not (tracker.run_dir / "outputs").exists()


def test_a_renamed_workspace_still_loads_every_artifact(workdir: Path, db_file: Path) -> None:
    db = db_file
    with _tracker(workdir / "old_name", db) as tracker:
        result = tracker.run(_two_outputs)
        run_id = result.run.id
    shutil.move(workdir / "old_name", workdir / "new_name")
    with _tracker(workdir / "new_name", db) as moved:
        outputs = moved.get_artifacts_for_run(run_id).outputs
        for artifact in outputs.values():
            assert artifact.path.is_relative_to(workdir / "new_name")
        pd.testing.assert_frame_equal(consist.load(outputs["persons"]), FRAME)


def test_a_second_tracker_with_its_own_run_dir_loads_earlier_artifacts(
    workdir: Path, db_file: Path, lib: str
) -> None:
    db = db_file
    step = two_outputs_of(lib)
    with _tracker(workdir / "alice", db) as alice:
        run_id = alice.run(step).run.id
    with _tracker(workdir / "bob", db) as bob:
        outputs = bob.get_artifacts_for_run(run_id).outputs
        assert outputs["persons"].path.is_relative_to(workdir / "alice")  # the producer's
        assert_frame_equal(consist.load(outputs["persons"], engine=lib), make_frame(lib, ZONES))
        # Eager validation finds the bytes there too, so this is still a hit.
        assert bob.run(step, validate_cached_outputs="eager").cache_hit


def test_eager_validation_misses_when_the_bytes_are_gone_everywhere(tracker) -> None:
    first = tracker.run(_two_outputs)
    first["households"].path.unlink()
    again = tracker.run(_two_outputs, validate_cached_outputs="eager")
    assert not again.cache_hit and again["households"].path.exists()


def test_a_corrupted_source_is_detected_on_copy_and_leaves_no_file(tracker, workdir) -> None:
    artifact = tracker.run(_two_outputs)["persons"]
    data = bytearray(artifact.path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed after it was recorded
    artifact.path.write_bytes(bytes(data))
    dest = workdir / "copies" / "persons.parquet"
    with pytest.raises(consist.IntegrityError, match="recorded digest"):
        tracker.materialize(artifact, dest)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    with pytest.raises(consist.IntegrityError):
        tracker.run(_two_outputs, cache_hydration="outputs-all")
    assert len(tracker.find_runs()) == 1  # the failed hydration recorded nothing


def test_materialize_and_load_input_bundle(workdir: Path, db_file: Path, lib: str) -> None:
    db = db_file
    (workdir / "notes.txt").write_text("external input")
    with _tracker(workdir / "alice", db) as alice:
        zones = alice.run(lambda: {"zones": make_frame(lib, ZONES)}, name="zones")["zones"]
        received = []

        @takes(lib, "zones")
        def consume(zones, notes: Path):
            received.append(zones)

        run_id = alice.run(consume, inputs={"zones": zones, "notes": workdir / "notes.txt"}).run.id
        assert isinstance(received[0], frame_type(lib)) and as_dict(received[0]) == ZONES
        copy = alice.materialize(zones, workdir / "exports" / "zones.parquet")
        assert_frame_equal(pd.read_parquet(copy), FRAME)
    with _tracker(workdir / "bob", db) as bob:
        bundle = bob.load_input_bundle(run_id)
        assert_frame_equal(bundle["zones"], FRAME)  # tables load with the default engine
        assert bundle["notes"] == workdir / "notes.txt"
        assert (workdir / "bob" / "outputs" / "zones").exists()  # copied into bob's workspace


def test_mounts_give_portable_uris_that_resolve_under_each_machines_root(
    workdir: Path, db_file: Path
) -> None:
    db = db_file
    machine_a, machine_b = workdir / "a_data", workdir / "b_data"
    for root in (machine_a, machine_b):
        root.mkdir()
        FRAME.to_csv(root / "zones.csv", index=False)

    def read(zones: pd.DataFrame):
        return {"copy": zones}

    with _tracker(workdir / "a", db, mounts={"inputs": machine_a}) as a:
        first = a.run(read, inputs={"zones": "inputs://zones.csv"})
        recorded = a.get_artifacts_for_run(first.run.id).inputs["zones"]
        assert recorded.uri == "inputs://zones.csv"
    with _tracker(workdir / "b", db, mounts={"inputs": machine_b}) as b:
        again = b.run(read, inputs={"zones": machine_b / "zones.csv"})
        assert again.cache_hit  # same bytes, same portable URI on another machine's root
        assert b.get_artifacts_for_run(first.run.id).inputs["zones"].path == machine_b / "zones.csv"
