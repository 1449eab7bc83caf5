"""``consist runs``, ``show`` and ``artifacts``: listing runs and what they read and wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from consist.cli.common import (
    USAGE,
    DbOption,
    JsonOption,
    emit_json,
    fail,
    open_tracker,
    reporting,
    run_or_fail,
    table,
    wants_json,
)
from consist.cli.render import (
    ARTIFACT_COLUMNS,
    RUN_COLUMNS,
    artifact_record,
    headings,
    rows,
    run_record,
)

if TYPE_CHECKING:
    from consist import Tracker
    from consist.core.model import Run

#: Rows ``consist runs`` prints unless ``--limit`` says otherwise.
DEFAULT_LIMIT = 50


def parse_since(text: str) -> datetime:
    """``--since``: an age (``7d``, ``12h``, ``30m``) or an ISO date/time (local if naive)."""
    from consist.api.housekeeping import parse_age

    try:
        return datetime.now(UTC) - parse_age(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"--since {text!r} is neither an age nor a date: use e.g. --since 7d, "
            "--since 12h or --since 2026-01-31 (or 2026-01-31T08:00).",
            USAGE,
        )
    return moment.astimezone(UTC)  # a naive time is the user's local time


def newest_runs(tracker: Tracker, since: datetime | None, limit: int | None, **filters: Any):
    """Runs matching ``filters``, newest first, created at or after ``since``.

    The store has no time filter, but it returns runs newest first: pages grow until one
    reaches past ``since``, so only the runs asked for are read, however large the history.
    """
    if since is None:
        return tracker.find_runs(limit=limit, **filters)
    page = max(limit or 0, 100)
    while True:
        found = tracker.find_runs(limit=page, **filters)
        recent = [run for run in found if run.created_at >= since]
        if len(recent) < len(found) or len(found) < page or (limit and len(recent) >= limit):
            return recent[:limit] if limit else recent
        page *= 4


def register(app: typer.Typer) -> None:
    """Add ``runs``, ``show`` and ``artifacts`` to ``app``."""
    app.command("runs")(runs)
    app.command("show")(show)
    app.command("artifacts")(artifacts)


def runs(
    model: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Only runs of this model.")
    ] = None,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="running, completed, failed or crashed.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option(metavar="TAG", help="Only runs with this tag (repeat: all of them)."),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Only steps of this scenario (name or header run id)."),
    ] = None,
    year: Annotated[
        int | None, typer.Option(metavar="YEAR", help="Only runs of this year.")
    ] = None,
    iteration: Annotated[
        int | None, typer.Option(metavar="N", help="Only runs of this iteration.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="AGE|DATE",
            help="Only runs created since an age (7d, 12h, 30m) or an ISO date.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(metavar="N", min=0, help="Newest runs to show; 0 shows every match.")
    ] = DEFAULT_LIMIT,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List runs, newest first, filtered by model, status, tags, scenario, year or time."""
    after = parse_since(since) if since is not None else None
    with open_tracker(db) as tracker, reporting():
        found = newest_runs(
            tracker,
            after,
            limit or None,
            model=model,
            status=status,
            tags=tag or None,
            parent_id=scenario,
            year=year,
            iteration=iteration,
        )
    records = [run_record(run) for run in found]
    if wants_json(as_json):
        emit_json(records)
        return
    if not records:
        typer.echo("no runs match; `consist runs` without filters lists every run.", err=True)
        return
    table(None, headings(RUN_COLUMNS), rows(records, RUN_COLUMNS))
    if limit and len(records) == limit:
        typer.echo(f"showing the {limit} newest; --limit 0 shows every match.", err=True)


def linked_artifacts(tracker: Tracker, run_id: str) -> list[dict[str, Any]]:
    """A run's inputs then outputs as records, with whether gc removed their bytes."""
    linked = tracker.get_artifacts_for_run(run_id)
    producers: dict[str, Run | None] = {}

    def producer(run: str | None) -> Run | None:
        if run is None:
            return None
        if run not in producers:
            try:
                producers[run] = tracker.get_run(run)
            except LookupError:
                producers[run] = None
        return producers[run]

    return [
        {**artifact_record(artifact, direction, producer(artifact.run_id)), "link_key": key}
        for direction, group in (("input", linked.inputs), ("output", linked.outputs))
        for key, artifact in group.items()
    ]


def show(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one run: its fields, signature components, config and artifacts."""
    with open_tracker(db) as tracker, reporting():
        run = run_or_fail(tracker, run_id)
        record = run_record(run, full=True)
        linked = linked_artifacts(tracker, run.id)
    if wants_json(as_json):
        emit_json({"run": record, "artifacts": linked})
        return
    fields = [[name, value] for name, value in record.items() if name not in ("meta",)]
    table(f"run {run.id}", ["field", "value"], fields)
    if linked:
        table("artifacts", headings(ARTIFACT_COLUMNS), rows(linked, ARTIFACT_COLUMNS))


def artifacts(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Run id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the artifacts a run consumed (inputs) and produced (outputs)."""
    with open_tracker(db) as tracker, reporting():
        run = run_or_fail(tracker, run_id)
        linked = linked_artifacts(tracker, run.id)
    if wants_json(as_json):
        emit_json(linked)
        return
    if not linked:
        typer.echo(f"run {run.id} recorded no artifacts.", err=True)
        return
    table(f"artifacts of run {run.id}", headings(ARTIFACT_COLUMNS), rows(linked, ARTIFACT_COLUMNS))
