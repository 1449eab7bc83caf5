"""``consist scenarios`` and ``scenario``: scenario header runs and their steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from consist.cli.common import (
    NOT_FOUND,
    DbOption,
    JsonOption,
    emit_json,
    fail,
    open_tracker,
    reporting,
    table,
    wants_json,
)
from consist.cli.render import RUN_COLUMNS, headings, rows, run_record
from consist.cli.runs import linked_artifacts

if TYPE_CHECKING:
    from consist import Tracker
    from consist.core.model import Run

# The tag every scenario header run carries (set by consist.scenario).
HEADER_TAG = "scenario_header"
_SCENARIO_COLUMNS = [
    ("scenario", "id"),
    ("status", "status"),
    ("steps", "steps"),
    ("created", "created_at"),
    ("seconds", "duration_seconds"),
    ("tags", "tags"),
]


def register(app: typer.Typer) -> None:
    """Add ``scenarios`` and ``scenario`` to ``app``."""
    app.command("scenarios")(scenarios)
    app.command("scenario")(scenario)


def _name(header: Run) -> str:
    # A scenario entered again gets header ids name#2, name#3...; its steps use the name.
    return header.id.split("#", 1)[0]


def _steps(tracker: Tracker, header: Run) -> list[Run]:
    """The steps of this generation of the scenario, newest first.

    ``find_runs(parent_id=name)`` means the newest generation, ``name#2``... a later one
    and ``name#1`` the first (whose header id is the bare name).
    """
    name = _name(header)
    address = header.id
    if address == name:
        try:
            tracker.get_run(f"{name}#2")
            address = f"{name}#1"  # entered again: the bare name would mean the newest
        except LookupError:
            pass
    return list(tracker.find_runs(parent_id=address))


def _header_record(tracker: Tracker, header: Run) -> dict[str, Any]:
    record = run_record(header)
    record["name"] = _name(header)
    record["tags"] = [t for t in header.tags if t != HEADER_TAG]
    record["steps"] = len(_steps(tracker, header))
    return record


def scenarios(
    limit: Annotated[
        int, typer.Option(metavar="N", min=0, help="Newest scenarios to show; 0 shows all.")
    ] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List scenarios (their header runs), newest first, with their number of steps."""
    with open_tracker(db) as tracker, reporting():
        headers = tracker.find_runs(tags=[HEADER_TAG], limit=limit or None)
        records = [_header_record(tracker, header) for header in headers]
    if wants_json(as_json):
        emit_json(records)
        return
    if not records:
        typer.echo("no scenarios recorded; consist.scenario(...) records one.", err=True)
        return
    table(None, headings(_SCENARIO_COLUMNS), rows(records, _SCENARIO_COLUMNS))


def _find_header(tracker: Tracker, scenario_id: str) -> Run:
    """The newest generation of the scenario so named, else the header run with this id
    (``name#2``...: an older generation)."""
    for header in tracker.find_runs(tags=[HEADER_TAG]):
        if _name(header) == scenario_id:
            return header
    # The first generation's header id is the bare name, which means "newest" above.
    first = scenario_id.removesuffix("#1")
    try:
        run = tracker.get_run(scenario_id if first == scenario_id else first)
        if HEADER_TAG in run.tags:
            return run
    except LookupError:
        pass
    fail(
        f"no scenario {scenario_id!r} in {tracker.db_path}; `consist scenarios` lists them.",
        NOT_FOUND,
    )


def scenario(
    scenario_id: Annotated[
        str, typer.Argument(metavar="ID", help="Scenario name or header run id.")
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a scenario: its header run, its steps (oldest first) and their artifacts.

    A name shows the scenario's newest generation (a scenario entered again adds one); an
    older one is shown by its header run id as `consist scenarios` lists it (``name#2``,
    ...), the first as ``name#1``.
    """
    with open_tracker(db) as tracker, reporting():
        header = _find_header(tracker, scenario_id)
        steps = list(reversed(_steps(tracker, header)))
        record = _header_record(tracker, header)
        linked = linked_artifacts(tracker, header.id)
    step_records = [run_record(step) for step in steps]
    if wants_json(as_json):
        emit_json({"scenario": record, "steps": step_records, "artifacts": linked})
        return
    fields = [[k, record[k]] for k in ("id", "name", "status", "created_at", "steps", "tags")]
    table(f"scenario {record['name']}", ["field", "value"], fields)
    if step_records:
        table("steps", headings(RUN_COLUMNS), rows(step_records, RUN_COLUMNS))
    outputs = [a for a in linked if a["direction"] == "output"]
    if outputs:
        columns = [("key", "link_key"), ("uri", "uri"), ("producer", "run_id"), ("bytes", "bytes")]
        table("outputs", headings(columns), rows(outputs, columns))
