"""``consist db ...``: the database itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from consist.cli.common import (
    NOT_FOUND,
    DbOption,
    JsonOption,
    database,
    emit_json,
    fail,
    open_tracker,
    progress_bar,
    reporting,
    table,
    wants_json,
    workspace,
)

app = typer.Typer(help="Look after the provenance database.", no_args_is_help=True)


@app.command("rebuild")
def rebuild(
    db: DbOption = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            metavar="DIR",
            file_okay=False,
            help="Workspace whose .consist/runs snapshots to read (default: the database's "
            "folder).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recreate runs, artifacts, links and facets from the run snapshots.

    Use it after deleting or losing the database file (it is created if missing). Rows
    already in the database are kept; each run takes the state of its snapshot.
    """
    as_json = wants_json(as_json)
    path = database(db, must_exist=False)
    root = (run_dir or workspace(path)).expanduser().resolve()
    if not any((root / ".consist" / "runs").glob("*.json")):
        fail(
            f"no run snapshots under {root / '.consist' / 'runs'}; pass --run-dir with "
            "the run_dir the runs were recorded in.",
            NOT_FOUND,
        )

    from consist import ConsistError, Tracker

    skipped: dict[str, str] = {}
    try:
        with (
            Tracker(run_dir=root, db_path=path) as tracker,
            progress_bar("importing snapshots", as_json) as bar,
        ):
            restored = tracker.rebuild_from_snapshots(
                progress=bar,
                on_skip=lambda snapshot, reason: skipped.update({str(snapshot): reason}),
            )
    except ConsistError as exc:
        fail(str(exc), NOT_FOUND)
    if as_json:
        typer.echo(json.dumps({"database": str(path), "runs": restored, "skipped": skipped}))
    else:
        typer.echo(f"rebuilt {path} from {restored} runs in {root}")
        for snapshot, reason in skipped.items():
            typer.echo(f"skipped {snapshot}: {reason}", err=True)
    if skipped:
        # The rest is in; a non-zero exit makes scripts look at what was left out.
        if not as_json:
            typer.echo(
                f"error: {len(skipped)} snapshot(s) could not be restored; fix or remove "
                "them and run `consist db rebuild` again.",
                err=True,
            )
        raise typer.Exit(NOT_FOUND)


@app.command("doctor")
def doctor(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Check the database and its workspace: schema version, snapshots waiting to be
    imported, crashed and running runs, and files under outputs/ that no artifact records.

    Exits 1 when something needs action (pending snapshots or orphan files).
    """
    from consist.api.inspection import Inspection

    with open_tracker(db) as tracker, reporting():
        report = Inspection(tracker).doctor()
    facts = {
        "database": report.database,
        "schema_version": report.schema_version,
        "runs": report.runs,
        "pending": report.pending,
        "crashed": report.crashed,
        "running": report.running,
        "orphans": report.orphans,
        "healthy": report.healthy,
    }
    if wants_json(as_json):
        emit_json(facts)
    else:
        listed = {
            "pending": report.pending,
            "crashed": report.crashed,
            "running": report.running,
            "orphans": report.orphans,
        }
        table(
            "doctor",
            ["check", "found"],
            [
                ["database", report.database],
                ["schema version", report.schema_version],
                ["runs", report.runs],
                *[[name, _few(items)] for name, items in listed.items()],
            ],
        )
        if report.pending:
            typer.echo(
                "pending snapshots are imported by the next tracker that opens the database "
                "writable (or run `consist db rebuild`).",
                err=True,
            )
        if report.orphans:
            typer.echo(
                "orphan files are under outputs/ but recorded nowhere; delete them if they "
                "are leftovers, or log them with tracker.log_artifact.",
                err=True,
            )
    if not report.healthy:
        raise typer.Exit(NOT_FOUND)


def _few(items: list[str], shown: int = 5) -> str:
    """``"none"``, or the count and the first few items."""
    if not items:
        return "none"
    more = f", ... ({len(items) - shown} more)" if len(items) > shown else ""
    return f"{len(items)}: {', '.join(items[:shown])}{more}"
