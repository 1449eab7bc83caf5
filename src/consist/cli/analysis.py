"""``consist search``, ``summary``, ``explain`` and ``diff``: questions across runs."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from consist.cli.common import (
    DbOption,
    JsonOption,
    emit_json,
    open_tracker,
    reporting,
    run_or_fail,
    table,
    wants_json,
)
from consist.cli.render import RUN_COLUMNS, artifact_record, headings, rows, run_record


def register(app: typer.Typer) -> None:
    """Add ``search``, ``summary``, ``explain`` and ``diff`` to ``app``."""
    app.command("search")(search)
    app.command("summary")(summary)
    app.command("explain")(explain)
    app.command("diff")(diff)


def search(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="Text to look for.")],
    limit: Annotated[
        int, typer.Option(metavar="N", min=1, help="At most this many runs and artifacts.")
    ] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find runs (id, model, description, tags, scenario) and artifacts (id, key, address)
    containing TEXT, ignoring case."""
    from consist.api.inspection import Inspection

    with open_tracker(db) as tracker, reporting():
        hits = Inspection(tracker).search(text, limit)
    found_runs = [run_record(run) for run in hits.runs]
    found_artifacts = [artifact_record(artifact) for artifact in hits.artifacts]
    if wants_json(as_json):
        emit_json({"runs": found_runs, "artifacts": found_artifacts})
        return
    if not found_runs and not found_artifacts:
        typer.echo(f"nothing matches {text!r}; try a shorter part of a name.", err=True)
        return
    if found_runs:
        table("runs", headings(RUN_COLUMNS), rows(found_runs, RUN_COLUMNS))
    if found_artifacts:
        columns = [("key", "key"), ("id", "id"), ("uri", "uri"), ("producer", "run_id")]
        table("artifacts", headings(columns), rows(found_artifacts, columns))


def summary(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Counts of runs by status and model, cache hits, scenarios and artifacts."""
    from consist.api.inspection import Inspection

    with open_tracker(db) as tracker, reporting():
        facts = Inspection(tracker).summary()
    if wants_json(as_json):
        emit_json(facts)
        return
    overview: list[list[Any]] = [
        ["database", facts["database"]],
        ["runs", facts["runs"]],
        *[[f"  {status}", n] for status, n in facts["runs_by_status"].items() if n],
        ["cache hits", facts["cache_hits"]],
        ["scenarios", facts["scenarios"]],
        ["artifacts", facts["artifacts"]],
        ["artifact bytes", facts["artifact_bytes"]],
        ["first run", facts["first_run"]],
        ["last run", facts["last_run"]],
    ]
    table("summary", ["what", "value"], overview)
    models = [[m["model"], m["runs"], m["last_run"]] for m in facts["models"]]
    if models:
        table("models", ["model", "runs", "last run"], models)


def _changes(changes: list[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(change) for change in changes]


def explain(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why a run was a cache hit (its source), or why it executed: which components
    (code, config keys, arguments, inputs) differ from the closest earlier run."""
    with open_tracker(db) as tracker, reporting():
        run = run_or_fail(tracker, run_id)
        why = tracker.explain(run.id)
    changes: list[dict[str, Any]] = [
        {"component": component, **change}
        for component, found in (
            ("code", [why.code] if why.code else []),
            ("config", why.config_changes),
            ("arguments", why.argument_changes),
            ("captured", why.captured_changes),
            ("input", why.input_changes),
            ("other", why.other_changes),
        )
        for change in _changes(found)
    ]
    record = {
        "run_id": why.run_id,
        "cache_hit": why.cache_hit,
        "source_run_id": why.source_run_id,
        "compared_to": why.compared_to,
        "refused": why.refused,
        "summary": why.summary,
        # The end of a container step's log (for a hit, the reused run's); else None.
        "log": why.log,
        "code_changed": why.code_changed,
        "changes": changes,
    }
    if wants_json(as_json):
        emit_json(record)
        return
    typer.echo(why.summary)
    if changes:
        table(
            f"differences from {why.compared_to}",
            ["component", "what", "before", "now"],
            [[c["component"], c["what"], c["old"], c["new"]] for c in changes],
        )
    if why.log:
        typer.echo(f"--- container log (end) ---\n{why.log.rstrip()}")


def diff(
    a: Annotated[str, typer.Argument(metavar="A", help="First run id.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Second run id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare two runs: fields, signature components, config keys, inputs and outputs.

    Exits 0 whether or not they differ (like ``git diff``); the output says which.
    """
    from consist.api.inspection import Inspection

    with open_tracker(db) as tracker, reporting():
        run_or_fail(tracker, a)
        run_or_fail(tracker, b)
        result = Inspection(tracker).diff(a, b)
    sections = ("fields", "signature", "config", "inputs", "outputs")
    changes = [
        {"section": section, **change}
        for section in sections
        for change in _changes(getattr(result, section))
    ]
    if wants_json(as_json):
        emit_json({"a": result.a, "b": result.b, "same": result.same, "changes": changes})
        return
    if result.same:
        typer.echo(f"runs {result.a} and {result.b} do not differ in any recorded fact.")
        return
    table(
        f"{result.a} -> {result.b}",
        ["section", "what", result.a, result.b],
        [[c["section"], c["what"], c["old"], c["new"]] for c in changes],
    )
