"""What every command shares: finding the database, opening a tracker on it, printing
tables or JSON, progress bars, and failing with a message and an exit code."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from consist import Tracker

#: Database used when neither ``--db`` nor ``$CONSIST_DB`` is given (relative to the cwd).
DEFAULT_DB = "provenance.duckdb"
#: Suffixes of database files looked for in ``./.consist/`` when nothing else names one.
DB_SUFFIXES = (".duckdb", ".sqlite", ".sqlite3", ".db")

#: Exit codes: success; a lookup, a check or the database failed; the command was misused.
OK, NOT_FOUND, USAGE = 0, 1, 2
FAILED = NOT_FOUND

_DB_HELP = (
    f"Provenance database (default: $CONSIST_DB, else ./{DEFAULT_DB}, else the newest "
    "database in ./.consist/)."
)

#: The ``--db`` option every command takes (it overrides ``consist --db``).
DbOption = Annotated[
    Path | None, typer.Option("--db", metavar="PATH", dir_okay=False, help=_DB_HELP)
]
#: ``--json`` on every command that lists or shows something.
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (the same facts as the table) to stdout.")
]


@dataclass(slots=True)
class GlobalOptions:
    """Options given before the command name (``consist --db X runs``)."""

    db: Path | None = None
    run_dir: Path | None = None
    json: bool = False


# Set by the root command's callback, which runs before every command of ``consist``; a
# module value rather than the click context, which Typer keeps to itself.
_global = GlobalOptions()


def set_global_options(options: GlobalOptions) -> None:
    """Remember the options given before the command name (called by the root callback)."""
    global _global
    _global = options


def global_options() -> GlobalOptions:
    """The options given before the command name (defaults if there were none)."""
    return _global


def wants_json(flag: bool) -> bool:
    """``--json`` given on the command or before it."""
    return flag or global_options().json


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: <message>`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _newest_in_consist_dir(folder: Path) -> Path | None:
    found = [p for p in folder.glob("*") if p.suffix in DB_SUFFIXES and p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _server_url(chosen: Path | None) -> str | None:
    """``chosen`` as a database URL (``postgresql://...``), or None for a file. The option is
    parsed as a path, which folds the URL's ``//`` into one ``/``; it is put back."""
    if chosen is None:
        return None
    scheme, sep, rest = str(chosen).partition(":/")
    # Two letters at least: "C:/data/p.duckdb" is a Windows path, not a URL.
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]+", scheme):
        return None
    if scheme.lower() in ("duckdb", "sqlite"):
        return None
    return f"{scheme}://{rest.lstrip('/')}"


def database(db: Path | None, *, must_exist: bool = True) -> Path | str:
    """The metadata database to open: an absolute path, or a server's URL as given.

    In order: the command's ``--db``, ``consist --db``, ``$CONSIST_DB``,
    ``./provenance.duckdb`` if it exists, the newest database file in ``./.consist/``.
    """
    chosen = db or global_options().db
    if chosen is None and os.environ.get("CONSIST_DB"):
        chosen = Path(os.environ["CONSIST_DB"])
    url = _server_url(chosen)
    if url is not None:  # a server (PostgreSQL): nothing to look for on disk
        return url
    if chosen is None and not Path(DEFAULT_DB).is_file():
        chosen = _newest_in_consist_dir(Path(".consist"))
    path = Path(os.path.abspath((chosen or Path(DEFAULT_DB)).expanduser()))
    if must_exist and not path.is_file():
        fail(
            f"no Consist database at {path}; pass --db PATH or set CONSIST_DB to the "
            "provenance database file.",
            NOT_FOUND,
        )
    return path


def workspace(db_path: Path | str) -> Path:
    """The workspace (``run_dir``) whose files the database describes: ``--run-dir``, else
    the database's folder (its parent's when the database sits in a ``.consist`` folder),
    else (a server's database) the current directory."""
    given = global_options().run_dir
    if given is not None:
        return given.expanduser().resolve()
    if isinstance(db_path, str):
        return Path.cwd()
    folder = db_path.parent
    return folder.parent if folder.name == ".consist" else folder


@contextmanager
def reporting() -> Iterator[None]:
    """Turn library errors into ``error: ...`` and an exit code (2 for a bad value given on
    the command line, else 1) instead of a traceback."""
    from consist.core.errors import (
        ArgumentError,
        ArgumentTypeError,
        ConsistError,
        InvalidKeyError,
        OptionValueError,
    )

    try:
        yield
    except (OptionValueError, ArgumentError, ArgumentTypeError, InvalidKeyError) as exc:
        fail(str(exc), USAGE)
    except (ConsistError, LookupError, OSError) as exc:
        fail(str(exc), NOT_FOUND)


@contextmanager
def open_tracker(db: Path | None, *, writable: bool = False) -> Iterator[Tracker]:
    """A tracker on the chosen database: read-only unless the command records something."""
    path = database(db)
    with reporting():
        from consist import Tracker

        with Tracker(run_dir=workspace(path), db_path=path, read_only=not writable) as tracker:
            yield tracker


def run_or_fail(tracker: Tracker, run_id: str) -> Any:
    """The run ``run_id``, or exit 1 saying how to find run ids."""
    try:
        return tracker.get_run(run_id)
    except LookupError:
        fail(
            f"no run with id {run_id!r} in {tracker.db_path}; `consist runs` lists run ids "
            f"and `consist search {run_id}` finds runs by part of their name.",
            NOT_FOUND,
        )


def artifact_or_fail(tracker: Tracker, key_or_id: str) -> Any:
    """The artifact with this id (else the newest with this key), or exit 1 with a hint."""
    try:
        return tracker.get_artifact(key_or_id)
    except LookupError:
        hint = ""
        try:
            outputs = tracker.get_artifacts_for_run(tracker.get_run(key_or_id).id).outputs
            hint = f" {key_or_id!r} is a run; its outputs are: {', '.join(outputs) or 'none'}."
        except LookupError:
            pass
        fail(
            f"no artifact with id or key {key_or_id!r} in {tracker.db_path};{hint} "
            "`consist artifacts RUN` lists a run's artifacts and `consist search TEXT` "
            "finds keys.",
            NOT_FOUND,
        )


# -- output --------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (dates in ISO 8601): indented on a terminal, on one
    line when piped, where the C encoder is several times faster on large listings."""
    indent = 2 if sys.stdout.isatty() else None
    typer.echo(json.dumps(data, indent=indent, default=_default, ensure_ascii=False))


def console(stderr: bool = False) -> Console:
    """A Rich console: colours on a terminal, plain wide text when piped (no truncation)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        file=stream,
        width=None if terminal else 240,
        no_color=not terminal,
        highlight=False,
        soft_wrap=not terminal,
    )


@contextmanager
def progress_bar(description: str, quiet: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr, shown only on a terminal (and not with ``--json``);
    yields ``update(done, total)``."""
    from rich.progress import Progress

    bar: Progress = Progress(
        transient=True, console=console(stderr=True), disable=quiet or not sys.stderr.isatty()
    )
    with bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def cell(value: Any) -> str:
    """A table cell: ``-`` for nothing, ISO-ish seconds for times, text otherwise."""
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a Rich table; a cell too long for the terminal folds onto further lines
    rather than being cut short, so ids and addresses are always complete."""
    from rich.table import Table

    grid = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        grid.add_column(name, overflow="fold")
    for row in rows:
        grid.add_row(*(cell(v) for v in row))
    console().print(grid)
