"""SQL table classes of the metadata database, for your own ``select(...)`` statements, and
``pivot_facets`` to turn facet key/values into columns.

>>> from sqlmodel import select
>>> from consist.models import Run
>>> consist.run_query(select(Run.id).where(Run.model_name == "simulate"), tracker=tracker)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import case, func, select

from consist.adapters.stores.sql.tables import (
    Artifact,
    ConfigFacet,
    Run,
    RunArtifactLink,
    RunConfigKV,
)
from consist.core.checks import check_text
from consist.core.errors import ArgumentError, ArgumentTypeError, OptionValueError

__all__ = ["Artifact", "ConfigFacet", "Run", "RunArtifactLink", "RunConfigKV", "pivot_facets"]

VALUE_COLUMNS = ("value_num", "value_str", "value_bool", "value_json")


def _value_column(name: str, key: str) -> Any:
    if name not in VALUE_COLUMNS:
        raise OptionValueError(
            "value column", name, VALUE_COLUMNS, f"(asked for facet key {key!r})"
        )
    return getattr(RunConfigKV, name)


def _names(value: Any, what: str) -> list[str]:
    """A list of strings (a bare string would be split into letters)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ArgumentTypeError(f"{what}={value!r:.80} must be a list of strings.")
    names = list(value)
    for name in names:
        if not isinstance(name, str):
            raise ArgumentTypeError(f"{what} holds {name!r:.80}; give strings.")
    return names


def pivot_facets(
    namespace: str | None = None,
    keys: Sequence[str] = (),
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
        The model whose runs' facets are pivoted; ``None``: the runs of every model.
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
    check_text(namespace, "namespace", optional=True)
    keys = [check_text(key, "a facet key in keys") or "" for key in _names(keys, "keys")]
    check_text(label_prefix, "label_prefix")
    check_text(run_id_label, "run_id_label")
    value_columns = dict(value_columns or {})
    label_map = dict(label_map or {})
    unknown = sorted(set(value_columns) - set(keys))
    if unknown:
        raise ArgumentError(
            f"value_columns names keys {unknown} that are not in keys={list(keys)}."
        )
    columns = [RunConfigKV.run_id.label(run_id_label)]
    for key in keys:
        value = _value_column(value_columns.get(key, value_column), key)
        label = label_map.get(key, f"{label_prefix}{key}")
        columns.append(func.max(case((RunConfigKV.key == key, value), else_=None)).label(label))
    statement = select(*columns)
    if namespace is not None:
        statement = statement.where(RunConfigKV.namespace == namespace)
    return statement.group_by(RunConfigKV.run_id).subquery(f"facets_{namespace or 'all'}")
