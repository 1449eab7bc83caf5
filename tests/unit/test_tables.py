"""The pure table rules: schemas, names, view plans, and rebuilds in hydration plans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.core.errors import InvalidKeyError, MissingBytesError
from consist.core.hydration import plan_missing_inputs
from consist.core.model import Artifact
from consist.core.tables import (
    SCHEMA_COLUMNS,
    SCHEMA_ID,
    Column,
    Provenance,
    TableSchema,
    ViewSource,
    check_table_name,
    plan_view,
    stored_meta,
    unknown_columns,
)

MODEL = TableSchema((Column("person_id", "integer"), Column("age", "integer")))
columns = st.lists(
    st.tuples(st.text(min_size=1), st.sampled_from(["integer", "string", "float", "other"])),
    max_size=6,
)


@given(columns)
def test_schema_json_round_trips_and_ids_follow_content(pairs: list[tuple[str, str]]) -> None:
    schema = TableSchema(tuple(Column(n, t) for n, t in pairs))
    again = TableSchema.from_json(schema.to_json())
    assert again == schema and again.id == schema.id
    renamed = TableSchema((*schema.columns, Column("\x01extra", "string")))
    assert renamed.id != schema.id


def test_table_names_are_checked() -> None:
    assert check_table_name('odd "name" 1') == 'odd "name" 1'
    for bad in ("", "   ", "a\x00b", "consist_run", 3, "x" * 121):
        with pytest.raises(InvalidKeyError):
            check_table_name(bad)


def test_unknown_columns_ignore_system_columns() -> None:
    observed = ["person_id", "income", "consist_run_id", "age", "zone"]
    assert unknown_columns(MODEL, observed) == ["income", "zone"]


def test_captured_columns_are_not_part_of_stored_meta() -> None:
    meta = {"schema": "person", SCHEMA_ID: "abc", SCHEMA_COLUMNS: "[]"}
    assert stored_meta(meta) == {"schema": "person", SCHEMA_ID: "abc"}
    assert stored_meta(None) == {}


def source(artifact_id: str, path: str | None, *, ingested: bool = False) -> ViewSource:
    return ViewSource(
        artifact_id,
        "persons",
        f"workspace://{artifact_id}",
        "parquet",
        Provenance(artifact_id, "run"),
        ingested=ingested,
        path=Path(path) if path else None,
    )


def test_view_plan_reads_files_once_and_routes_the_rest() -> None:
    sources = [
        source("a1", "/w/same.parquet"),  # rewritten in place by a2: only a2's bytes exist
        source("a2", "/w/same.parquet"),
        source("hot", "/w/hot.parquet", ingested=True),
        source("gone", None),
        source("glob", "/w/odd[1].parquet"),
    ]
    plan, to_ingest = plan_view(
        "v_person", "person", MODEL, sources, lambda s: "[" not in str(s.path)
    )
    assert [s.artifact_id for s in plan.files] == ["a2"]
    assert [s.artifact_id for s in to_ingest] == ["glob"]
    assert plan.files_by_driver() == {"parquet": list(plan.files)}


def test_view_fingerprint_changes_with_files_not_with_their_order() -> None:
    a, b = source("a", "/w/a.parquet"), source("b", "/w/b.parquet")

    def fingerprint(*sources: ViewSource) -> str:
        return plan_view("v", "t", MODEL, sources, lambda s: True)[0].fingerprint

    assert fingerprint(a, b) == fingerprint(b, a)
    assert fingerprint(a) != fingerprint(a, b)


def produced(key: str) -> Artifact:
    return Artifact(
        id=f"id-{key}",
        key=key,
        uri=f"workspace://{key}.parquet",
        driver="parquet",
        digest="d",
        size=1,
        run_id="producer",
        created_at=datetime.now(UTC),
    )


def test_missing_inputs_are_rebuilt_from_rows_when_copies_are_impossible() -> None:
    inputs = {"kept": produced("kept"), "ingested": produced("ingested")}
    plan = plan_missing_inputs(
        inputs,
        expected=lambda a: Path(f"/w/{a.key}.parquet"),
        exists=lambda p: False,
        locate=lambda a: Path("/elsewhere/kept.parquet") if a.key == "kept" else None,
        rebuildable=lambda a: a.key == "ingested",
    )
    assert [(c.key, c.source) for c in plan] == [
        ("kept", Path("/elsewhere/kept.parquet")),
        ("ingested", None),
    ]
    with pytest.raises(MissingBytesError):
        plan_missing_inputs(
            inputs,
            expected=lambda a: Path(f"/w/{a.key}.parquet"),
            exists=lambda p: False,
            locate=lambda a: None,
            rebuildable=lambda a: False,
        )
