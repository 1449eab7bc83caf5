"""Hand-written qmark SQL shared by every DB-API store (DuckDB and SQLite both speak it).

Identifiers come only from the constant column tuples below, never from callers; every value
is a ``?`` parameter. Statements that take a variable number of rows or ids are built by
cached functions so each shape is formatted once per process.
"""

from __future__ import annotations

from functools import lru_cache

RUN_COLUMNS: tuple[str, ...] = (
    "id", "model_name", "status", "parent_run_id", "year", "iteration", "tags",
    "description", "signature", "code_digest", "config_digest", "inputs_digest",
    "code_identity", "cache_epoch", "cache_hit", "cache_source", "config_json", "facet_id",
    "meta_json", "error", "created_at", "started_at", "ended_at", "duration_seconds",
    "artifact_dir", "host", "pid", "arguments_digest", "identity_json",
)  # fmt: skip
ARTIFACT_COLUMNS: tuple[str, ...] = (
    "id", "key", "uri", "driver", "digest", "size", "run_id", "meta_json", "created_at",
)  # fmt: skip
LINK_COLUMNS: tuple[str, ...] = ("run_id", "artifact_id", "direction", "key")
CACHE_COLUMNS: tuple[str, ...] = ("run_id", "signature", "created_at", "run_json", "outputs_json")
FACET_COLUMNS: tuple[str, ...] = ("id", "namespace", "facet_json", "created_at")
KV_COLUMNS: tuple[str, ...] = (
    "run_id", "namespace", "key", "facet_id", "value_type", "value_str", "value_num",
    "value_bool", "value_json",
)  # fmt: skip

SCHEMA_COLUMNS: tuple[str, ...] = ("id", "columns_json", "created_at")
INGESTION_COLUMNS: tuple[str, ...] = (
    "artifact_id", "table_name", "run_id", "schema_id", "row_count", "ingested_at",
)  # fmt: skip

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "run": RUN_COLUMNS,
    "artifact": ARTIFACT_COLUMNS,
    "run_artifact_link": LINK_COLUMNS,
    "cache_index": CACHE_COLUMNS,
    "config_facet": FACET_COLUMNS,
    "run_config_kv": KV_COLUMNS,
    "table_schema": SCHEMA_COLUMNS,
    "ingestion": INGESTION_COLUMNS,
}

# Most rows per multi-row statement: one statement per table and flush is what makes a
# batch cheap, but SQLite caps a statement at 32 766 parameters.
MAX_PARAMS = 32_000
MAX_ROWS = 256

_RUN_LIST = ", ".join(RUN_COLUMNS)
_ARTIFACT_LIST = ", ".join(ARTIFACT_COLUMNS)
FIND_ARTIFACTS = "SELECT " + ", ".join(f"artifact.{c}" for c in ARTIFACT_COLUMNS) + " FROM artifact"
# A run's outputs: what it produced, and what it handed back on a cache hit (linked only).
OUTPUT_OF = (
    "(artifact.run_id = ? OR EXISTS (SELECT 1 FROM run_artifact_link l "
    "WHERE l.artifact_id = artifact.id AND l.run_id = ? AND l.direction = 'output'))"
)
# An artifact the given run consumed: fixed text, the run id is bound.
CONSUMED_BY = (
    "EXISTS (SELECT 1 FROM run_artifact_link l WHERE l.artifact_id = artifact.id "
    "AND l.run_id = ? AND l.direction = 'input')"
)

GET_RUN = f"SELECT {_RUN_LIST} FROM run WHERE id = ?"

