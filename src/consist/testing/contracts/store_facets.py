"""The facet part of the store contract (mixed into ``StoreContract``)."""

from __future__ import annotations

from typing import Any

from consist.core.ports.store import MetadataStore, RunQuery, WriteBatch
from consist.testing.contracts.store_data import at, make_run


class FacetContract:
    """Facets: stored deduplicated, indexed by typed flattened keys, filterable."""

    # -- facets ----------------------------------------------------------------------------

    def test_facet_round_trips_with_json_types(self, store: MetadataStore) -> None:
        facet = {
            "alpha": 0.2,
            "n": 3,
            "big": 2**53,
            "flag": True,
            "off": False,
            "missing": None,
            "mode": "fast",
            "grid": [1, 2.5, None, "x"],
            "solver": {"tol": 1e-6, "name": "cg", "opts": {"restart": 30}},
            "empty": {},
        }
        store.apply(WriteBatch(runs=[make_run("r1", facet=facet), make_run("r2", t=1)]))
        got = store.get_run("r1")
        assert got is not None and got.facet == facet
        assert got.facet["alpha"] == 0.2 and type(got.facet["n"]) is int
        assert got.facet["flag"] is True and got.facet["big"] == 2**53
        bare = store.get_run("r2")
        assert bare is not None and bare.facet is None
        by_id = {r.id: r.facet for r in store.find_runs(RunQuery())}
        assert by_id == {"r1": facet, "r2": None}

    def test_facet_reads_back_as_independent_copies(self, store: MetadataStore) -> None:
        facet = {"solver": {"tol": 0.5}}
        run = make_run("r1", facet=facet)
        store.apply(WriteBatch(runs=[run, make_run("r2", t=1, facet={"solver": {"tol": 0.5}})]))
        facet["solver"]["tol"] = 9.0  # the caller's dict is not the stored document
        first = store.get_run("r1")
        assert first is not None and first.facet == {"solver": {"tol": 0.5}}
        assert first.facet is not None
        first.facet["solver"]["tol"] = 7.0
        again, other = store.get_run("r1"), store.get_run("r2")
        assert again is not None and again.facet == {"solver": {"tol": 0.5}}
        assert other is not None and other.facet == {"solver": {"tol": 0.5}}

    def test_facet_non_json_values_read_back_as_text(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(runs=[make_run("r1", facet={"when": at(0), "shape": (2, 3)})]))
        got = store.get_run("r1")
        assert got is not None and got.facet == {"when": str(at(0)), "shape": [2, 3]}
        found = store.find_runs(RunQuery(facet=(("when", str(at(0))),)))
        assert [r.id for r in found] == ["r1"]

    def test_find_runs_facet_filters_are_exact_and_typed(self, store: MetadataStore) -> None:
        store.apply(
            WriteBatch(
                runs=[
                    make_run("num", t=1, facet={"v": 1, "alpha": 0.2, "mode": "fast"}),
                    make_run("float", t=2, facet={"v": 1.0, "alpha": 0.3, "mode": "slow"}),
                    make_run("bool", t=3, facet={"v": True, "alpha": 0.2, "mode": "fast"}),
                    make_run("text", t=4, facet={"v": "1", "alpha": "0.2"}),
                    make_run("null", t=5, facet={"v": None, "mode": "fast"}),
                    make_run("nested", t=6, facet={"solver": {"tol": 0.5, "name": "cg"}}),
                    make_run("list", t=7, facet={"v": [1, 2], "grid": {"n": 0}}),
                    make_run("none", t=8),
                ]
            )
        )

        def ids(*pairs: tuple[str, Any], **kw: Any) -> list[str]:
            return [r.id for r in store.find_runs(RunQuery(facet=pairs, **kw))]

        assert ids(("v", 1)) == ["float", "num"]  # 1 and 1.0 are one number
        assert ids(("v", 1.0)) == ["float", "num"]
        assert ids(("v", True)) == ["bool"]  # a bool never matches a number...
        assert ids(("v", False)) == []
        assert ids(("v", "1")) == ["text"]  # ...nor a string its number
        assert ids(("v", None)) == ["null"]
        assert ids(("v", [1, 2])) == ["list"]
        assert ids(("alpha", 0.2)) == ["bool", "num"]
        assert ids(("alpha", "0.2")) == ["text"]
        assert ids(("alpha", 0.2), ("mode", "fast")) == ["bool", "num"]  # pairs are AND-ed
        assert ids(("alpha", 0.2), ("mode", "slow")) == []
        assert ids(("alpha", 0.2), ("v", 1)) == ["num"]
        assert ids(("mode", "fast"), limit=2) == ["null", "bool"]
        assert ids(("mode", "fast"), model="step") == ["null", "bool", "num"]
        assert ids(("mode", "fast"), model="other") == []
        assert ids(("mode", "FAST")) == [] and ids(("mod", "fast")) == []
        assert ids(("solver.tol", 0.5)) == ["nested"]  # nested keys are dotted
        assert ids(("solver.tol", 0.5), ("solver.name", "cg")) == ["nested"]
        assert ids(("solver", {"tol": 0.5})) == ["nested"]  # a dict value is spread
        assert ids(("solver", 0.5)) == [] and ids(("tol", 0.5)) == []
        assert ids(("grid.n", 0)) == ["list"] and ids(("grid.n", False)) == []
        assert ids(("missing", None)) == []  # null matches a stored null, not an absent key

    def test_facet_numbers_compare_as_exact_doubles(self, store: MetadataStore) -> None:
        store.apply(
            WriteBatch(
                runs=[
                    make_run("tenth", t=1, facet={"x": 0.1 + 0.2}),
                    make_run("point3", t=2, facet={"x": 0.3}),
                    make_run("edge", t=3, facet={"x": 2**53}),
                    make_run("huge", t=4, facet={"x": 2**60 + 1}),
                    make_run("huger", t=5, facet={"x": 2**60}),
                    make_run("neg", t=6, facet={"x": -7}),
                ]
            )
        )

        def ids(value: Any) -> list[str]:
            return [r.id for r in store.find_runs(RunQuery(facet=(("x", value),)))]

        assert ids(0.3) == ["point3"] and ids(0.1 + 0.2) == ["tenth"]
        assert ids(2**53) == ["edge"] and ids(float(2**53)) == ["edge"]
        assert ids(2**53 + 1) == []
        assert ids(2**60 + 1) == ["huge"] and ids(2**60) == ["huger"]  # large ints stay exact
        assert ids(-7) == ["neg"] and ids(-7.0) == ["neg"]
        got = store.get_run("huge")
        assert got is not None and got.facet == {"x": 2**60 + 1}

    def test_re_recorded_run_replaces_its_facet(self, store: MetadataStore) -> None:
        store.apply(WriteBatch(runs=[make_run("r1", facet={"alpha": 0.1, "old": "yes"})]))
        store.apply(WriteBatch(runs=[make_run("r1", facet={"alpha": 0.3})]))

        def ids(*pairs: tuple[str, Any]) -> list[str]:
            return [r.id for r in store.find_runs(RunQuery(facet=pairs))]

        assert ids(("alpha", 0.1)) == [] and ids(("old", "yes")) == []
        assert ids(("alpha", 0.3)) == ["r1"]
        got = store.get_run("r1")
        assert got is not None and got.facet == {"alpha": 0.3}
        # The same state again (running → completed) keeps the facet and its filters.
        store.apply(WriteBatch(runs=[make_run("r1", facet={"alpha": 0.3}, meta={"n": 1})]))
        assert ids(("alpha", 0.3)) == ["r1"]
        # Another model: the facet's namespace follows the run.
        store.apply(WriteBatch(runs=[make_run("r1", model_name="m2", facet={"alpha": 0.3})]))
        assert [r.id for r in store.find_runs(RunQuery(model="m2", facet=(("alpha", 0.3),)))] == [
            "r1"
        ]
        # A later state without a facet replaces the run as a whole: no facet any more.
        store.apply(WriteBatch(runs=[make_run("r1")]))
        got = store.get_run("r1")
        assert got is not None and got.facet is None
        assert ids(("alpha", 0.3)) == []
        # The last state of a run in one batch wins, facet included.
        store.apply(
            WriteBatch(
                runs=[make_run("r1", facet={"alpha": 0.5}), make_run("r1", facet={"alpha": 0.6})]
            )
        )
        assert ids(("alpha", 0.5)) == [] and ids(("alpha", 0.6)) == ["r1"]

    def test_equal_facets_of_many_runs(self, store: MetadataStore) -> None:
        runs = [
            make_run(f"r{i:03}", t=i, facet={"mode": "fast" if i % 2 else "slow", "i": i % 3})
            for i in range(300)
        ]
        store.apply(WriteBatch(runs=runs))
        fast = store.find_runs(RunQuery(facet=(("mode", "fast"), ("i", 0))))
        assert [r.id for r in fast] == [f"r{i:03}" for i in range(299, -1, -1) if i % 6 == 3]
        assert all(r.facet == {"mode": "fast", "i": 0} for r in fast)
