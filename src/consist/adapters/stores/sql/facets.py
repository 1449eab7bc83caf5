"""Facets in SQL: content-addressed documents, typed key/value rows and typed filters.

A run's facet is stored twice, each shape serving one kind of question:

* ``config_facet`` holds the whole document once per distinct content (its id is a hash of
  the canonical JSON), so a sweep that repeats parameter combinations stores each one once
  and a run carries only ``run.facet_id``;
* ``run_config_kv`` holds one row per flattened leaf (``{"solver": {"tol": 0.1}}`` gives the
  key ``solver.tol``) with its value in a column of its type, so filters and pivots are
  plain column comparisons that neither parse JSON nor confuse ``True`` with ``1``.

Everything here follows the writer's cost profile: one read and one bulk insert per table
and batch, one ``DELETE ... IN`` per chunk of re-recorded runs, no statement per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consist.adapters.stores.sql import statements as sql
from consist.adapters.stores.sql.ops import Insert, Row, Select, chunks, select_in
from consist.adapters.stores.sql.rows import ts_out
from consist.core.facets import content_id, flatten, typed_leaf
from consist.core.facets import document_json as canonical_json
from consist.core.model import Run

#: ``(value_type, value_str, value_num, value_bool, value_json)`` of one flattened leaf.
Typed = tuple[str, str | None, float | None, bool | None, str | None]

#: Integers beyond this magnitude do not survive a 64-bit DOUBLE exactly; they are kept as


# One encoder for the process (json.dumps with options builds one per call). ``default=str``
# turns anything that is not JSON into its text, as the facet id's definition requires.
def typed(value: Any) -> Typed:
    """Where a leaf (or a filter value) lives in ``run_config_kv``: one typed column set."""
    kind, leaf = typed_leaf(value)
    return (
        kind,
        leaf if kind == "str" else None,
        leaf if kind == "num" else None,
        leaf if kind == "bool" else None,
        leaf if kind == "json" else None,
    )


def filter_clause(key: str, value: Any) -> tuple[str, list[Any]]:
    """The ``find_runs`` condition matching runs whose leaf ``key`` equals ``value``."""
    kind, text, number, flag, document = typed(value)
    bound = {"str": text, "num": number, "bool": flag, "json": document}
    params: list[Any] = [key] if kind == "null" else [key, bound[kind]]
    return sql.FACET_FILTERS[kind], params


@dataclass(slots=True)
class FacetPlan:
    """The facet documents of a batch: which document each run points at.

    ``documents`` maps a facet id to ``(canonical JSON, namespace, created_at)`` of the first
    run in the batch that carries it.
    """

    ids: dict[str, str] = field(default_factory=dict)
    documents: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)


def plan_facets(runs: Sequence[Run]) -> FacetPlan:
    """Canonicalise and hash each run's facet once (equal documents hash once per batch)."""
    plan = FacetPlan()
    by_text: dict[str, str] = {}
    for run in runs:
        if run.facet is None:
            continue
        text = canonical_json(run.facet)
        facet_id = by_text.get(text)
        if facet_id is None:
            facet_id = by_text[text] = content_id(text)
            plan.documents[facet_id] = (text, run.model_name, run.created_at)
        plan.ids[run.id] = facet_id
    return plan


def write_facets(
    conn: Any,
    runs: Sequence[Run],
    plan: FacetPlan,
    previous: dict[str, tuple[str, str | None]],
    insert: Insert,
    select: Select = select_in,
) -> None:
    """Insert the batch's new facet documents and bring ``run_config_kv`` up to date.

    ``previous`` is ``run id -> (model_name, facet_id)`` of the rows the batch replaced.
    A run whose namespace and document are unchanged keeps its key/value rows untouched
    (they are a function of both), which is the usual running-then-completed upsert; a run
    whose facet changed or went away has its rows deleted, then the new ones inserted.
    """
    if plan.documents:
        stored = {row[0] for row in select(conn, "config_facet", ("id",), "id", plan.documents)}
        new = [
            (facet_id, namespace, text, ts_out(created_at))
            for facet_id, (text, namespace, created_at) in plan.documents.items()
            if facet_id not in stored
        ]
        if new:
            insert(conn, "config_facet", new)

    current = {run.id: (run.model_name, plan.ids.get(run.id)) for run in runs}
    stale = [
        run_id
        for run_id, (namespace, facet_id) in previous.items()
        if facet_id is not None and current.get(run_id) != (namespace, facet_id)
    ]
    for chunk in chunks(stale, sql.MAX_ROWS):
        conn.execute(sql.delete_where_in("run_config_kv", "run_id", len(chunk)), list(chunk))

    leaves: dict[str, list[tuple[str, Typed]]] = {}
    rows: list[Row] = []
    for run in runs:
        facet_id = plan.ids.get(run.id)
        if facet_id is None or previous.get(run.id) == current[run.id]:
            continue
        if facet_id not in leaves:
            # Flatten the stored text, not the live object: the rows then describe exactly
            # the document that reads back (tuples as lists, non-JSON values as text).
            document = json.loads(plan.documents[facet_id][0])
            leaves[facet_id] = [(k, typed(v)) for k, v in flatten(document).items()]
        rows.extend(
            (run.id, run.model_name, key, facet_id, *value) for key, value in leaves[facet_id]
        )
    if rows:
        insert(conn, "run_config_kv", rows)


def read_facets(
    conn: Any, facet_ids: Iterable[str | None], select: Select = select_in
) -> dict[str, str]:
    """``facet id -> facet_json`` for the given ids (None skipped).

    A second query on the ids rather than a join in the run query: the documents a result
    needs are few and shared, and for a single run (``get_run``) a join would read every
    document while this is a primary-key lookup.
    """
    wanted = {facet_id for facet_id in facet_ids if facet_id is not None}
    if not wanted:
        return {}
    return dict(select(conn, "config_facet", ("id", "facet_json"), "id", wanted))  # type: ignore[arg-type]
