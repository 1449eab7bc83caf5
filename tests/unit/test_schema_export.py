"""SQLModel stubs rendered from captured schemas: valid, importable, mapping the real columns."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import typing
import warnings
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from consist.core.schema_export import render_sqlmodel
from consist.core.tables import Column, TableSchema

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _forget_tables() -> Iterator[None]:
    """Drop the tables the stubs added to SQLModel's shared metadata."""
    before = set(SQLModel.metadata.tables)
    yield
    for name in set(SQLModel.metadata.tables) - before:
        SQLModel.metadata.remove(SQLModel.metadata.tables[name])


def schema(*columns: str | tuple[str, str]) -> TableSchema:
    return TableSchema(
        tuple(Column(c, "integer") if isinstance(c, str) else Column(*c) for c in columns)
    )


def unique_table() -> str:
    return f"stub_table_{next(_counter)}"


def run_module(code: str) -> dict[str, typing.Any]:
    """Run the stub as its own module (no warnings allowed); return its namespace."""
    namespace: dict[str, typing.Any] = {"__name__": f"stub_{next(_counter)}"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # dont_inherit: not this file's `from __future__ import annotations`, as a real import.
        exec(compile(code, "<stub>", "exec", dont_inherit=True), namespace)
    return namespace


def load(code: str) -> type:
    """The one SQLModel class the stub defines."""
    (cls,) = [
        v
        for v in run_module(code).values()
        if isinstance(v, type) and issubclass(v, SQLModel) and v is not SQLModel
    ]
    return cls


def render(table: TableSchema, **kwargs: str) -> str:
    kwargs.setdefault("class_name", "Persons")
    kwargs.setdefault("table_name", unique_table())
    return render_sqlmodel(table, **kwargs)


def columns_of(cls: type) -> dict[str, typing.Any]:
    return {c.name: c for c in cls.__table__.columns}  # type: ignore[attr-defined]


def field_type(cls: type, attribute: str) -> typing.Any:
    (inner,) = [a for a in typing.get_args(cls.__annotations__[attribute]) if a is not type(None)]
    return inner


# -- a working class -------------------------------------------------------------------------


def test_stub_defines_a_table_class_with_the_table_name_and_columns() -> None:
    code = render(
        schema("person_id", ("name", "string"), ("height", "float")),
        class_name="Persons",
        table_name="persons_tbl",
    )
    compile(code, "<stub>", "exec", dont_inherit=True)
    cls = load(code)
    assert cls.__name__ == "Persons"
    assert cls.__tablename__ == "persons_tbl"
    assert list(columns_of(cls)) == ["person_id", "name", "height"]


@pytest.mark.parametrize(
    ("logical", "python", "sql"),
    [
        ("integer", int, "BigInteger"),
        ("float", float, "Float"),
        ("decimal", decimal.Decimal, "Numeric"),
        ("boolean", bool, "Boolean"),
        ("string", str, "String"),
        ("binary", bytes, "LargeBinary"),
        ("date", dt.date, "Date"),
        ("time", dt.time, "Time"),
        ("timestamp", dt.datetime, "DateTime"),
        ("interval", dt.timedelta, "Interval"),
        ("other", str, "String"),
    ],
)
def test_logical_types_map_to_python_and_sqlalchemy_types(
    logical: str, python: type, sql: str
) -> None:
    code = render(schema("id", ("value", logical), ("Odd Name", logical)))
    cls = load(code)
    assert field_type(cls, "value") is python
    assert field_type(cls, "odd_name") is python
    columns = columns_of(cls)
    assert type(columns["value"].type).__name__ == sql
    assert type(columns["Odd Name"].type).__name__ == sql
    assert columns["value"].nullable and columns["Odd Name"].nullable
    assert ("# captured type: other" in code) == (logical == "other")


def test_unknown_logical_type_renders_as_other() -> None:
    code = render(schema("id", ("blob", "geometry")))
    assert "blob: Optional[str] = Field(default=None, sa_type=String)  # captured type: other" in (
        code
    )
    assert type(columns_of(load(code))["blob"].type).__name__ == "String"


def test_only_used_names_are_imported() -> None:
    code = render(schema("id", ("name", "string")))
    assert "import datetime" not in code
    assert "Decimal" not in code
    assert "from sqlalchemy import BigInteger, String\n" in code
    assert "Column(" not in code
    load(code)


def test_every_field_is_optional_with_default_none() -> None:
    cls = load(render(schema("id", ("when", "date"), ("Trip Count", "float"))))
    row = cls()
    assert (row.id, row.when, row.trip_count) == (None, None, None)  # type: ignore[attr-defined]


def test_docstring_names_the_source_and_asks_for_edits() -> None:
    code = render(schema("id"), source="schema 1a2b of artifact 'persons'")
    text = run_module(code)["__doc__"]
    assert "Generated by consist" in text
    assert "schema 1a2b of artifact 'persons'" in text
    assert "edited" in text and "primary key" in text and "foreign keys" in text


def test_docstring_source_cannot_break_out_of_the_docstring() -> None:
    table = schema("id")
    namespace = run_module(render(table, source='x"""\nimport os\\ "'))
    assert 'x""" import os\\ "' in namespace["__doc__"]
    assert "os" not in namespace
    assert f"schema {table.id}" in run_module(render(table))["__doc__"]  # default source


# -- names -----------------------------------------------------------------------------------


def test_awkward_column_names_get_safe_attributes_and_keep_their_names() -> None:
    names = ["Trip Count", "class", "1st", "_x", "metadata", "from", "model_year", "json"]
    cls = load(render(schema("id", *names)))
    assert list(columns_of(cls)) == ["id", *names]
    attributes = set(cls.model_fields)  # type: ignore[attr-defined]
    assert {"trip_count", "class_", "col_1st", "x", "metadata_", "from_"} <= attributes
    assert {"col_model_year", "json_"} <= attributes
    row = cls(trip_count=3, class_="a", col_1st=1)  # type: ignore[call-arg]
    assert (row.trip_count, row.class_, row.col_1st) == (3, "a", 1)  # type: ignore[attr-defined]


def test_columns_that_sanitise_alike_get_numbered_attributes() -> None:
    code = render(schema("id", "Trip Count", "trip-count", "TripCount"))
    cls = load(code)
    assert list(columns_of(cls)) == ["id", "Trip Count", "trip-count", "TripCount"]
    assert {"trip_count", "trip_count_2", "trip_count_3"} <= set(cls.model_fields)  # type: ignore[attr-defined]


def test_a_column_already_safe_keeps_its_name_over_a_sanitised_twin() -> None:
    code = render(schema("id", "Trip Count", "trip_count"))
    assert "    trip_count: Optional[int] = Field(default=None, sa_type=BigInteger)\n" in code
    assert 'trip_count_2: Optional[int] = Field(default=None, sa_column=Column("Trip Count"' in (
        code
    )
    assert list(columns_of(load(code))) == ["id", "Trip Count", "trip_count"]


@pytest.mark.parametrize("name", ["date", "time", "datetime", "int", "str", "dt", "Optional"])
def test_columns_named_like_the_stubs_own_names_do_not_shadow_them(name: str) -> None:
    cls = load(render(schema("id", (name, "date"), ("later", "time"), ("n", "integer"))))
    assert name in columns_of(cls)
    assert field_type(cls, "later") is dt.time
    assert field_type(cls, "n") is int


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("Persons", "Persons"),
        ("HTTPLog", "HTTPLog"),
        ("persons", "Persons"),
        ("person trips", "PersonTrips"),
        ("person_trips_v2", "PersonTripsV2"),
        ("1st table", "Table1stTable"),
        ("", "Table"),
        ("None", "NoneTable"),
        ("SQLModel", "SQLModelTable"),
        ("Field", "FieldTable"),
    ],
)
def test_class_name_is_made_a_capwords_identifier(given_name: str, expected: str) -> None:
    assert load(render(schema("id"), class_name=given_name)).__name__ == expected


