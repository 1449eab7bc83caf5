"""Writing a :class:`WriteBatch` inside an open transaction, and keeping the cache index.

Every table is written with multi-row statements, never row by row. Upserts are
delete-then-insert and insert-or-ignore is read-then-insert: in DuckDB an ``ON CONFLICT``
clause costs ~4 ms per statement, while the reads are indexed point lookups that also tell
the cache index what changed. All lookups are ``IN`` lists on indexed columns, so the cost
of a flush does not grow with the size of the database. Facet documents and their
key/value rows are written by :mod:`consist.adapters.stores.sql.facets` in the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consist.adapters.stores.sql import statements as sql
from consist.adapters.stores.sql.facets import plan_facets, write_facets
from consist.adapters.stores.sql.ops import Insert, Select, chunks, insert_values, select_in
from consist.adapters.stores.sql.rows import (
    Row,
    artifact_to_row,
    encode_outputs_snapshot,
    encode_run_snapshot,
    link_to_row,
    run_to_row,
    ts_in,
    ts_out,
)
from consist.core.cache import is_reusable, reusable
from consist.core.model import Direction, Run
from consist.core.ports.store import WriteBatch
from consist.core.tables import SCHEMA_COLUMNS, SCHEMA_ID

LinkKey = tuple[str, str, str, str]  # (run_id, artifact_id, direction, key)

_SIGNATURE = sql.RUN_COLUMNS.index("signature")
_CREATED_AT = sql.RUN_COLUMNS.index("created_at")
_PRODUCER = sql.ARTIFACT_COLUMNS.index("run_id")
_ARTIFACT_CREATED_AT = sql.ARTIFACT_COLUMNS.index("created_at")
_OUTPUT = Direction.OUTPUT.value


@dataclass(frozen=True, slots=True)
class IndexChange:
    """How a batch changed the cache index: the run ids whose entries went, then the
    entries written (rows in the cache index's column order)."""

    obsolete: list[str]
    entries: list[Row]

    def __bool__(self) -> bool:
        return bool(self.obsolete or self.entries)


def write_batch(
    conn: Any, batch: WriteBatch, insert: Insert = insert_values, select: Select = select_in
) -> IndexChange:
    """Write ``batch`` through ``conn``; the caller owns BEGIN/COMMIT/ROLLBACK.

    Parameters
    ----------
    conn : DB-API connection
        A connection whose ``execute(sql, params)`` takes qmark parameters.
    batch : WriteBatch
        Runs are upserted (the last state of a run id in the batch wins), artifacts and
        links are inserted unless they exist, then unlinks are deleted.
    insert : callable, optional
        How to insert new rows; a store may pass a faster driver-specific bulk path.
    select : callable, optional
        How to read rows by a long list of keys (used for facet documents); a store may
        pass a faster driver-specific path.

    Returns
    -------
    IndexChange
        What changed in the cache index (for a store keeping a copy of it).
    """
    # A key may appear only once per statement, so duplicates are resolved here: the last
    # state of a run, the earliest row of an artifact, the first of a link.
    runs = list({run.id: run for run in batch.runs}.values())
    facets = plan_facets(runs)
    run_rows = [run_to_row(run, facets.ids.get(run.id)) for run in runs]
    was_indexed, previous = _replace_runs(conn, runs, run_rows, insert)
    write_facets(conn, runs, facets, previous, insert, select)
    artifact_rows = _insert_artifacts(conn, batch, insert)
    # The cache index holds exactly the reusable runs (the core's rule) that have a
    # signature to be found by; find_cached only reads it.
    targets = {
        run.id: row
        for run, row in zip(runs, run_rows, strict=True)
        if run.signature is not None and is_reusable(run)
    }
    link_state = _write_links(conn, batch, targets.keys(), insert)
    return _refresh_cache_index(
        conn, runs, targets, was_indexed, link_state, artifact_rows, batch, insert
    )


def _replace_runs(
    conn: Any, runs: list[Run], rows: list[Row], insert: Insert
) -> tuple[set[str], dict[str, tuple[str, str | None]]]:
    """Upsert ``runs``.

    Returns the ids whose previous state was in the cache index, and ``run id ->
    (model_name, facet_id)`` of every run that existed before (for its facet rows).
    """
    if not runs:
        return set(), {}
    old: list[Row] = []
    for chunk in chunks([run.id for run in runs], sql.MAX_ROWS):
        old.extend(conn.execute(sql.delete_runs_returning(len(chunk)), list(chunk)).fetchall())
    insert(conn, "run", rows)
    # The old state of a run was indexed iff the same rule held for it, read off the
    # columns the delete returned (the ``cache_hit`` column is ``Run.cache_hit``).
    was_indexed = {
        run_id
        for run_id, status, signature, cache_hit, _, _ in old
        if signature is not None and reusable(status, bool(cache_hit))
    }
    return was_indexed, {row[0]: (row[4], row[5]) for row in old}


def _insert_artifacts(conn: Any, batch: WriteBatch, insert: Insert) -> dict[str, Row]:
    """Insert the batch's new artifacts; return every batch artifact's row as stored.

    An artifact keeps the earliest ``created_at`` it was recorded with. A raw input shared by
    several runs is in each run's snapshot with the time that run saw it, and a rebuild
    reads snapshots in name order, not in time order: keeping the first row met would move
    the input's creation time to whichever run's id sorts first.
    """
    if not batch.artifacts:
        return {}
    wanted: dict[str, Row] = {}
    for artifact in batch.artifacts:
        row = artifact_to_row(artifact)
        kept = wanted.get(artifact.id)
        if kept is None or _earlier(row, kept):
            wanted[artifact.id] = row
    stored = {
        row[0]: row for row in select_in(conn, "artifact", sql.ARTIFACT_COLUMNS, "id", wanted)
    }
    # Stored rows met with an earlier time (a rebuild over runs of several chunks) are
    # rewritten with it, delete-then-insert like a run; everything else about them is kept.
    older = {
        artifact_id: old[:_ARTIFACT_CREATED_AT]
        + (wanted[artifact_id][_ARTIFACT_CREATED_AT],)
        + old[_ARTIFACT_CREATED_AT + 1 :]
        for artifact_id, old in stored.items()
        if _earlier(wanted[artifact_id], old)
    }
    if older:
        for chunk in chunks(list(older), sql.MAX_ROWS):
            conn.execute(sql.delete_where_in("artifact", "id", len(chunk)), list(chunk))
        insert(conn, "artifact", list(older.values()))
        stored.update(older)
    new = [row for artifact_id, row in wanted.items() if artifact_id not in stored]
    if new:
        insert(conn, "artifact", new)
        added = {row[0] for row in new}
        insert_schemas(
            conn,
            {
                a.meta[SCHEMA_ID]: (a.meta[SCHEMA_COLUMNS], a.created_at)
                for a in batch.artifacts
                if a.id in added and SCHEMA_COLUMNS in a.meta and SCHEMA_ID in a.meta
            },
            insert,
        )
    stored.update((row[0], row) for row in new)
    return stored


def _earlier(row: Row, than: Row) -> bool:
    """Whether artifact ``row`` was created before ``than`` (a stored row may hold its time
    as text, on SQLite)."""
    mine, theirs = ts_in(row[_ARTIFACT_CREATED_AT]), ts_in(than[_ARTIFACT_CREATED_AT])
    return mine is not None and theirs is not None and mine < theirs


def insert_schemas(
    conn: Any, schemas: dict[str, tuple[str, datetime]], insert: Insert = insert_values
) -> None:
    """Store captured column schemas ``{id: (columns JSON, created at)}``, each id once."""
    if not schemas:
        return
    known = {row[0] for row in select_in(conn, "table_schema", ("id",), "id", schemas)}
    rows = [(i, text, ts_out(at)) for i, (text, at) in schemas.items() if i not in known]
    if rows:
        insert(conn, "table_schema", rows)


def _write_links(
    conn: Any, batch: WriteBatch, candidates: Iterable[str], insert: Insert
) -> dict[str, dict[LinkKey, Row]]:
    """Insert new links and delete unlinks; return the resulting links of every run involved.

    The runs involved are those of the batch's links and unlinks plus the cache
    candidates, whose outputs the cache index needs.
    """
    links: dict[LinkKey, Row] = {}
    for link in batch.links:
        row = link_to_row(link)
        links.setdefault(row[:4], row)
    unlinks = {link_to_row(link)[:4] for link in batch.unlinks}
    scope = {key[0] for key in links} | {key[0] for key in unlinks} | set(candidates)
    if not scope:
        return {}
    state: dict[str, dict[LinkKey, Row]] = {run_id: {} for run_id in scope}
    for row in select_in(conn, "run_artifact_link", sql.LINK_COLUMNS, "run_id", scope):
        state[row[0]][row[:4]] = row
    new = [row for key, row in links.items() if key not in state[key[0]]]
    if new:
        insert(conn, "run_artifact_link", new)
        for row in new:
            state[row[0]][row[:4]] = row
    gone = [key for key in unlinks if key in state[key[0]]]
    for chunk in chunks(gone, sql.MAX_ROWS):
        conn.execute(sql.delete_links(len(chunk)), [value for key in chunk for value in key])
    for key in gone:
        del state[key[0]][key]
    return state


def _refresh_cache_index(
    conn: Any,
    runs: list[Run],
    targets: dict[str, Row],
    was_indexed: set[str],
    link_state: dict[str, dict[LinkKey, Row]],
    artifact_rows: dict[str, Row],
    batch: WriteBatch,
    insert: Insert,
) -> IndexChange:
    """Re-derive the cache-index rows of every run whose state or outputs this batch changed.

    ``targets`` are the batch's cache candidates (run id -> row); ``was_indexed`` are batch
    runs that had an entry before. Runs outside the batch whose output links changed keep
    their run snapshot and get their outputs re-derived, if they are indexed at all.
    """
    batch_ids = {run.id for run in runs}
    touched = {
        link.run_id
        for link in (*batch.links, *batch.unlinks)
        if link.direction == Direction.OUTPUT and link.run_id not in batch_ids
    }
    indexed: dict[str, tuple[Any, Any, Any]] = {}
    if touched:
        columns = ("run_id", "signature", "created_at", "run_json")
        for run_id, *entry in select_in(conn, "cache_index", columns, "run_id", touched):
            indexed[run_id] = tuple(entry)  # type: ignore[assignment]
    obsolete = list(was_indexed | indexed.keys())
    for chunk in chunks(obsolete, sql.MAX_ROWS):
        conn.execute(sql.delete_where_in("cache_index", "run_id", len(chunk)), list(chunk))
    if not targets and not indexed:
        return IndexChange(obsolete, [])

    outputs = {
        run_id: {
            row[3]: row[1] for key, row in link_state.get(run_id, {}).items() if key[2] == _OUTPUT
        }
        for run_id in (*targets, *indexed)
    }
    wanted = {aid for by_key in outputs.values() for aid in by_key.values()}
    missing = wanted - artifact_rows.keys()
    if missing:
        found = select_in(conn, "artifact", sql.ARTIFACT_COLUMNS, "id", missing)
        artifact_rows = {**artifact_rows, **{row[0]: row for row in found}}
    known = {run.id: run.signature for run in runs}
    known.update((run_id, entry[0]) for run_id, entry in indexed.items())
    producers = _signatures(
        conn, known, {artifact_rows[a][_PRODUCER] for a in wanted if a in artifact_rows}
    )

    entries: list[Row] = []
    for run_id, by_key in outputs.items():
        snapshot = encode_outputs_snapshot(
            {
                key: (artifact_rows[aid], producers.get(artifact_rows[aid][_PRODUCER]))
                for key, aid in by_key.items()
                if aid in artifact_rows  # a link may precede its artifact row
            }
        )
        if run_id in targets:
            row = targets[run_id]
            entries.append(
                (run_id, row[_SIGNATURE], row[_CREATED_AT], encode_run_snapshot(row), snapshot)
            )
        else:
            # The stored values go back exactly as the driver returned them.
            signature, created_at, run_json = indexed[run_id]
            entries.append((run_id, signature, created_at, run_json, snapshot))
    insert(conn, "cache_index", entries)
    return IndexChange(obsolete, entries)


def _signatures(
    conn: Any, known: dict[str, str | None], run_ids: set[str | None]
) -> dict[str, str | None]:
    """Signatures of ``run_ids``, from ``known`` where possible, else from the run table."""
    missing = run_ids - known.keys() - {None}
    if not missing:
        return known
    found = select_in(conn, "run", ("id", "signature"), "id", missing)
    return {**known, **dict(found)}  # type: ignore[arg-type]
