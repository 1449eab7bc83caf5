"""The ``consist`` command line.

One top-level Typer app. Commands about runs, lineage, scenarios, files and plugins are
added by the module of their group (each has a ``register(app)``); ``schema`` and ``db`` are
sub-apps. ``import consist`` never imports this package, and commands import the library
lazily, so ``consist --help`` stays quick.

Global options (``consist --db X --json runs``) are kept on the root context; each command
also takes ``--db`` and ``--json`` itself, which win over the global ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consist.cli import analysis, db, files, lineage, plugins, preview, runs, scenarios, schema
from consist.cli.common import GlobalOptions, set_global_options

app = typer.Typer(
    name="consist",
    help="Inspect, check and tidy what Consist recorded: runs, artifacts, lineage, "
    "scenarios and their files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"consist {version('consist')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("consist (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            metavar="PATH",
            dir_okay=False,
            help="Provenance database for every command (default: $CONSIST_DB, else "
            "./provenance.duckdb, else the newest database in ./.consist/).",
        ),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            metavar="DIR",
            exists=True,
            file_okay=False,
            help="Workspace the database's files are relative to (default: the database's folder).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output from every command that lists or shows.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Inspect, check and tidy what Consist recorded.

    Exit codes: 0 success, 1 not found or a check failed, 2 wrong usage.
    """
    set_global_options(GlobalOptions(db=db, run_dir=run_dir, json=as_json))


for group in (runs, analysis, lineage, scenarios, preview, files, plugins):
    group.register(app)
app.add_typer(db.app, name="db")
app.add_typer(schema.app, name="schema")

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line (the ``consist`` console script)."""
    app()
