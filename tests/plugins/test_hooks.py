"""Hook validation (``check_pending``) and observer hooks isolated per implementation."""

from __future__ import annotations

import logging
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

import consist
from consist.api.plugins import DEFAULT_PLUGINS, _check_pending, get_plugin_manager
from consist.core import hookspecs

# A third-party plugin with a misspelt observer hook ("consist_run_finishd"), next to a
# correctly spelt one: the whole plugin is refused, loudly, and the library keeps working.
MISSPELT_PLUGIN = """
    import consist


    @consist.hookimpl
    def consist_run_started(run):
        raise AssertionError("a refused plugin must not be called")


    @consist.hookimpl
    def consist_run_finishd(run):
        raise AssertionError("a refused plugin must not be called")
"""


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def counting_step() -> tuple[Any, Counter]:
    """A step with no outputs, and a counter of its calls (an object: see test_store_plugin)."""
    counter = Counter()

    def step(a: int) -> None:
        counter.calls += 1

    return step, counter


def open_tracker(tmp_path: Path) -> consist.Tracker:
    return consist.Tracker(
        run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb", project_root=tmp_path
    )


# -- check_pending ---------------------------------------------------------------------------


def test_a_plugin_with_a_misspelt_hook_warns_naming_it_and_is_skipped(
    plugin_site: Any, tmp_path: Path
) -> None:
    plugin_site.install("consist_misspelt", MISSPELT_PLUGIN, {"misspelt": "consist_misspelt"})

    with pytest.warns(consist.ConsistWarning, match="'misspelt'") as record:
        pm = get_plugin_manager()
    messages = [str(w.message) for w in record if issubclass(w.category, consist.ConsistWarning)]
    assert any("consist_run_finishd" in m for m in messages), messages
    assert pm.get_plugin("misspelt") is None
    assert not pm.hook.consist_run_finishd.get_hookimpls()
    assert "misspelt" not in {
        impl.plugin_name for impl in pm.hook.consist_run_started.get_hookimpls()
    }
    pm.check_pending()  # nothing pending is left

    step, counter = counting_step()
    with open_tracker(tmp_path) as tracker:
        assert not tracker.run(step, config={"a": 1}).cache_hit
        assert tracker.run(step, config={"a": 1}).cache_hit
    assert counter.calls == 1


def test_built_in_plugins_pass_check_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSIST_DISABLE_PLUGIN_AUTOLOAD", "1")
    get_plugin_manager.cache_clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", consist.ConsistWarning)
            pm = get_plugin_manager()
        pm.check_pending()
        assert {name for name, _ in pm.list_name_plugin()} == set(DEFAULT_PLUGINS)
    finally:
        get_plugin_manager.cache_clear()


def test_a_built_in_plugin_with_a_misspelt_hook_raises() -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    plugin = types.ModuleType("broken_builtin")

    @hookspecs.hookimpl
    def consist_storez() -> list[Any]:
        return []

    plugin.consist_storez = consist_storez  # type: ignore[attr-defined]
    pm.register(plugin, name=DEFAULT_PLUGINS[0])

    with pytest.raises(pluggy.PluginValidationError, match="consist_storez"):
        _check_pending(pm)


# -- observers -------------------------------------------------------------------------------


class Recorder:
    """An observer plugin that records every event it sees."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @consist.hookimpl
    def consist_run_started(self, run: Any) -> None:
        self.calls.append("started")

    @consist.hookimpl
    def consist_cache_decided(self, run: Any, decision: Any) -> None:
        self.calls.append("hit" if decision.hit else "miss")

    @consist.hookimpl
    def consist_run_finished(self, run: Any) -> None:
        self.calls.append(run.status.value)


class Raiser:
    """An observer plugin that raises on every event (and is called before the Recorder)."""

    def __init__(self) -> None:
        self.calls = 0

    @consist.hookimpl(tryfirst=True)
    def consist_run_started(self, run: Any) -> None:
        self.calls += 1
        raise RuntimeError("observer broke on start")

    @consist.hookimpl(tryfirst=True)
    def consist_cache_decided(self, run: Any, decision: Any) -> None:
        self.calls += 1
        raise RuntimeError("observer broke on the cache decision")

    @consist.hookimpl(tryfirst=True)
    def consist_run_finished(self, run: Any) -> None:
        self.calls += 1
        raise RuntimeError("observer broke on finish")


@pytest.fixture
def observers() -> Iterator[tuple[Raiser, Recorder]]:
    """A raising and a recording observer, registered on the process's plugin manager."""
    pm = get_plugin_manager()
    raiser, recorder = Raiser(), Recorder()
    pm.register(recorder, name="test-recorder")
    pm.register(raiser, name="test-raiser")
    try:
        yield raiser, recorder
    finally:
        pm.unregister(name="test-raiser")
        pm.unregister(name="test-recorder")


def test_a_raising_observer_does_not_silence_the_others(
    observers: tuple[Raiser, Recorder], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raiser, recorder = observers
    step, counter = counting_step()

    def broken(a: int) -> None:
        raise KeyError("missing column")

    seen: list[str] = []
    with caplog.at_level(logging.WARNING, logger="consist"), open_tracker(tmp_path) as tracker:
        tracker.on_run_complete(lambda run: seen.append("complete"))
        tracker.on_run_failed(lambda run: seen.append("failed"))
        assert not tracker.run(step, config={"a": 1}).cache_hit
        assert tracker.run(step, config={"a": 1}).cache_hit
        with pytest.raises(KeyError):
            tracker.run(broken, config={"a": 2})

    assert counter.calls == 1
    assert recorder.calls == [
        "miss",
        "started",
        "completed",
        "hit",
        "completed",
        "miss",
        "started",
        "failed",
    ]
    assert raiser.calls == len(recorder.calls)
    assert seen == ["complete", "complete", "failed"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for event in ("consist_run_started", "consist_cache_decided", "consist_run_finished"):
        assert any("'test-raiser'" in m and event in m for m in warned), (event, warned)
    assert not any("test-recorder" in m for m in warned), warned


def test_observers_get_only_the_arguments_they_declare_and_wrappers_run(tmp_path: Path) -> None:
    calls: list[str] = []

    class Partial:
        @consist.hookimpl
        def consist_cache_decided(self, decision: Any) -> None:  # no ``run``
            calls.append(f"decided:{decision.hit}")

    class Wrapper:
        @consist.hookimpl(wrapper=True)
        def consist_cache_decided(self, run: Any) -> Any:
            calls.append("before")
            result = yield
            calls.append("after")
            return result

    pm = get_plugin_manager()
    pm.register(Partial(), name="test-partial")
    pm.register(Wrapper(), name="test-wrapper")
    try:
        step, _ = counting_step()
        with open_tracker(tmp_path) as tracker:
            tracker.run(step, config={"a": 1})
    finally:
        pm.unregister(name="test-wrapper")
        pm.unregister(name="test-partial")
    assert calls == ["before", "decided:False", "after"]