# Workspaces writing to a database, kept in consist_meta so that a tracker opened in one
# workspace can import what a dead process of another left pending.
WORKSPACE_PREFIX = "workspace:"
WORKSPACES = "SELECT key FROM consist_meta WHERE key LIKE 'workspace:%'"
ADD_WORKSPACE = "INSERT INTO consist_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
GET_ARTIFACT = f"SELECT {_ARTIFACT_LIST} FROM artifact WHERE id = ?"
GET_SIGNATURE = "SELECT signature FROM run WHERE id = ?"
GET_LINKS_OF_RUN = "SELECT direction, key, artifact_id FROM run_artifact_link WHERE run_id = ?"
# Only the indexed column is filtered in SQL: the candidate rows per signature are few,
# and picking the newest in Python avoids plans that abandon the index (ORDER BY ... LIMIT
# turns into a late-materialisation join in DuckDB).
FIND_CACHED = (
    "SELECT run_id, created_at, run_json, outputs_json FROM cache_index WHERE signature = ?"
)
FIND_RUNS_HEAD = f"SELECT {_RUN_LIST} FROM run"
FIND_RUNS_ORDER = " ORDER BY created_at DESC, id DESC"

# Filters of find_runs: RunQuery field -> SQL condition (fixed text, value bound).
RUN_FILTERS: dict[str, str] = {
    "model": "model_name = ?",
    "status": "status = ?",
    "parent_id": "parent_run_id = ?",
    "year": "year = ?",
    "iteration": "iteration = ?",
}

# Facet filters of find_runs: one flattened key compared in the column that holds its type
# (so True never equals 1 and "1" never equals 1). Key and value are bound; only the choice
# among these fixed texts depends on the value's Python type.
_KV_MATCH = "EXISTS (SELECT 1 FROM run_config_kv kv WHERE kv.run_id = run.id AND kv.key = ? AND "
FACET_FILTERS: dict[str, str] = {
    "str": _KV_MATCH + "kv.value_str = ?)",
    "num": _KV_MATCH + "kv.value_num = ?)",
    "bool": _KV_MATCH + "kv.value_bool = ?)",
    "json": _KV_MATCH + "kv.value_json = ?)",
    "null": _KV_MATCH + "kv.value_type = 'null')",
}


def rows_per_statement(n_columns: int) -> int:
    """How many rows of ``n_columns`` values one multi-row statement may carry."""
    return max(1, min(MAX_ROWS, MAX_PARAMS // n_columns))


@lru_cache(maxsize=256)
def insert_rows(table: str, n_rows: int) -> str:
    """``INSERT INTO table (...) VALUES (?, ...), ...`` for ``n_rows`` rows.

    There is deliberately no ``ON CONFLICT`` clause: in DuckDB it adds ~4 ms to every
    statement, so upserts are written as delete-then-insert and insert-or-ignore as
    read-then-insert, each a cheap indexed statement.
    """
    columns = TABLE_COLUMNS[table]
    group = "(" + ", ".join("?" * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([group] * n_rows)}"


@lru_cache(maxsize=256)
def select_where_in(table: str, columns: tuple[str, ...], key: str, n_ids: int) -> str:
    """``SELECT columns FROM table WHERE key IN (?, ...)`` for ``n_ids`` values."""
    marks = ", ".join("?" * n_ids)
    return f"SELECT {', '.join(columns)} FROM {table} WHERE {key} IN ({marks})"


@lru_cache(maxsize=64)
def delete_where_in(table: str, key: str, n_ids: int) -> str:
    """``DELETE FROM table WHERE key IN (?, ...)`` for ``n_ids`` values."""
    return f"DELETE FROM {table} WHERE {key} IN ({', '.join('?' * n_ids)})"


@lru_cache(maxsize=64)
def delete_runs_returning(n_ids: int) -> str:
    """Delete ``n_ids`` runs by id, returning what the cache index and the facet rows need
    of their old state."""
    marks = ", ".join("?" * n_ids)
    return (
        f"DELETE FROM run WHERE id IN ({marks}) "
        "RETURNING id, status, signature, cache_hit, model_name, facet_id"
    )


@lru_cache(maxsize=64)
def delete_links(n_links: int) -> str:
    """Delete ``n_links`` links, each matched on its full primary key."""
    one = "(run_id = ? AND artifact_id = ? AND direction = ? AND key = ?)"
    return f"DELETE FROM run_artifact_link WHERE {' OR '.join([one] * n_links)}"
