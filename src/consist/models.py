"""SQL table classes of the metadata database, for your own ``select(...)`` statements, and
``pivot_facets`` to turn facet key/values into columns.

>>> from sqlmodel import select
>>> from consist.models import Run
>>> consist.run_query(select(Run.id).where(Run.model_name == "simulate"), tracker=tracker)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import case, func, select

from consist.adapters.stores.sql.tables import (
    Artifact,
    ConfigFacet,
    Run,
    RunArtifactLink,
    RunConfigKV,
)

__all__ = ["Artifact", "ConfigFacet", "Run", "RunArtifactLink", "RunConfigKV", "pivot_facets"]

VALUE_COLUMNS = ("value_num", "value_str", "value_bool", "value_json")


def _value_column(name: str, key: str) -> Any:
    if name not in VALUE_COLUMNS:
        raise ValueError(
            f"value column {name!r} for facet key {key!r} is not one of {', '.join(VALUE_COLUMNS)}."
        )
    return getattr(RunConfigKV, name)


def pivot_facets(
    namespace: str,
    keys: Sequence[str],
    value_column: str = "value_num",
    value_columns: Mapping[str, str] | None = None,
    label_prefix: str = "",
    label_map: Mapping[str, str] | None = None,
    run_id_label: str = "run_id",
) -> Any:
    """A subquery with one row per run of ``namespace`` (the model name) and one column per
    facet key, for joins and filters in ``select(...)``.

    Parameters
    ----------
    namespace
        The model whose runs' facets are pivoted.
    keys
        Facet keys (nested keys dotted) to turn into columns.
    value_column
        Which typed column holds the values (``"value_num"``, ``"value_str"``,
        ``"value_bool"`` or ``"value_json"``) ...
    value_columns
        ... or per key, e.g. ``{"mode": "value_str"}``.
    label_prefix, label_map
        Column names: ``label_map[key]`` if given, else ``label_prefix + key``.
    run_id_label
        Name of the run id column.
    """
    value_columns = dict(value_columns or {})
    label_map = dict(label_map or {})
    unknown = sorted(set(value_columns) - set(keys))
    if unknown:
        raise ValueError(f"value_columns names keys {unknown} that are not in keys={list(keys)}.")
    columns = [RunConfigKV.run_id.label(run_id_label)]
    for key in keys:
        value = _value_column(value_columns.get(key, value_column), key)
        label = label_map.get(key, f"{label_prefix}{key}")
        columns.append(func.max(case((RunConfigKV.key == key, value), else_=None)).label(label))
    return (
        select(*columns)
        .where(RunConfigKV.namespace == namespace)
        .group_by(RunConfigKV.run_id)
        .subquery(f"facets_{namespace}")
    )