def test_table_name_is_a_safe_string_literal() -> None:
    table_name = f"""it's "{unique_table()}"\\n"""
    cls = load(render(schema("id"), table_name=table_name))
    assert cls.__tablename__ == table_name


# -- primary key -----------------------------------------------------------------------------


def primary_keys(code: str) -> list[str]:
    return [c.name for c in load(code).__table__.primary_key.columns]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("columns", "key"),
    [
        (["a", "person_id", "id", "b"], "id"),
        (["a", "ID", "person_id"], "ID"),
        (["a", "household_id", "person_id"], "household_id"),
        (["a", "Person_ID"], "Person_ID"),
        (["a", "b", "identity"], "a"),
        (["Trip Count", "b"], "Trip Count"),
    ],
)
def test_primary_key_is_guessed_and_flagged(columns: list[str], key: str) -> None:
    code = render(schema(*columns))
    assert primary_keys(code) == [key]
    assert code.count("primary_key=True") == 1
    lines = code.splitlines()
    flagged = lines.index(next(line for line in lines if "primary_key=True" in line)) - 1
    assert lines[flagged].strip().startswith("# Primary key guessed by consist")
    assert "review" in lines[flagged]


def test_empty_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="no columns"):
        render_sqlmodel(TableSchema(()), class_name="X", table_name="x")


def test_repeated_column_names_are_refused() -> None:
    with pytest.raises(ValueError, match="more than once"):
        render_sqlmodel(schema("a", "a"), class_name="X", table_name="x")


def test_output_is_deterministic() -> None:
    table = schema("Trip Count", ("when", "timestamp"), ("class", "decimal"), "person_id")
    first = render_sqlmodel(table, class_name="t", table_name="t", source="s")
    second = render_sqlmodel(
        TableSchema.from_json(table.to_json()), class_name="t", table_name="t", source="s"
    )
    assert first == second


# -- any names -------------------------------------------------------------------------------

_names = st.lists(
    st.text(min_size=1).filter(lambda s: "\x00" not in s), min_size=1, max_size=8, unique=True
)


@settings(max_examples=60, deadline=None)
@given(names=_names, types=st.lists(st.sampled_from(["integer", "string", "date", "other"])))
def test_any_distinct_column_names_render_to_a_class_mapping_exactly_them(
    names: list[str], types: list[str]
) -> None:
    kinds = itertools.cycle(types or ["integer"])
    code = render(TableSchema(tuple(Column(n, next(kinds)) for n in names)), class_name="Any")
    compile(code, "<stub>", "exec", dont_inherit=True)
    cls = load(code)
    assert list(columns_of(cls)) == names
    assert len(cls.__table__.primary_key.columns) == 1  # type: ignore[attr-defined]
