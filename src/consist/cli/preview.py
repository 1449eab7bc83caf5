"""``consist preview``: the first rows of a table artifact, or the variables of an array."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from consist.cli.common import (
    NOT_FOUND,
    DbOption,
    JsonOption,
    artifact_or_fail,
    emit_json,
    fail,
    open_tracker,
    reporting,
    table,
    wants_json,
)


def register(app: typer.Typer) -> None:
    """Add ``preview`` to ``app``."""
    app.command("preview")(preview)


def _frame_preview(data: Any, n: int) -> dict[str, Any] | None:
    """Columns, dtypes and the first ``n`` rows of a pandas or polars frame."""
    if hasattr(data, "to_dicts") and hasattr(data, "schema"):  # polars
        head = data.head(n)
        return {
            "kind": "table",
            "rows_total": data.height,
            "columns": [{"name": k, "dtype": str(v)} for k, v in data.schema.items()],
            "rows": head.to_dicts(),
        }
    if hasattr(data, "iloc") and hasattr(data, "dtypes"):  # pandas
        head = data.head(n)
        if hasattr(head, "to_frame") and not hasattr(head, "columns"):
            head, data = head.to_frame(), data.to_frame()
        return {
            "kind": "table",
            "rows_total": len(data),
            "columns": [{"name": str(c), "dtype": str(t)} for c, t in data.dtypes.items()],
            # to_json/loads turns numpy values, NaN and timestamps into plain JSON values
            "rows": _plain_rows(head),
        }
    return None


def _plain_rows(frame: Any) -> list[dict[str, Any]]:
    import json

    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return records


def _array_preview(data: Any) -> dict[str, Any] | None:
    """Dimensions and variables of an xarray Dataset or DataArray."""
    variables = getattr(data, "variables", None)
    if variables is None or not hasattr(data, "dims"):
        return None
    return {
        "kind": "array",
        "dims": {str(k): int(v) for k, v in dict(data.sizes).items()},
        "variables": [
            {
                "name": str(name),
                "dims": [str(d) for d in var.dims],
                "dtype": str(var.dtype),
                "shape": [int(s) for s in var.shape],
                "coordinate": name in getattr(data, "coords", {}),
            }
            for name, var in variables.items()
        ],
    }


def preview(
    key_or_id: Annotated[
        str, typer.Argument(metavar="KEY_OR_ID", help="Artifact id, or key (the newest).")
    ],
    n: Annotated[int, typer.Option("-n", "--rows", metavar="N", min=1, help="Rows to show.")] = 10,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the first rows of a tabular artifact (csv, parquet, ...) or the variables of an
    array artifact (zarr, netCDF)."""
    with open_tracker(db) as tracker, reporting():
        artifact = artifact_or_fail(tracker, key_or_id)
        if artifact.driver is None:
            fail(
                f"artifact {artifact.key!r} ({artifact.uri}) has no driver, so it cannot be "
                "read as a table or array; open the file itself.",
                NOT_FOUND,
            )
        data = tracker.load(artifact)
        shown = _frame_preview(data, n) or _array_preview(data)
    if shown is None:
        fail(
            f"artifact {artifact.key!r} loads as {type(data).__name__}, which has no "
            "preview; open the file itself.",
            NOT_FOUND,
        )
    shown = {"artifact": artifact.id, "key": artifact.key, "uri": artifact.uri, **shown}
    if wants_json(as_json):
        emit_json(shown)
    elif shown["kind"] == "table":
        names = [c["name"] for c in shown["columns"]]
        title = f"{artifact.key}: first {len(shown['rows'])} of {shown['rows_total']} rows"
        table(title, names, [[row.get(name) for name in names] for row in shown["rows"]])
    else:
        dims = ", ".join(f"{k}={v}" for k, v in shown["dims"].items())
        table(
            f"{artifact.key}: dimensions {dims or 'none'}",
            ["variable", "dims", "dtype", "shape", "coordinate"],
            [
                [v["name"], v["dims"], v["dtype"], "x".join(map(str, v["shape"])), v["coordinate"]]
                for v in shown["variables"]
            ],
        )
