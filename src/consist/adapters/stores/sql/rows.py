"""Mapping between domain values (:class:`Run`, :class:`Artifact`, :class:`Link`) and rows.

Row tuples follow the column order of :mod:`consist.adapters.stores.sql.statements`.
Timestamps go in as naive UTC and come out as aware UTC; ``tags``, ``meta`` and ``config``
go in as JSON text. A run's facet is not in its row, only the id of its document (see
:mod:`consist.adapters.stores.sql.facets`), so :func:`row_to_run` leaves ``facet`` None for the
store to fill in. Drivers that hand timestamps back as ISO strings (SQLite) are accepted
too, which is also how the JSON snapshots of the cache index are read.
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from consist.adapters.stores.sql.statements import RUN_COLUMNS
from consist.core.model import Artifact, Direction, Link, Run, RunStatus
from consist.core.tables import stored_meta

Row = tuple[Any, ...]


def _json_default(value: Any) -> Any:
    # Values that are not JSON (paths, dates, enums, sets) are stored in their usual text
    # form rather than failing a background flush; they read back as that text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)  # paths, decimals, UUIDs and anything else with a text form


# One encoder for the process: json.dumps with options builds a new encoder on every call,
# which dominated the Python cost of writing a batch.
_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (non-JSON values degrade to their text form)."""
    return _ENCODER.encode(value)


