"""``consist schema ...``: captured table schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consist.cli.common import NOT_FOUND, USAGE, DbOption, database, fail, workspace

app = typer.Typer(
    help="Work with captured table schemas.", no_args_is_help=True, rich_markup_mode=None
)


@app.command("export")
def export(
    artifact_id: Annotated[
        str | None,
        typer.Option(
            "--artifact-id", metavar="ID", help="Export the schema captured for this artifact."
        ),
    ] = None,
    schema_id: Annotated[
        str | None,
        typer.Option("--schema-id", metavar="ID", help="Export the captured schema with this id."),
    ] = None,
    class_name: Annotated[
        str | None,
        typer.Option("--class-name", metavar="NAME", help="Name of the generated class."),
    ] = None,
    table_name: Annotated[
        str | None,
        typer.Option("--table-name", metavar="NAME", help="__tablename__ of the generated class."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", dir_okay=False, help="Write the code to FILE, not stdout."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Print an editable SQLModel class for a captured table schema.

    Give exactly one of --artifact-id and --schema-id. The code goes to stdout (redirect
    it, or use --out) and is meant to be curated, then registered as a typed view.
    """
    if (artifact_id is None) == (schema_id is None):
        fail("give exactly one of --artifact-id and --schema-id.", USAGE)
    path = database(db)

    from consist import ConsistError, Tracker

    try:
        run_dir = path.parent if isinstance(path, Path) else workspace(path)
        with Tracker(run_dir=run_dir, db_path=path, read_only=True) as tracker:
            code = tracker.export_schema_sqlmodel(
                artifact_id=artifact_id,
                schema_id=schema_id,
                class_name=class_name,
                table_name=table_name,
                out_path=out,
            )
    except (ConsistError, LookupError, ValueError, OSError) as exc:
        # Not found, the store failing, or --out unwritable: 1. A bad argument: 2.
        usage = isinstance(exc, ValueError) and not isinstance(exc, LookupError)
        fail(str(exc), USAGE if usage else NOT_FOUND)
    if out is None:
        typer.echo(code, nl=not code.endswith("\n"))
    else:
        typer.echo(f"wrote the SQLModel class to {out}", err=True)
