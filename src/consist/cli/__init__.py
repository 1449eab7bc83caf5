"""The ``consist`` command line.

One top-level Typer app with a sub-app per command group (``consist schema ...``); a new
group is a module exposing its own ``app``, added here with :meth:`typer.Typer.add_typer`.
``import consist`` never imports this package, and commands import the library lazily, so
``consist --help`` stays quick.
"""

from __future__ import annotations

import typer

from consist.cli import db, schema

app = typer.Typer(
    name="consist",
    help="Inspect and export what Consist recorded.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(schema.app, name="schema")
app.add_typer(db.app, name="db")

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line (the ``consist`` console script)."""
    app()
