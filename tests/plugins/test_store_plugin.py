"""Third-party metadata stores, discovered through real ``consist.plugins`` entry points.

Each test installs small distributions with the ``plugin_site`` fixture (see conftest.py):
a package plus a ``.dist-info`` directory on ``sys.path``, found by ``importlib.metadata``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import consist
from consist.api.plugins import ENTRY_POINT_GROUP, build_registry, construct, get_plugin_manager
from consist.testing.contracts import StoreContract

# A store plugin as a separate package would ship it: an in-memory store opened from a
# ``teststore://`` location, registered under the store name "teststore".
TESTSTORE_PLUGIN = '''
    """A third-party metadata store for Consist (test fixture)."""

    import consist
    from consist.core.registry import StoreSpec
    from consist.testing.fakes import InMemoryStore


    class PluginStore(InMemoryStore):
        """The in-memory fake store, opened from a ``teststore://`` location."""

        def __init__(self, location: str) -> None:
            super().__init__()
            self.location = location


    @consist.hookimpl
    def consist_stores():
        return [
            StoreSpec(
                name="teststore",
                factory="consist_teststore:PluginStore",
                schemes=("teststore",),
            )
        ]
'''


def clashing_plugin(package: str) -> str:
    """Source of a plugin registering a store named "clash", served by the in-memory fake."""
    return f"""
        import consist
        from consist.core.registry import StoreSpec


        @consist.hookimpl
        def consist_stores():
            return [
                StoreSpec(
                    name="clash",
                    factory="consist.testing.fakes:InMemoryStore",
                    schemes=("{package}",),
                )
            ]
    """


def installed_entry_points() -> dict[str, str]:
    """The ``consist.plugins`` entry points ``importlib.metadata`` sees: name to target."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def quiet_plugin_manager() -> Any:
    """The plugin manager, built with any plugin-loading warning raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", consist.ConsistWarning)
        return get_plugin_manager()


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def counting_step() -> tuple[Any, Counter]:
    """A step with no outputs, and a counter of its calls.

    The counter is an object rather than a list of calls: a list's contents would be part of
    the step's code identity, so recording a call would itself change the cache signature.
    """
    counter = Counter()

    def step(a: int) -> None:
        counter.calls += 1

    return step, counter


@pytest.fixture
def teststore(plugin_site: Any) -> Any:
    """The "teststore" plugin distribution, installed for this test."""
    plugin_site.install("consist_teststore", TESTSTORE_PLUGIN, {"teststore": "consist_teststore"})
    return plugin_site


# -- a working store plugin ------------------------------------------------------------------


def test_entry_point_is_discovered_by_importlib_metadata(teststore: Any) -> None:
    assert installed_entry_points()["teststore"] == "consist_teststore"
    pm = quiet_plugin_manager()
    assert pm.get_plugin("teststore") is not None
    spec = build_registry(pm).store_for("teststore://x")
    assert (spec.name, spec.plugin) == ("teststore", "teststore")


def test_tracker_records_and_caches_in_the_plugin_store(teststore: Any, tmp_path: Path) -> None:
    quiet_plugin_manager()
    tracker = consist.Tracker(
        run_dir=tmp_path / "runs", db_path="teststore://anything", project_root=tmp_path
    )
    try:
        assert type(tracker.services.store).__name__ == "PluginStore"
        assert tracker.services.store.location == "teststore://anything"
        step, counter = counting_step()
        first = tracker.run(step, config={"a": 1})
        # Write the queued records now, so the cache lookup below is answered by the store.
        tracker.flush()
        stored = tracker.services.store.get_run(first.run.id)
        assert stored is not None and stored.status is consist.RunStatus.COMPLETED
        assert first.run.signature is not None
        cached = tracker.services.store.find_cached(first.run.signature)
        assert cached is not None and cached.run.id == first.run.id

        second = tracker.run(step, config={"a": 1})
        assert (first.cache_hit, second.cache_hit) == (False, True)
        assert second.run.meta["cache_source"] == first.run.id
        assert counter.calls == 1
    finally:
        tracker.close()


def test_plugins_option_allows_blocks_and_refuses_unknown_names(
    teststore: Any, tmp_path: Path
) -> None:
    quiet_plugin_manager()
    with consist.Tracker(
        tmp_path / "runs", "teststore://x", project_root=tmp_path, plugins=["teststore"]
    ) as tracker:
        assert type(tracker.services.store).__name__ == "PluginStore"
    with pytest.raises(consist.ConsistError, match="no metadata store serves"):
        consist.Tracker(tmp_path / "runs", "teststore://x", plugins=["-teststore"])
    # A misspelt name would allow or block nothing; it is refused with what is installed.
    with pytest.raises(consist.OptionValueError, match="'-teststor'.*'teststore'"):
        consist.Tracker(tmp_path / "runs", "teststore://x", plugins=["-teststor"])


class TestPluginStore(StoreContract):
    """The plugin's store, built through the registry, passes the whole store contract."""

    @pytest.fixture
    def store(self, teststore: Any) -> Iterator[Any]:
        location = "teststore://x"
        spec = build_registry(quiet_plugin_manager()).store_for(location)
        s = construct(spec, location)
        assert type(s).__name__ == "PluginStore"
        yield s
        s.close()


# -- a broken plugin -------------------------------------------------------------------------

RAISES_ON_IMPORT = """
    raise RuntimeError("this plugin is broken on purpose")
"""


@pytest.mark.parametrize(
    ("module_source", "reason"),
    [
        pytest.param(RAISES_ON_IMPORT, "RuntimeError: this plugin is broken", id="raises"),
        pytest.param(None, "ModuleNotFoundError", id="missing-module"),
    ],
)
def test_a_plugin_that_fails_to_load_warns_and_is_skipped(
    plugin_site: Any, tmp_path: Path, module_source: str | None, reason: str
) -> None:
    plugin_site.install("consist_broken", module_source, {"brokenstore": "consist_broken"})
    assert installed_entry_points()["brokenstore"] == "consist_broken"

    with pytest.warns(consist.ConsistWarning, match="'brokenstore'") as record:
        pm = get_plugin_manager()
    messages = [str(w.message) for w in record if issubclass(w.category, consist.ConsistWarning)]
    assert any("consist_broken" in m and reason in m for m in messages), messages
    assert pm.get_plugin("brokenstore") is None

    with consist.Tracker(
        run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb", project_root=tmp_path
    ) as tracker:
        assert type(tracker.services.store).__name__ == "DuckDBStore"
        step, _ = counting_step()
        assert not tracker.run(step, config={"a": 1}).cache_hit
        assert tracker.run(step, config={"a": 1}).cache_hit


def test_a_plugin_whose_hook_raises_warns_and_is_skipped(plugin_site: Any, tmp_path: Path) -> None:
    source = """
        import consist


        @consist.hookimpl
        def consist_stores():
            raise RuntimeError("no stores today")
    """
    plugin_site.install("consist_failing_hook", source, {"failinghook": "consist_failing_hook"})
    pm = quiet_plugin_manager()  # it loads fine; it fails when asked for its stores

    with pytest.warns(consist.ConsistWarning, match=r"'failinghook' failed in consist_stores"):
        registry = build_registry(pm)
    assert registry.store_for("p.duckdb").name == "duckdb"


# -- two plugins, one store name -------------------------------------------------------------


@pytest.fixture
def clashing_plugins(plugin_site: Any) -> Any:
    """Two distributions whose plugins ("clash_a", "clash_b") both register store "clash"."""
    for suffix in ("a", "b"):
        package = f"consist_clash_{suffix}"
        plugin_site.install(package, clashing_plugin(package), {f"clash_{suffix}": package})
    return plugin_site


def test_two_plugins_with_one_store_name_fail_building_the_registry(
    clashing_plugins: Any,
) -> None:
    assert {"clash_a", "clash_b"} <= installed_entry_points().keys()
    pm = quiet_plugin_manager()

    with pytest.raises(consist.PluginError, match="'clash'") as raised:
        build_registry(pm)
    assert "clash_a" in str(raised.value) and "clash_b" in str(raised.value)

    # The remedy the error suggests: blocking either plugin leaves the other's store.
    assert build_registry(pm, ["-clash_b"]).get("store", "clash").plugin == "clash_a"


def test_two_plugins_with_one_store_name_fail_constructing_a_tracker(
    clashing_plugins: Any, tmp_path: Path
) -> None:
    with pytest.raises(consist.PluginError) as raised:
        consist.Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb")
    assert "clash_a" in str(raised.value) and "clash_b" in str(raised.value)
