"""Artifacts on an object store through the public API, against a real S3 server (moto).

Each test gets its own bucket on one module-wide server. Downloads are counted as the GET
requests the server answered for a key.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import warnings
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import blake3
import pandas as pd
import pytest
from pydantic import BaseModel

import consist
from consist import Tracker
from consist.core.errors import (
    ArgumentError,
    ConsistWarning,
    IntegrityError,
    ObjectNotFoundError,
    ObjectStoreAccessError,
)

pytest.importorskip("s3fs")
pytest.importorskip("moto")

from frame_libs import frame_type, persons, read_csv  # noqa: E402

from consist.testing.moto_s3 import SECRET_KEY, S3Server, server_or_skip  # noqa: E402

SNIPPETS = Path(__file__).parent / "snippets"


class Person(BaseModel):
    """The guide's Person, as the steps that log persons declare it (table ``person``)."""

    person_id: int
    age: int
    number_of_trips: int


@pytest.fixture
def fresh_sqlmodel_metadata() -> Iterator[None]:
    """The guide's snippet declares ``Person`` in SQLModel's shared metadata; forget it."""
    from sqlmodel import SQLModel

    yield
    table = SQLModel.metadata.tables.get("person")
    if table is not None:
        SQLModel.metadata.remove(table)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    yield from server_or_skip("moto's S3 server could not start")


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A fresh bucket per test (so GET counts and objects never leak between tests)."""
    name = "test-" + secrets.token_hex(6)
    s3.make_bucket(name)
    return name


@pytest.fixture
def lake(s3: S3Server, bucket: str) -> dict[str, Any]:
    """Tracker mounts with ``lake`` on the test's bucket, configured per mount."""
    return {"lake": {"url": f"s3://{bucket}/lake", "storage_options": s3.storage_options}}


def put(s3: S3Server, bucket: str, key: str, data: bytes) -> None:
    s3.client().put_object(Bucket=bucket, Key=key, Body=data)


