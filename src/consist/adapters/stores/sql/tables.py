"""SQLModel table classes: the one definition of the SQL schema.

They are used to compile DDL when a database is created and, re-exported as
``consist.models``, to let users write ``select(Run).where(Run.model_name == "x")``. The
store's hot path never touches them: it speaks hand-written SQL in
:mod:`consist.adapters.stores.sql.statements`, whose column lists must match these classes
(a test checks that they do).

Timestamps are stored as naive UTC ``TIMESTAMP`` and read back (here and in the raw path) as
timezone-aware UTC datetimes. JSON values are stored as text so that every SQL dialect can
hold them. There are no foreign keys on purpose: the library writes links and the runs they
point at in separate batches, and upserting a referenced run would violate them in DuckDB.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Double, Index, MetaData
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = [
    "Artifact",
    "CacheIndexEntry",
    "ConfigFacet",
    "ConsistMeta",
    "ConsistTable",
    "Ingestion",
    "Run",
    "RunArtifactLink",
    "RunConfigKV",
    "TableSchemaRecord",
]


class UtcTimestamp(TypeDecorator[datetime]):
    """A naive ``TIMESTAMP`` column holding UTC, exposed as aware UTC datetimes."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class ConsistTable(SQLModel):
    """Base of Consist's tables; a private MetaData keeps them apart from users' tables."""

    metadata = MetaData()


class Run(ConsistTable, table=True):
    """One execution (or cache hit) of a step; ``cache_source`` names the source of a hit."""

    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_signature", "signature"),
        Index("ix_run_model_name", "model_name"),
        Index("ix_run_parent_run_id", "parent_run_id"),
    )

    id: str = Field(primary_key=True)
    model_name: str
    status: str
    parent_run_id: str | None = None
    year: int | None = None
    iteration: int | None = None
    tags: str | None = Field(default=None, description="JSON array of strings")
    description: str | None = None
    signature: str | None = None
    code_digest: str | None = None
    config_digest: str | None = None
    inputs_digest: str | None = None
    code_identity: str | None = None
    cache_epoch: int = 0
    cache_hit: bool = False
    cache_source: str | None = None
    config_json: str | None = None
    # The run's facet document in config_facet (None: no facet); its flattened values are
    # in run_config_kv.
    facet_id: str | None = None
    meta_json: str | None = None
    error: str | None = None
    created_at: datetime = Field(sa_type=UtcTimestamp)
    started_at: datetime | None = Field(default=None, sa_type=UtcTimestamp)
    ended_at: datetime | None = Field(default=None, sa_type=UtcTimestamp)
    duration_seconds: float | None = Field(default=None, sa_type=Double)
    artifact_dir: str | None = None
    host: str | None = None
    pid: int | None = None
    # Digest of the values bound to the call (fn_args, partial arguments, a bound self).
    arguments_digest: str | None = None
    # JSON: what the identity was built from beyond the config (arguments, captured values).
    identity_json: str | None = None


class Artifact(ConsistTable, table=True):
    """A file or table recorded by Consist; ``run_id`` is the run that produced it."""

    __tablename__ = "artifact"
    __table_args__ = (
        Index("ix_artifact_run_id", "run_id"),
        Index("ix_artifact_key", "key"),
    )

    id: str = Field(primary_key=True)
    key: str
    uri: str
    driver: str | None = None
    digest: str | None = None
    size: int | None = Field(default=None, sa_type=BigInteger)
    run_id: str | None = None
    meta_json: str | None = None
    created_at: datetime = Field(sa_type=UtcTimestamp)


class RunArtifactLink(ConsistTable, table=True):
    """A run consumed (``direction='input'``) or produced (``'output'``) an artifact."""

    __tablename__ = "run_artifact_link"
    # The composite primary key is not used for run_id-only lookups by DuckDB, so the
    # run_id index is what keeps get_run_artifacts flat with database size.
    __table_args__ = (
        Index("ix_run_artifact_link_run_id", "run_id"),
        Index("ix_run_artifact_link_artifact_id", "artifact_id"),
    )

    run_id: str = Field(primary_key=True)
    artifact_id: str = Field(primary_key=True)
    direction: str = Field(primary_key=True)
    # Part of the key: one artifact may be consumed under two keys by the same run.
    key: str = Field(primary_key=True)


class ConfigFacet(ConsistTable, table=True):
    """A queryable slice of a run's config, stored once per distinct content.

    ``id`` is a hash of the document's canonical JSON, so a sweep that repeats parameter
    combinations stores each combination once; ``namespace`` is the model of the first run
    that recorded it and ``created_at`` that run's creation time.
    """

    __tablename__ = "config_facet"

    id: str = Field(primary_key=True)
    namespace: str
    facet_json: str
    created_at: datetime = Field(sa_type=UtcTimestamp)


class RunConfigKV(ConsistTable, table=True):
    """One flattened ``key = value`` of a run's config facet, typed for filtering."""

    __tablename__ = "run_config_kv"
    __table_args__ = (
        Index("ix_run_config_kv_run_id", "run_id"),
        Index("ix_run_config_kv_namespace_key", "namespace", "key"),
    )

    run_id: str = Field(primary_key=True)
    namespace: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    facet_id: str | None = None
    value_type: str
    value_str: str | None = None
    value_num: float | None = Field(default=None, sa_type=Double)
    value_bool: bool | None = None
    value_json: str | None = None


class CacheIndexEntry(ConsistTable, table=True):
    """Derived data: one row per run that a cache lookup may return (internal).

    DuckDB has no index nested-loop join, so "newest run with this signature plus its
    outputs" as a join scans whole tables. The store keeps here, per completed executed
    run, a JSON snapshot of the run and of its outputs, so a lookup is one indexed read.
    """

    __tablename__ = "cache_index"
    __table_args__ = (Index("ix_cache_index_signature", "signature"),)

    run_id: str = Field(primary_key=True)
    signature: str
    created_at: datetime = Field(sa_type=UtcTimestamp)
    run_json: str
    outputs_json: str


class ConsistMeta(ConsistTable, table=True):
    """Key/value facts about the database itself, e.g. ``schema_version``."""

    __tablename__ = "consist_meta"

    key: str = Field(primary_key=True)
    value: str


class TableSchemaRecord(ConsistTable, table=True):
    """A captured column schema, stored once per distinct content (``id`` is its digest).

    ``columns_json`` is ``[[name, logical type, nullable], ...]``; artifacts point at it with
    ``meta_json.schema_id``, ingestions with ``schema_id``.
    """

    __tablename__ = "table_schema"

    id: str = Field(primary_key=True)
    columns_json: str
    created_at: datetime = Field(sa_type=UtcTimestamp)


class Ingestion(ConsistTable, table=True):
    """An artifact's rows were loaded into hot table ``table_name`` (once per pair)."""

    __tablename__ = "ingestion"

    artifact_id: str = Field(primary_key=True)
    table_name: str = Field(primary_key=True)
    run_id: str | None = None
    schema_id: str | None = None
    row_count: int = Field(default=0, sa_type=BigInteger)
    ingested_at: datetime = Field(sa_type=UtcTimestamp)
