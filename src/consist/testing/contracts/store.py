"""The contract every :class:`~consist.core.ports.store.MetadataStore` must pass.

Usage::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(str(tmp_path / "p.db"))
            yield s
            s.close()

The fixture must give a fresh, empty store. This module imports no pytest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from consist.core.errors import StoreError
from consist.core.model import Run, RunStatus
from consist.core.ports.store import MetadataStore, RunQuery, WriteBatch
from consist.core.tables import SCHEMA_COLUMNS, SCHEMA_ID, Column, TableSchema
from consist.testing.contracts.store_data import (  # re-exported for suites
    at,
    inp,
    make_artifact,
    make_run,
    out,
    produced,
)
from consist.testing.contracts.store_facets import FacetContract


class StoreContract(FacetContract):
    """Contract tests for a metadata store; subclasses provide a ``store`` fixture."""

    # -- runs ------------------------------------------------------------------------------

    def test_is_a_metadata_store(self, store: MetadataStore) -> None:
        assert isinstance(store, MetadataStore)

    def test_a_store_nobody_else_holds_is_not_held_elsewhere(self, store: MetadataStore) -> None:
        assert store.held_elsewhere() is False

    def test_every_run_field_round_trips(self, store: MetadataStore) -> None:
        plus_two = timezone(timedelta(hours=2))
        run = Run(
            id="r-full",
            model_name="travel_demand",
            status=RunStatus.FAILED,
            created_at=at(0),
            signature="sig",
            code_digest="code",
            config_digest="cfg",
            inputs_digest="ins",
            code_identity="module:function@abc",
            cache_epoch=3,
            parent_run_id="scenario-1",
            year=2030,
            iteration=2,
            tags=["baseline", "scenario_header", "ünï"],
            description="a description",
            config={"a": 1, "nested": {"list": [1, 2.5, None, True, "x"], "empty": {}}},
            meta={"note": "hello", "nested": {"k": [1, 2]}, "flag": False},
            started_at=datetime(2024, 5, 1, 14, 0, 1, 5, tzinfo=plus_two),
            ended_at=at(3.25),
            error="ValueError: boom",
            artifact_dir="workspace://runs/r-full",
            host="node-7",
            pid=4242,
        )
        store.apply(WriteBatch(runs=[run]))
        got = store.get_run("r-full")
        assert got is not None and got is not run
        assert got == run  # dataclass equality compares instants across time zones
        assert got.status is RunStatus.FAILED
        for stamp in (got.created_at, got.started_at, got.ended_at):
            assert stamp is not None and stamp.utcoffset() == timedelta(0)
        assert got.started_at == datetime(2024, 5, 1, 12, 0, 1, 5, tzinfo=UTC)
        assert got.duration_seconds == run.duration_seconds

    def test_minimal_run_round_trips_with_defaults(self, store: MetadataStore) -> None:
        run = Run(id="r-min", model_name="m", status=RunStatus.RUNNING, created_at=at(0))
        store.apply(WriteBatch(runs=[run]))
        got = store.get_run("r-min")
        assert got is not None
        assert (got.year, got.iteration, got.signature, got.config) == (None, None, None, None)
        assert (got.tags, got.meta, got.cache_epoch) == ([], {}, 0)
        assert got.status is RunStatus.RUNNING

    def test_config_may_be_any_json_value(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(runs=[make_run("r1", config=[1, "two", {"three": 3}])]))
        got = store.get_run("r1")
        assert got is not None and got.config == [1, "two", {"three": 3}]

    def test_unknown_run_is_none(self, store: MetadataStore) -> None:
        assert store.get_run("nope") is None

    def test_run_is_upserted_across_batches(self, store: MetadataStore) -> None:
        running = make_run("r1", status=RunStatus.RUNNING, signature="s")
        store.apply(WriteBatch(runs=[running]))
        done = make_run(
            "r1", status=RunStatus.COMPLETED, signature="s", ended_at=at(5), meta={"rows": 10}
        )
        store.apply(WriteBatch(runs=[done]))
        got = store.get_run("r1")
        assert got is not None and got.status is RunStatus.COMPLETED
        assert got.ended_at == at(5) and got.meta == {"rows": 10}
        assert [r.id for r in store.find_runs(RunQuery())] == ["r1"]

    def test_last_state_of_a_run_in_one_batch_wins(self, store: MetadataStore) -> None:
        first = make_run("r1", status=RunStatus.RUNNING, signature="s")
        last = make_run("r1", status=RunStatus.COMPLETED, signature="s", error=None)
        store.apply(WriteBatch(runs=[first, last]))
        got = store.get_run("r1")
        assert got is not None and got.status is RunStatus.COMPLETED
        found = store.find_cached("s")
        assert found is not None and found.run.id == "r1"

    def test_empty_batch_is_a_no_op(self, store: MetadataStore) -> None:
        store.apply(WriteBatch())
        assert store.find_runs(RunQuery()) == []

    def test_many_runs_in_one_batch(self, store: MetadataStore) -> None:
        runs = [make_run(f"r{i:03}", t=i) for i in range(300)]
        store.apply(WriteBatch(runs=runs))
        assert len(store.find_runs(RunQuery())) == 300
        got = store.get_run("r299")
        assert got is not None and got.created_at == at(299)

    # -- artifacts and links ---------------------------------------------------------------

    def test_artifacts_and_links_round_trip(self, store: MetadataStore) -> None:
        upstream = make_run("up", signature="sig-up")
        produced(store, upstream, table="a-in")
        run = make_run("r1", t=1, signature="sig-r1")
        output = make_artifact("a-out", "r1", key="result", meta={"rows": 3, "cols": ["x"]})
        store.apply(
            WriteBatch(
                runs=[run],
                artifacts=[output],
                links=[inp("r1", "a-in", "persons"), out("r1", "a-out", "result")],
            )
        )
        arts = store.get_run_artifacts("r1")
        assert set(arts.inputs) == {"persons"} and set(arts.outputs) == {"result"}
        assert arts.inputs["persons"].id == "a-in"
        assert arts.inputs["persons"].producer_signature == "sig-up"
        got = arts.outputs["result"]
        assert (got.id, got.key, got.uri, got.driver, got.digest, got.size, got.run_id) == (
            "a-out",
            "result",
            output.uri,
            "parquet",
            "digest-a-out",
            1234,
            "r1",
        )
        assert got.meta == {"rows": 3, "cols": ["x"]}
        assert got.created_at == at(1) and got.created_at.utcoffset() == timedelta(0)
        assert got.producer_signature == "sig-r1"
        single = store.get_artifact("a-out")
        assert single is not None and single.uri == output.uri
        assert single.producer_signature == "sig-r1"

    def test_unknown_artifact_and_run_without_links(self, store: MetadataStore) -> None:
        assert store.get_artifact("nope") is None
        store.apply(WriteBatch(runs=[make_run("r1")]))
        arts = store.get_run_artifacts("r1")
        assert arts.inputs == {} and arts.outputs == {}
        assert store.get_run_artifacts("nope").outputs == {}

    def test_artifact_without_producer(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(artifacts=[make_artifact("ext", None, size=None, driver=None)]))
        got = store.get_artifact("ext")
        assert got is not None and got.run_id is None and got.producer_signature is None
        assert got.size is None and got.driver is None

    def test_captured_schema_columns_are_kept_apart_from_the_artifact(
        self, store: MetadataStore
    ) -> None:
        schema = TableSchema((Column("id", "integer"), Column("name", "string")))
        meta = {"schema": "people", SCHEMA_ID: schema.id, SCHEMA_COLUMNS: schema.to_json()}
        store.apply(WriteBatch(artifacts=[make_artifact("t1", None, meta=meta)]))
        got = store.get_artifact("t1")
        assert got is not None and got.meta == {"schema": "people", SCHEMA_ID: schema.id}

    def test_existing_artifact_is_not_overwritten(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(artifacts=[make_artifact("a1", None, uri="workspace://first")]))
        store.apply(WriteBatch(artifacts=[make_artifact("a1", None, uri="workspace://second")]))
        got = store.get_artifact("a1")
        assert got is not None and got.uri == "workspace://first"

    def test_an_artifact_keeps_its_earliest_creation_time(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(artifacts=[make_artifact("a1", None, created_at=at(5))]))
        store.apply(WriteBatch(artifacts=[make_artifact("a1", None, created_at=at(2))]))
        store.apply(WriteBatch(artifacts=[make_artifact("a1", None, created_at=at(9))]))
        got = store.get_artifact("a1")
        assert got is not None and got.created_at == at(2)

    def test_duplicate_link_is_ignored(self, store: MetadataStore) -> None:
        produced(store, make_run("r1"), data="a1")
        store.apply(WriteBatch(links=[out("r1", "a1", "data")]))
        assert list(store.get_run_artifacts("r1").outputs) == ["data"]

    def test_one_artifact_under_two_keys_keeps_both_links(self, store: MetadataStore) -> None:
        store.apply(
            WriteBatch(
                runs=[make_run("r1")],
                artifacts=[make_artifact("a1", None)],
                links=[inp("r1", "a1", "households"), inp("r1", "a1", "zones")],
            )
        )
        inputs = store.get_run_artifacts("r1").inputs
        assert set(inputs) == {"households", "zones"}
        assert inputs["households"].id == inputs["zones"].id == "a1"
        store.apply(WriteBatch(unlinks=[inp("r1", "a1", "zones")]))
        assert set(store.get_run_artifacts("r1").inputs) == {"households"}

    def test_unlink_removes_the_link(self, store: MetadataStore) -> None:
        produced(store, make_run("r1"), data="a1", extra="a2")
        store.apply(WriteBatch(unlinks=[out("r1", "a2", "extra")]))
        assert set(store.get_run_artifacts("r1").outputs) == {"data"}
        assert store.get_artifact("a2") is not None  # only the link goes

    def test_find_artifacts_by_key_creator_and_consumer(self, store: MetadataStore) -> None:
        produced(store, make_run("up", t=0, signature="s-up"), zones="z1")
        produced(store, make_run("up2", t=1), zones="z2")
        store.apply(
            WriteBatch(
                runs=[make_run("down", t=2)],
                artifacts=[make_artifact("raw", None, key="raw", created_at=at(3))],
                links=[inp("down", "z1", "zones"), inp("down", "raw", "raw")],
            )
        )
        assert [a.id for a in store.find_artifacts(key="zones")] == ["z2", "z1"]
        assert [a.id for a in store.find_artifacts(key="zones", limit=1)] == ["z2"]
        assert [a.id for a in store.find_artifacts(creator="up")] == ["z1"]
        assert sorted(a.id for a in store.find_artifacts(consumer="down")) == ["raw", "z1"]
        assert [a.id for a in store.find_artifacts(key="zones", consumer="down")] == ["z1"]
        assert store.find_artifacts(key="zones", creator="up")[0].producer_signature == "s-up"
        assert store.find_artifacts(key="nothing") == []

    def test_find_artifacts_by_creator_includes_outputs_handed_back(
        self, store: MetadataStore
    ) -> None:
        produced(store, make_run("first", t=0, signature="s"), data="a1")
        # A cache hit links the cached artifact as its own output; it produced nothing.
        store.apply(WriteBatch(runs=[make_run("hit", t=1)], links=[out("hit", "a1", "data")]))
        assert [a.id for a in store.find_artifacts(creator="hit")] == ["a1"]
        assert [a.id for a in store.find_artifacts(creator="first")] == ["a1"]
        assert store.find_artifacts(creator="hit")[0].run_id == "first"

    # -- cache lookup ----------------------------------------------------------------------

    def test_find_cached_returns_run_and_outputs_by_key(self, store: MetadataStore) -> None:
        produced(store, make_run("r1", signature="s", config={"k": [1]}), persons="a1", hh="a2")
        found = store.find_cached("s")
        assert found is not None
        assert found.run.id == "r1" and found.run.config == {"k": [1]}
        assert {k: a.id for k, a in found.outputs.items()} == {"persons": "a1", "hh": "a2"}
        assert found.outputs["persons"].producer_signature == "s"
        assert found.outputs["persons"].created_at == at(1)
        assert store.find_cached("other") is None

    def test_newest_completed_run_wins(self, store: MetadataStore) -> None:
        produced(store, make_run("old", t=0, signature="s"), data="a-old")
        produced(store, make_run("new", t=10, signature="s"), data="a-new")
        produced(store, make_run("mid", t=5, signature="s"), data="a-mid")
        found = store.find_cached("s")
        assert found is not None and found.run.id == "new"
        assert found.outputs["data"].id == "a-new"

    def test_unfinished_and_failed_runs_are_never_candidates(self, store: MetadataStore) -> None:
        produced(store, make_run("done", t=0, signature="s"), data="a0")
        for i, status in enumerate((RunStatus.FAILED, RunStatus.RUNNING, RunStatus.CRASHED)):
            produced(
                store,
                make_run(f"r-{status.value}", t=10 + i, signature="s", status=status),
                data=f"a-{status.value}",
            )
        found = store.find_cached("s")
        assert found is not None and found.run.id == "done"
        store.apply(
            WriteBatch(runs=[make_run("only-failed", signature="f", status=RunStatus.FAILED)])
        )
        assert store.find_cached("f") is None

    def test_cache_hits_are_never_candidates(self, store: MetadataStore) -> None:
        produced(store, make_run("source", t=0, signature="s"), data="a1")
        hit = make_run(
            "hit", t=10, signature="s", meta={"cache_hit": True, "cache_source": "source"}
        )
        store.apply(WriteBatch(runs=[hit], links=[out("hit", "a1", "data")]))
        bare_hit = make_run("bare", t=20, signature="s", meta={"cache_hit": True})
        store.apply(WriteBatch(runs=[bare_hit]))
        found = store.find_cached("s")
        assert found is not None and found.run.id == "source"
        store.apply(WriteBatch(runs=[make_run("lonely", signature="h", meta={"cache_hit": True})]))
        assert store.find_cached("h") is None

    def test_candidate_follows_later_state_changes(self, store: MetadataStore) -> None:
        produced(store, make_run("r1", signature="s", status=RunStatus.RUNNING), data="a1")
        assert store.find_cached("s") is None
        store.apply(WriteBatch(runs=[make_run("r1", signature="s")]))
        found = store.find_cached("s")
        assert found is not None and found.run.status is RunStatus.COMPLETED
        assert set(found.outputs) == {"data"}
        store.apply(WriteBatch(runs=[make_run("r1", signature="s", status=RunStatus.FAILED)]))
        assert store.find_cached("s") is None

    def test_candidate_outputs_follow_later_links(self, store: MetadataStore) -> None:
        produced(store, make_run("r1", signature="s"), data="a1")
        store.apply(
            WriteBatch(
                artifacts=[make_artifact("a2", "r1", "late")], links=[out("r1", "a2", "late")]
            )
        )
        found = store.find_cached("s")
        assert found is not None and set(found.outputs) == {"data", "late"}
        store.apply(WriteBatch(unlinks=[out("r1", "a1", "data")]))
        found = store.find_cached("s")
        assert found is not None and set(found.outputs) == {"late"}

    def test_input_links_are_not_outputs_of_a_candidate(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(artifacts=[make_artifact("in", None)]))
        store.apply(WriteBatch(runs=[make_run("r1", signature="s")], links=[inp("r1", "in", "x")]))
        found = store.find_cached("s")
        assert found is not None and found.outputs == {}

    # -- queries ---------------------------------------------------------------------------

    def test_find_runs_filters_and_orders_newest_first(self, store: MetadataStore) -> None:
        store.apply(
            WriteBatch(
                runs=[
                    make_run("a", t=1, model_name="m1", year=2030, iteration=0, parent_run_id="p"),
                    make_run("b", t=3, model_name="m1", year=2040, iteration=1, parent_run_id="p"),
                    make_run(
                        "c", t=2, model_name="m2", year=2030, iteration=1, status=RunStatus.FAILED
                    ),
                    make_run("d", t=4, model_name="m1", year=None),
                ]
            )
        )
        ids = lambda **kw: [r.id for r in store.find_runs(RunQuery(**kw))]  # noqa: E731
        assert ids() == ["d", "b", "c", "a"]
        assert ids(model="m1") == ["d", "b", "a"]
        assert ids(status="failed") == ["c"]
        assert ids(status=RunStatus.COMPLETED) == ["d", "b", "a"]
        assert ids(parent_id="p") == ["b", "a"]
        assert ids(year=2030) == ["c", "a"]
        assert ids(iteration=1) == ["b", "c"]
        assert ids(model="m1", year=2030, iteration=0) == ["a"]
        assert ids(limit=2) == ["d", "b"]
        assert ids(model="m1", limit=1) == ["d"]
        assert ids(model="nope") == []

    def test_tags_match_exact_elements_all_required(self, store: MetadataStore) -> None:
        store.apply(
            WriteBatch(
                runs=[
                    make_run("header", t=1, tags=["scenario_header"]),
                    make_run("both", t=2, tags=["scenario", "baseline"]),
                    make_run("one", t=3, tags=["scenario"]),
                    make_run("quoted", t=4, tags=['x"scenario', "scenario\\"]),
                    make_run("none", t=5),
                ]
            )
        )
        tagged = lambda *tags: [r.id for r in store.find_runs(RunQuery(tags=tags))]  # noqa: E731
        assert tagged("scenario") == ["one", "both"]
        assert tagged("scenario", "baseline") == ["both"]
        assert tagged("baseline", "scenario") == ["both"]
        assert tagged("scen") == []
        assert tagged("scenario_header") == ["header"]
        assert tagged('x"scenario') == ["quoted"]
        assert [r.id for r in store.find_runs(RunQuery(tags=("scenario",), limit=1))] == ["one"]

    # -- lifecycle -------------------------------------------------------------------------

    def test_workspaces_are_registered_once_each(self, store: MetadataStore) -> None:
        assert store.workspaces() == []
        store.add_workspace("/srv/sweeps/b")
        store.add_workspace("/srv/sweeps/a")
        store.add_workspace("/srv/sweeps/b")
        assert store.workspaces() == ["/srv/sweeps/a", "/srv/sweeps/b"]
        store.apply(WriteBatch(runs=[make_run("r1")]))  # runs and workspaces do not mix
        assert store.workspaces() == ["/srv/sweeps/a", "/srv/sweeps/b"]

    def test_close_is_idempotent_and_final(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(runs=[make_run("r1")]))
        store.close()
        store.close()
        try:
            store.get_run("r1")
        except StoreError:
            pass
        else:
            raise AssertionError("a closed store must refuse reads with StoreError")