def ts_out(value: datetime | None) -> datetime | None:
    """A naive UTC datetime for storage; naive input is taken to be UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def ts_in(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from a stored naive UTC value (or its ISO text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def run_to_row(run: Run, facet_id: str | None = None) -> Row:
    """The row of ``run`` in :data:`RUN_COLUMNS` order; ``facet_id`` names its facet document."""
    meta = run.meta or {}
    return (
        run.id,
        run.model_name,
        RunStatus(run.status).value,
        run.parent_run_id,
        run.year,
        run.iteration,
        dumps(list(run.tags)),
        run.description,
        run.signature,
        run.code_digest,
        run.config_digest,
        run.inputs_digest,
        run.code_identity,
        run.cache_epoch,
        run.cache_hit,
        meta.get("cache_source"),
        None if run.config is None else dumps(run.config),
        facet_id,
        dumps(meta),
        run.error,
        ts_out(run.created_at),
        ts_out(run.started_at),
        ts_out(run.ended_at),
        run.duration_seconds,
        run.artifact_dir,
        run.host,
        run.pid,
        run.arguments_digest,
        None if run.identity is None else dumps(run.identity),
    )


_STATUS = {status.value: status for status in RunStatus}
_CONFIG, _META = RUN_COLUMNS.index("config_json"), RUN_COLUMNS.index("meta_json")
_IDENTITY = RUN_COLUMNS.index("identity_json")


def _tags(text: str | None) -> list[str]:
    # Most runs have no tags: skip the JSON parser for the empty list (lists of 50 000 runs
    # decode every row).
    return [] if not text or text == "[]" else list(json.loads(text))


def row_to_run(row: Row) -> Run:
    """The :class:`Run` of a row in :data:`RUN_COLUMNS` order (``facet`` left None)."""
    return rows_to_runs([row])[0]


def _decode_each(texts: list[str | None]) -> list[Any]:
    """The JSON documents of ``texts`` (None stays None), parsed in one call.

    One parse of ``[doc,doc,…]`` costs about half of one ``json.loads`` per document, which
    is most of what listing tens of thousands of runs spends in Python.
    """
    present = [text for text in texts if text]
    documents = None
    if len(present) > 1:  # one document (a single run's row) is parsed as it is
        with suppress(ValueError):
            documents = json.loads("[" + ",".join(present) + "]")
    if documents is None or len(documents) != len(present):
        # A damaged document (one holding "1, 2" would shift every later one): parse one
        # by one, so that its own error surfaces.
        documents = [json.loads(text) for text in present]
    parsed = iter(documents)
    return [next(parsed) if text else None for text in texts]


def rows_to_runs(rows: list[Row]) -> list[Run]:
    """The runs of many rows (as :func:`row_to_run`, ``facet`` left None), decoded in bulk."""
    configs = _decode_each([row[_CONFIG] for row in rows])
    metas = _decode_each([row[_META] for row in rows])
    identities = _decode_each([row[_IDENTITY] for row in rows])
    runs = []
    append = runs.append
    for row, config, meta, identity in zip(rows, configs, metas, identities, strict=True):
        (
            id_, model_name, status, parent_run_id, year, iteration, tags, description,
            signature, code_digest, config_digest, inputs_digest, code_identity, cache_epoch,
            _cache_hit, _cache_source, _config_json, _facet_id, _meta_json, error, created_at,
            started_at, ended_at, _duration, artifact_dir, host, pid, arguments_digest,
            _identity_json,
        ) = row  # fmt: skip
        append(
            Run(
                id_,
                model_name,
                _STATUS[status],
                ts_in(created_at),  # type: ignore[arg-type]
                signature,
                code_digest,
                config_digest,
                inputs_digest,
                code_identity,
                cache_epoch if cache_epoch is not None else 0,
                parent_run_id,
                year,
                iteration,
                _tags(tags),
                description,
                config,
                None,
                meta if meta is not None else {},
                ts_in(started_at),
                ts_in(ended_at),
                error,
                artifact_dir,
                host,
                pid,
                arguments_digest,
                identity,
            )
        )
    return runs


def artifact_to_row(artifact: Artifact) -> Row:
    """The row of ``artifact`` in :data:`ARTIFACT_COLUMNS` order."""
    return (
        artifact.id,
        artifact.key,
        artifact.uri,
        artifact.driver,
        artifact.digest,
        artifact.size,
        artifact.run_id,
        dumps(stored_meta(artifact.meta)),
        ts_out(artifact.created_at),
    )


def row_to_artifact(row: Row, producer_signature: str | None = None) -> Artifact:
    """The :class:`Artifact` of a row in :data:`ARTIFACT_COLUMNS` order."""
    id_, key, uri, driver, digest, size, run_id, meta_json, created_at = row
    return Artifact(
        id=id_,
        key=key,
        uri=uri,
        driver=driver,
        digest=digest,
        size=size,
        run_id=run_id,
        created_at=ts_in(created_at),  # type: ignore[arg-type]
        meta=json.loads(meta_json) if meta_json else {},
        producer_signature=producer_signature,
    )


def link_to_row(link: Link) -> Row:
    """The row of ``link`` in ``(run_id, artifact_id, direction, key)`` order."""
    return (link.run_id, link.artifact_id, Direction(link.direction).value, link.key)


def _plain(row: Row) -> list[Any]:
    return [v.isoformat() if isinstance(v, datetime) else v for v in row]


def encode_run_snapshot(run_row: Row) -> str:
    """JSON snapshot of a run row for the cache index.

    The run is keyed by column name so a snapshot written before a schema migration added
    a column still decodes.
    """
    return dumps(dict(zip(RUN_COLUMNS, _plain(run_row), strict=True)))


def encode_outputs_snapshot(outputs: dict[str, tuple[Row, str | None]]) -> str:
    """JSON snapshot of a run's outputs ``{key: (artifact row, producer signature)}``."""
    return dumps({key: [_plain(row), producer] for key, (row, producer) in outputs.items()})


def decode_cache_entry(run_json: str, outputs_json: str) -> tuple[Run, dict[str, Artifact]]:
    """The run and its outputs by key from the two snapshots of a cache-index row.

    The snapshot keeps the run's ``facet_id`` but not its document, so the run's ``facet``
    is None: a cache lookup stays one indexed read, and reuse never depends on a facet.
    """
    fields = json.loads(run_json)
    run = row_to_run(tuple(fields.get(c) for c in RUN_COLUMNS))
    outputs = {
        key: row_to_artifact(tuple(row), producer)
        for key, (row, producer) in json.loads(outputs_json).items()
    }
    return run, outputs
