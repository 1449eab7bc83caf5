"""Identity options through the public API: hash_inputs, code identity modes, eager validation,
and events."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import consist
from consist.api.plugins import get_plugin_manager


def step(raw: Path):
    return {"out": pd.read_csv(raw)}


class Calls:
    """Collects calls; an object, so (unlike a captured list of plain values) it is not part
    of the step's code identity."""

    def __init__(self) -> None:
        self.calls: list[dict] = []


def test_hash_inputs_fold_directories_into_identity_only(tracker, raw_csv, workdir) -> None:
    configs = workdir / "configs"
    configs.mkdir()
    (configs / "a.yaml").write_text("a: 1\n")
    seen = Calls()

    def uses_only_raw(raw: Path, **extra):
        seen.calls.append(extra)

    run = lambda: tracker.run(  # noqa: E731
        uses_only_raw, inputs={"raw": raw_csv}, hash_inputs=[("settings", configs)]
    )
    assert not run().cache_hit
    assert run().cache_hit
    (configs / ".editor-swap").write_text("ignored")  # dotfiles do not count
    assert run().cache_hit
    (configs / "a.yaml").rename(configs / "b.yaml")  # renames do
    assert not run().cache_hit
    (configs / "b.yaml").write_text("a: 2\n")
    assert not run().cache_hit
    assert seen.calls == [{}, {}, {}]
    # hash_inputs are identity only: no lineage link is recorded for them.
    last = tracker.find_runs(model="uses_only_raw", limit=1)[0]
    assert set(tracker.get_artifacts_for_run(last.id).inputs) == {"raw"}


def test_source_identity_ignores_helpers_but_deps_follows_them(make_tracker, raw_csv) -> None:
    source = make_tracker(code_identity="source")
    first = source.run(step, inputs={"raw": raw_csv})
    assert first.run.code_identity == "source"
    assert source.run(step, inputs={"raw": raw_csv}).cache_hit
    deps = make_tracker(code_identity="deps").run(step, inputs={"raw": raw_csv})
    assert deps.run.code_identity == "deps" and not deps.cache_hit


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_identity_tracks_head_and_uncommitted_changes(make_tracker, raw_csv, workdir) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=workdir, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "dev@example.org")
    git("config", "user.name", "dev")
    model = workdir / "model.py"
    model.write_text("X = 1\n")
    git("add", "model.py")
    git("commit", "-qm", "first")
    tracker = make_tracker(code_identity="git")
    assert not tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    model.write_text("X = 2\n")  # uncommitted edit of a tracked file
    assert not tracker.run(step, inputs={"raw": raw_csv}).cache_hit
    git("commit", "-qam", "second")
    result = tracker.run(step, inputs={"raw": raw_csv})
    assert not result.cache_hit and result.run.code_identity == "git"


def test_git_identity_outside_a_repository_explains_the_fix(make_tracker, raw_csv) -> None:
    tracker = make_tracker(code_identity="git")
    with pytest.raises(ValueError, match="not a git checkout"):
        tracker.run(step, inputs={"raw": raw_csv})
    assert tracker.find_runs() == []


def test_a_hit_whose_outputs_are_gone_runs_the_step_again_and_says_why(tracker, raw_csv) -> None:
    first = tracker.run(step, inputs={"raw": raw_csv})
    first["out"].path.unlink()
    again = tracker.run(step, inputs={"raw": raw_csv})  # lazy: a stat per output
    assert not again.cache_hit and again["out"].path.exists()
    why = str(tracker.explain(again.run.id))
    assert f"outputs of run {first.run.id} are missing (out)" in why
    assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit  # the new run serves hits


def test_eager_validation_refuses_a_hit_whose_outputs_were_altered(tracker, raw_csv) -> None:
    first = tracker.run(step, inputs={"raw": raw_csv})
    path = first["out"].path
    path.write_bytes(path.read_bytes() + b"tampered")
    assert tracker.run(step, inputs={"raw": raw_csv}).cache_hit  # lazy: present suffices
    again = tracker.run(step, inputs={"raw": raw_csv}, validate_cached_outputs="eager")
    assert not again.cache_hit


def test_event_callbacks_fire_and_raising_callbacks_never_break_runs(
    tracker, raw_csv, caplog
) -> None:
    events: list[tuple[str, str]] = []
    tracker.on_run_start(lambda run: events.append(("start", run.status.value)))
    tracker.on_run_complete(lambda run: events.append(("complete", str(run.cache_hit))))
    tracker.on_run_failed(lambda run: events.append(("failed", run.error.split(":")[0])))

    @tracker.on_run_complete
    def explode(run):
        raise RuntimeError("observer bug")

    with caplog.at_level(logging.ERROR, logger="consist"):
        tracker.run(step, inputs={"raw": raw_csv})
        tracker.run(step, inputs={"raw": raw_csv})
    assert "observer bug" in caplog.text

    def broken(raw: Path):
        raise KeyError("missing column")

    with pytest.raises(KeyError):
        tracker.run(broken, inputs={"raw": raw_csv})
    assert events == [
        ("start", "running"),
        ("complete", "False"),
        ("complete", "True"),
        ("start", "running"),
        ("failed", "KeyError"),
    ]


class Observer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    @consist.hookimpl
    def consist_run_started(self, run) -> None:
        self.calls.append("started")

    @consist.hookimpl
    def consist_cache_decided(self, run, decision) -> None:
        self.calls.append("hit" if decision.hit else "miss")

    @consist.hookimpl
    def consist_artifact_logged(self, run, artifact, direction) -> None:
        self.calls.append(f"{direction}:{artifact.key}")

    @consist.hookimpl
    def consist_run_finished(self, run) -> None:
        self.calls.append(run.status.value)
        raise RuntimeError("plugin observers must not break runs either")


def test_plugin_observer_hooks_see_every_event(tracker, raw_csv) -> None:
    observer = Observer()
    pm = get_plugin_manager()
    pm.register(observer, name="test-observer")
    try:
        tracker.run(step, inputs={"raw": raw_csv})
        tracker.run(step, inputs={"raw": raw_csv})
    finally:
        pm.unregister(name="test-observer")
    assert observer.calls == [
        "miss",
        "started",
        "output:out",
        "completed",
        "hit",
        "completed",
    ]
