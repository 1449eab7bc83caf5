"""What every command shares: finding the database, and failing with a message and a code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

#: Database used when neither ``--db`` nor ``$CONSIST_DB`` is given (relative to the cwd).
DEFAULT_DB = "provenance.duckdb"

#: Exit codes: a lookup or the database failed; the command was used wrongly.
NOT_FOUND, USAGE = 1, 2


#: The ``--db`` option every command takes.
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="PATH",
        envvar="CONSIST_DB",
        dir_okay=False,
        help=f"Provenance database (default: $CONSIST_DB, else ./{DEFAULT_DB}).",
    ),
]


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def database(db: Path | None, *, must_exist: bool = True) -> Path:
    """The metadata database to open: ``--db``/``$CONSIST_DB``, else the default, absolute."""
    path = Path(os.path.abspath((db or Path(DEFAULT_DB)).expanduser()))
    if must_exist and not path.is_file():
        fail(
            f"no Consist database at {path}; pass --db PATH or set CONSIST_DB to the "
            "provenance database file.",
            NOT_FOUND,
        )
    return path
