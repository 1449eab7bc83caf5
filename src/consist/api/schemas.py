"""SQLModel schema classes as column schemas, and the typed classes of cross-run views."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, Optional

from consist.core.errors import ArgumentTypeError, ConsistError
from consist.core.tables import SYSTEM_COLUMNS, Column, TableSchema, check_table_name

# Python types of SQLAlchemy column types → logical types (checked in order: bool is an int).
_LOGICAL_BY_PYTHON: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (decimal.Decimal, "decimal"),
    (str, "string"),
    (bytes, "binary"),
    (dt.datetime, "timestamp"),
    (dt.date, "date"),
    (dt.time, "time"),
    (dt.timedelta, "interval"),
)


def _sql_table(model: Any) -> Any | None:
    """The SQLAlchemy table of a SQLModel table class; None for other pydantic models."""
    table = getattr(model, "__table__", None)
    if table is not None and hasattr(table, "columns"):
        return table
    if isinstance(model, type) and hasattr(model, "model_fields"):
        return None
    raise ArgumentTypeError(
        f"schema={model!r:.80} is not a schema class; declare it as "
        "'class Person(SQLModel, table=True)' (or a pydantic model) with typed fields."
    )


def table_name(model: Any) -> str:
    """The table a schema class names: ``__tablename__``, else the class name in lower case."""
    table = _sql_table(model)
    name = table.name if table is not None else getattr(model, "__tablename__", None)
    if not isinstance(name, str):
        name = model.__name__.lower()
    return check_table_name(name, f"the table name of schema {model.__name__}")


def python_type(sql_type: Any) -> Any:
    try:
        return sql_type.python_type
    except NotImplementedError:  # types without a Python equivalent (e.g. JSON)
        return Any


def logical_of(sql_type: Any) -> str:
    return _logical_of_python(python_type(sql_type))


def sql_type_of(logical: str) -> Any:
    """A SQLAlchemy type for a logical type (views of schemas that are not SQL tables)."""
    import sqlalchemy as sa

    types = {
        "integer": sa.BigInteger, "float": sa.Double, "decimal": sa.Numeric,
        "boolean": sa.Boolean, "string": sa.String, "binary": sa.LargeBinary, "date": sa.Date,
        "time": sa.Time, "timestamp": sa.DateTime, "interval": sa.Interval,
    }  # fmt: skip
    return types.get(logical, sa.String)()


def _field_type(annotation: Any) -> Any:
    """``int`` of ``int``, ``Optional[int]`` or ``int | None``."""
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


def _logical_of_python(py: Any) -> str:
    return next((name for kind, name in _LOGICAL_BY_PYTHON if py is kind), "other")


def model_schema(model: Any) -> TableSchema:
    """The columns of a schema class (by column name) with logical types."""
    table = _sql_table(model)
    if table is not None:
        return TableSchema(tuple(Column(c.name, logical_of(c.type)) for c in table.columns))
    return TableSchema(
        tuple(
            Column(name, _logical_of_python(_field_type(f.annotation)))
            for name, f in model.model_fields.items()
        )
    )


def _columns(model: Any) -> list[tuple[str, str, Any]]:
    """``(attribute, column name, SQLAlchemy type)`` of a schema's columns."""
    if _sql_table(model) is not None:
        from sqlalchemy import inspect

        # Attribute names may differ from column names (``sa_column=Column("Trip Count")``).
        attrs = inspect(model).column_attrs
        return [(a.key, a.columns[0].name, a.columns[0].type) for a in attrs]
    return [(c.name, c.name, sql_type_of(c.type)) for c in model_schema(model).columns]


def view_class(model: Any, view_name: str) -> type:
    """A SQLModel class mapped on view ``view_name``: the model's columns plus the
    provenance columns.

    Views have no primary key, and the model's own key repeats across runs. Mapping it as
    the identity would make the ORM hand back one object for rows of different runs, so the
    class is keyed on *every* column: whole-row ``select(View)`` returns each row as it is.
    It lives in a private registry and metadata, so it never clashes with the user's model
    nor ends up in their ``create_all``.
    """
    from sqlalchemy import BigInteger, MetaData, String
    from sqlalchemy import Column as SqlColumn
    from sqlalchemy.orm import registry
    from sqlmodel import Field, SQLModel

    base = type("ConsistView", (SQLModel,), {}, registry=registry(metadata=MetaData()))
    namespace: dict[str, Any] = {"__tablename__": view_name, "__module__": model.__module__}
    annotations: dict[str, Any] = {}
    system = {c.name: (BigInteger() if c.type == "integer" else String()) for c in SYSTEM_COLUMNS}
    columns = _columns(model)
    columns += [(name, name, sql_type) for name, sql_type in system.items()]
    for attribute, name, sql_type in columns:
        annotations[attribute] = Optional[python_type(sql_type)]  # noqa: UP045 - runtime type
        namespace[attribute] = Field(
            default=None, sa_column=SqlColumn(name, sql_type, primary_key=True, nullable=True)
        )
    namespace["__annotations__"] = annotations
    namespace["__doc__"] = (
        f"Rows of every run's {model.__name__} data, with provenance (view {view_name!r})."
    )
    try:
        return type(model.__name__, (base,), namespace, table=True)
    except Exception as exc:  # an exotic model SQLModel cannot re-map
        raise ConsistError(
            f"cannot build a view class for {model.__name__}: {exc}. Keep the schema to plain "
            "typed fields."
        ) from exc
