"""``consist lineage``: where an artifact came from, as a tree or an exchange format."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from consist.cli.common import (
    DbOption,
    JsonOption,
    artifact_or_fail,
    console,
    emit_json,
    open_tracker,
    reporting,
    wants_json,
)
from consist.cli.render import artifact_record, run_record

if TYPE_CHECKING:
    from consist.core.lineage import LineageNode


class Format(StrEnum):
    TREE = "tree"
    MERMAID = "mermaid"
    OPENLINEAGE = "openlineage"
    PROV = "prov"


# The CLI's short name for PROV-JSON, mapped to the library's export format names.
_EXPORT = {Format.MERMAID: "mermaid", Format.OPENLINEAGE: "openlineage", Format.PROV: "prov-json"}


def register(app: typer.Typer) -> None:
    """Add ``lineage`` to ``app``."""
    app.command("lineage")(lineage)


def tree_record(node: LineageNode) -> dict[str, Any]:
    """The lineage tree as nested JSON: artifact, then its producer and that run's inputs."""
    record: dict[str, Any] = {"artifact": artifact_record(node.artifact)}
    if node.truncated or node.cycle:
        record["stopped"] = "cycle" if node.cycle else "max depth"
    if node.producer is not None:
        record["producer"] = {
            "run": run_record(node.producer.run),
            "inputs": {key: tree_record(up) for key, up in node.producer.inputs.items()},
        }
    return record


def lineage(
    key_or_id: Annotated[
        str, typer.Argument(metavar="KEY_OR_ID", help="Artifact id, or key (the newest).")
    ],
    format: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="tree (default), mermaid (flowchart source), openlineage (a JSON list of "
            "RunEvents, upstream first) or prov (a PROV-JSON document).",
        ),
    ] = Format.TREE,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth", metavar="N", min=0, help="Levels of producing runs to follow (default all)."
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show where an artifact came from: its producing run, that run's inputs, and so on."""
    with open_tracker(db) as tracker, reporting():
        artifact = artifact_or_fail(tracker, key_or_id)
        if format is not Format.TREE:
            exported = tracker.export_lineage(artifact, _EXPORT[format], depth)
        else:
            node = tracker.lineage(artifact, depth)
    if format is Format.MERMAID:
        typer.echo(str(exported).rstrip("\n"))
    elif format is not Format.TREE:
        typer.echo(json.dumps(exported, indent=2, ensure_ascii=False))
    elif wants_json(as_json):
        emit_json(tree_record(node))
    else:
        from consist.api.lineage import render_lineage

        console().print(render_lineage(node))
