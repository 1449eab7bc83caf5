"""``consist db ...``: the database itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from consist.cli.common import NOT_FOUND, DbOption, database, fail

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
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recreate runs, artifacts, links and facets from the run snapshots.

    Use it after deleting or losing the database file (it is created if missing). Rows
    already in the database are kept; each run takes the state of its snapshot.
    """
    path = database(db, must_exist=False)
    workspace = (run_dir or path.parent).expanduser().resolve()
    if not any((workspace / ".consist" / "runs").glob("*.json")):
        fail(
            f"no run snapshots under {workspace / '.consist' / 'runs'}; pass --run-dir with "
            "the run_dir the runs were recorded in.",
            NOT_FOUND,
        )

    from rich.progress import Progress

    from consist import ConsistError, Tracker

    skipped: dict[str, str] = {}
    try:
        with (
            Tracker(run_dir=workspace, db_path=path) as tracker,
            Progress(transient=True, disable=as_json) as bar,
        ):
            task = bar.add_task("importing snapshots", total=None)
            restored = tracker.rebuild_from_snapshots(
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                on_skip=lambda snapshot, reason: skipped.update({str(snapshot): reason}),
            )
    except ConsistError as exc:
        fail(str(exc), NOT_FOUND)
    if as_json:
        typer.echo(json.dumps({"database": str(path), "runs": restored, "skipped": skipped}))
    else:
        typer.echo(f"rebuilt {path} from {restored} runs in {workspace}")
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