def get(s3: S3Server, bucket: str, key: str) -> bytes:
    return bytes(s3.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def doubled(data: Path) -> pd.DataFrame:
    return pd.read_csv(data) * 2


def test_s3_input_is_a_local_path_and_an_unchanged_object_is_not_downloaded_again(
    make_tracker, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "raw/a.csv", b"x,y\n1,2\n3,4\n")
    tracker = make_tracker(mounts=lake)
    seen: list[Path] = []

    def step(data: Path) -> pd.DataFrame:
        seen.append(data)
        assert isinstance(data, Path) and data.is_file()
        assert data.name == "a.csv"  # the object's own name, for tools that go by suffix
        return pd.read_csv(data)

    first = tracker.run(step, inputs={"data": f"s3://{bucket}/raw/a.csv"})
    assert not first.cache_hit and len(seen) == 1
    recorded = first.run.signature
    assert s3.get_count(f"{bucket}/raw/a.csv") == 1  # read once: to digest it and hand it over

    again = tracker.run(step, inputs={"data": f"s3://{bucket}/raw/a.csv"})
    assert again.cache_hit and again.run.meta["cache_source"] == first.run.id
    assert s3.get_count(f"{bucket}/raw/a.csv") == 1  # one HEAD said "same version": no GET

    put(s3, bucket, "raw/a.csv", b"x,y\n1,2\n3,5\n")
    changed = tracker.run(step, inputs={"data": f"s3://{bucket}/raw/a.csv"})
    assert not changed.cache_hit and changed.run.signature != recorded
    assert len(seen) == 2 and pd.read_csv(seen[1])["y"].tolist() == [2, 5]


def test_input_under_a_mount_is_recorded_by_mount_address(
    make_tracker, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "lake/raw/a.csv", b"x\n1\n")
    tracker = make_tracker(mounts=lake)
    result = tracker.run(doubled, inputs={"data": "lake://raw/a.csv"}, outputs=["out"])
    artifact = tracker.get_artifacts_for_run(result.run.id).inputs["data"]
    assert artifact.uri == "lake://raw/a.csv"
    assert artifact.digest == "blake3:" + blake3.blake3(b"x\n1\n").hexdigest()


def test_output_on_s3_is_uploaded_and_digested_with_blake3_not_the_etag(
    make_tracker, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "lake/raw/a.csv", b"x,y\n1,2\n")
    tracker = make_tracker(mounts=lake)
    result = tracker.run(
        doubled,
        inputs={"data": "lake://raw/a.csv"},
        outputs=["out"],
        output_paths={"out": "lake://results/out.parquet"},
    )
    out = result.outputs["out"]
    assert out.uri == "lake://results/out.parquet"
    stored = get(s3, bucket, "lake/results/out.parquet")
    assert out.digest == "blake3:" + blake3.blake3(stored).hexdigest()
    assert out.size == len(stored)


def test_a_second_tracker_gets_a_hit_and_outputs_requested_downloads_verified_bytes(
    workdir: Path, db_file: Path, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "lake/raw/a.csv", b"x,y\n1,2\n3,4\n")
    options = {
        "inputs": {"data": "lake://raw/a.csv"},
        "outputs": ["out"],
        "output_paths": {"out": "lake://results/out.parquet"},
    }
    with Tracker(workdir / "alice", db_file, mounts=lake, project_root=workdir) as alice:
        produced = alice.run(doubled, **options)
    assert not produced.cache_hit
    gets = s3.get_count(f"{bucket}/lake/results/out.parquet")
    with Tracker(workdir / "bob", db_file, mounts=lake, project_root=workdir) as bob:
        wanted = workdir / "bob_copy" / "out.parquet"
        hit = bob.run(
            doubled,
            **{**options, "output_paths": {"out": str(wanted)}},
            cache_hydration="outputs-requested",
        )
        assert hit.cache_hit and hit.run.meta["cache_source"] == produced.run.id
        assert (
            s3.get_count(f"{bucket}/lake/results/out.parquet") == gets + 1
        )  # fetched from the bucket
        assert wanted.read_bytes() == get(s3, bucket, "lake/results/out.parquet")
        assert consist.load(hit.outputs["out"], tracker=bob)["y"].tolist() == [4, 8]


def test_metadata_hit_in_another_workspace_downloads_nothing(
    workdir: Path, db_file: Path, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "lake/raw/a.csv", b"x\n1\n")
    options = {
        "inputs": {"data": "lake://raw/a.csv"},
        "outputs": ["out"],
        "output_paths": {"out": "lake://results/out.parquet"},
    }
    with Tracker(workdir / "alice", db_file, mounts=lake, project_root=workdir) as alice:
        alice.run(doubled, **options)
    before = s3.get_count(f"{bucket}/lake/results/out.parquet")
    with Tracker(workdir / "bob", db_file, mounts=lake, project_root=workdir) as bob:
        assert bob.run(doubled, **options).cache_hit
    # The output's presence is one HEAD; its bytes stay in the bucket. (Bob's workspace
    # had never seen the input, so it read that once to learn its digest.)
    assert s3.get_count(f"{bucket}/lake/results/out.parquet") == before


def test_an_object_altered_behind_the_library_is_refused_and_the_step_not_called(
    workdir: Path, db_file: Path, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "lake/raw/a.csv", b"x\n1\n")
    with Tracker(workdir / "alice", db_file, mounts=lake, project_root=workdir) as alice:
        out = alice.run(
            doubled,
            inputs={"data": "lake://raw/a.csv"},
            outputs=["out"],
            output_paths={"out": "lake://results/out.csv"},
        )
    put(s3, bucket, "lake/results/out.csv", b"x\n999\n")  # not what was recorded
    called: list[Path] = []

    def consume(table: Path) -> None:
        called.append(table)

    with Tracker(workdir / "bob", db_file, mounts=lake, project_root=workdir) as bob:
        artifact = bob.get_artifact(out.outputs["out"].id)
        with pytest.raises(IntegrityError, match="recorded digest"):
            bob.run(consume, inputs={"table": artifact})
        assert called == []
        dest = workdir / "copy.csv"
        with pytest.raises(IntegrityError):
            bob.materialize(artifact, dest)
        assert not dest.exists()


def test_a_corrupted_cache_entry_is_detected_and_fetched_again(
    make_tracker, workdir: Path, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    data = b"x,y\n1,2\n"
    put(s3, bucket, "lake/raw/a.csv", data)
    tracker = make_tracker(mounts=lake)
    seen: list[bytes] = []

    def step(data: Path, config: dict) -> None:
        seen.append(data.read_bytes())

    tracker.run(step, inputs={"data": "lake://raw/a.csv"}, config={"v": 1})
    digest = blake3.blake3(data).hexdigest()
    blob = workdir / "runs" / ".consist" / "cache" / "blobs" / digest[:2] / digest
    blob.write_bytes(b"x,y\n6,6\n")  # same size, other bytes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tracker.run(step, inputs={"data": "lake://raw/a.csv"}, config={"v": 2})
    assert seen == [data, data]
    assert any(
        issubclass(w.category, ConsistWarning) and "altered" in str(w.message) for w in caught
    )


def test_load_materialize_and_inputs_missing_from_s3(
    workdir: Path, db_file: Path, s3: S3Server, bucket: str, lake: dict[str, Any], lib: str
) -> None:
    def doubled(data: Path) -> Any:
        return read_csv(lib, data) * 2

    put(s3, bucket, "lake/raw/a.csv", b"x,y\n1,2\n")
    with Tracker(workdir / "alice", db_file, mounts=lake, project_root=workdir) as alice:
        out = alice.run(
            doubled,
            inputs={"data": "lake://raw/a.csv"},
            outputs=["out"],
            output_paths={"out": "lake://results/out.parquet"},
        ).outputs["out"]
    with Tracker(workdir / "bob", db_file, mounts=lake, project_root=workdir) as bob:
        artifact = bob.get_artifact(out.id)
        loaded = consist.load(artifact, tracker=bob, engine=lib)
        assert isinstance(loaded, frame_type(lib)) and loaded["x"].to_list() == [2]
        dest = bob.materialize(artifact, workdir / "m" / "out.parquet")
        assert dest.read_bytes() == get(s3, bucket, "lake/results/out.parquet")

        received: list[Path] = []

        def use(table: Path) -> None:
            received.append(table)

        bob.run(use, inputs={"table": artifact}, cache_hydration="inputs-missing")
        assert received and received[0].read_bytes() == dest.read_bytes()


def test_guide_views_snippet_gives_the_same_answer_with_outputs_on_s3(
    make_tracker,
    workdir: Path,
    run_snippet,
    s3: S3Server,
    bucket: str,
    lake: dict[str, Any],
    fresh_sqlmodel_metadata: None,
    lib: str,
) -> None:
    tracker = make_tracker(mounts=lake)
    expected = {}
    for name, seed in {"baseline": 1, "high_gas": 2}.items():
        with consist.scenario(name, tracker=tracker) as sc:
            for year in (2020, 2030):
                with sc.trace(name="simulate", run_id=f"{name}_{year}", year=year):
                    df = persons(seed * 10_000 + year, n=40, lib=lib)
                    where = f"lake://persons/{name}_{year}.parquet"
                    art = consist.log_dataframe(df, key="persons", schema=Person, path=where)
                    assert art.uri == where
                    expected[(name, year)] = df["number_of_trips"].mean()
    tracker.close()
    # Only the bucket holds the files now: the view must read them from there.
    shutil.rmtree(workdir / "runs" / ".consist" / "staging")
    names = run_snippet(
        SNIPPETS / "cross_run_views.py", consist=consist, Tracker=partial(Tracker, mounts=lake)
    )
    try:
        got = {(s, y): avg for s, y, avg in names["results"]}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value)
    finally:
        names["tracker"].close()


def test_run_dir_on_an_object_store_is_refused_and_creates_nothing(workdir: Path) -> None:
    for run_dir in ("s3://bucket/runs", Path("s3://bucket/runs")):
        with pytest.raises(ArgumentError, match="mounts"):
            Tracker(run_dir)
    assert not (workdir / "s3:").exists()


def test_a_missing_bucket_is_named(make_tracker, s3: S3Server) -> None:
    missing = {"lake": {"url": "s3://no-such-bucket-here/x", "storage_options": s3.storage_options}}
    tracker = make_tracker(mounts=missing)
    with pytest.raises(ObjectNotFoundError, match="no-such-bucket-here") as info:
        tracker.run(doubled, inputs={"data": "lake://a.csv"})
    assert "bucket" in str(info.value)
    assert tracker.find_runs() == []


def test_missing_credentials_say_where_to_put_them(
    make_tracker, s3: S3Server, bucket: str, lake: dict[str, Any], monkeypatch
) -> None:
    put(s3, bucket, "lake/a.csv", b"x\n1\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    tracker = make_tracker(mounts=lake)
    with pytest.raises(ObjectStoreAccessError, match="AWS_ACCESS_KEY_ID") as info:
        tracker.run(doubled, inputs={"data": "lake://a.csv"})
    assert "storage_options" in str(info.value)
    assert tracker.find_runs() == []  # refused before anything was recorded


def test_no_credential_is_written_to_the_database_snapshots_or_logs(
    make_tracker,
    workdir: Path,
    s3: S3Server,
    bucket: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "per-mount-secret-" + bucket
    mounts = {
        "lake": {
            "url": f"s3://{bucket}/lake",
            "storage_options": {**s3.storage_options, "key": "k-" + bucket, "secret": secret},
        }
    }
    put(s3, bucket, "lake/raw/a.csv", b"x\n1\n")
    tracker = make_tracker(mounts=mounts)
    tracker.run(
        doubled,
        inputs={"data": "lake://raw/a.csv"},
        outputs=["out"],
        output_paths={"out": "lake://o.parquet"},
    )
    tracker.flush()
    tracker.close()
    for path in workdir.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert secret.encode() not in content, path
            assert SECRET_KEY.encode() not in content, path
    assert secret not in caplog.text and SECRET_KEY not in caplog.text


def test_a_url_in_a_mount_with_a_password_is_refused(workdir: Path) -> None:
    with pytest.raises(ArgumentError, match="password"):
        Tracker("runs", mounts={"lake": "s3://user:pw@bucket/x"})
    assert not (workdir / "runs").exists()


def test_a_directory_output_round_trips_through_the_bucket(
    workdir: Path, db_file: Path, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    def tiles(config: dict) -> None:
        # Where this workspace stages lake://tiles; uploaded when the run records it.
        folder = consist.current_tracker().staging_path("lake://tiles")
        (folder / "z0").mkdir(parents=True, exist_ok=True)
        (folder / "z0" / "a.bin").write_bytes(b"a" * 10)
        (folder / "b.bin").write_bytes(b"b" * 5)

    options = {"config": {"n": 2}, "output_paths": {"tiles": "lake://tiles"}}
    with Tracker(workdir / "alice", db_file, mounts=lake, project_root=workdir) as alice:
        made = alice.run(tiles, **options).outputs["tiles"]
    keys = {o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"lake/tiles/z0/a.bin", "lake/tiles/b.bin"} <= keys
    with Tracker(workdir / "bob", db_file, mounts=lake, project_root=workdir) as bob:
        dest = workdir / "copy_of_tiles"
        hit = bob.run(
            tiles,
            **{**options, "output_paths": {"tiles": str(dest)}},
            cache_hydration="outputs-requested",
        )
        assert hit.cache_hit
        assert (dest / "z0" / "a.bin").read_bytes() == b"a" * 10
        assert bob.services.fs.digest(dest).digest == made.digest


def test_depends_on_and_hash_inputs_on_s3_count_for_identity_only(
    make_tracker, s3: S3Server, bucket: str, lake: dict[str, Any]
) -> None:
    put(s3, bucket, "lake/cfg/model.yaml", b"a: 1\n")
    tracker = make_tracker(mounts=lake)
    calls: list[int] = []

    def step() -> None:
        calls.append(1)

    options = {"depends_on": ["lake://cfg/model.yaml"], "hash_inputs": ["lake://cfg/model.yaml"]}
    assert not tracker.run(step, **options).cache_hit
    assert tracker.run(step, **options).cache_hit
    put(s3, bucket, "lake/cfg/model.yaml", b"a: 2\n")
    assert not tracker.run(step, **options).cache_hit
    assert len(calls) == 2
