"""Captured table schemas as editable SQLModel class stubs (Python source text).

A schema captured from data only knows column names and logical types. The stub turns it
into a ``SQLModel`` table class a user can curate (keys, types) and register as a typed
view. This module only produces text: it imports neither SQLAlchemy nor SQLModel.

Column names that cannot be Python attributes get a safe snake_case attribute, and the
real name is kept with ``sa_column=Column("Real Name", ...)`` so the class still maps the
column as it is in the data.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Sequence

from consist.core.tables import Column, TableSchema

# logical type -> (Python annotation, SQLAlchemy type); unknown types render as "other".
_TYPES: dict[str, tuple[str, str]] = {
    "integer": ("int", "BigInteger"),
    "float": ("float", "Float"),
    "decimal": ("Decimal", "Numeric"),
    "boolean": ("bool", "Boolean"),
    "string": ("str", "String"),
    "binary": ("bytes", "LargeBinary"),
    "date": ("dt.date", "Date"),
    "time": ("dt.time", "Time"),
    "timestamp": ("dt.datetime", "DateTime"),
    "interval": ("dt.timedelta", "Interval"),
    "other": ("str", "String"),
}

# Attributes of SQLModel / pydantic / SQLAlchemy's declarative base a field must not shadow,
# and the lowercase names the stub itself binds or uses in annotations. A field named
# ``date`` would rebind ``date`` inside the class body before later annotations read it,
# hence ``import datetime as dt`` and ``dt`` here.
_RESERVED = frozenset(
    {
        "metadata",
        "registry",
        "construct",
        "copy",
        "dict",
        "from_orm",
        "json",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "sqlmodel_update",
        "update_forward_refs",
        "validate",
        "dt",
        "int",
        "float",
        "bool",
        "str",
        "bytes",
    }
)
_RESERVED_PREFIXES = ("model_", "sqlmodel_")

# CapWords names the stub imports; the class must not shadow them.
_BOUND_CLASS_NAMES = frozenset(
    {"Optional", "Decimal", "Field", "SQLModel", "Column"} | {sa for _, sa in _TYPES.values()}
)


def render_sqlmodel(
    schema: TableSchema, *, class_name: str, table_name: str, source: str = ""
) -> str:
    """Render a captured schema as the source of a module defining one SQLModel class.

    Parameters
    ----------
    schema : TableSchema
        The captured columns, rendered as fields in their order.
    class_name : str
        Name of the class; turned into a valid CapWords identifier if it is not one.
    table_name : str
        The class's ``__tablename__`` (emitted as a string literal, any text allowed).
    source : str, optional
        Where the schema came from, for the module docstring (e.g. ``"schema 1a2b... of
        artifact 'persons'"``); defaults to the schema id.

    Returns
    -------
    str
        Python source of a module defining ``class <ClassName>(SQLModel, table=True)``.
        Column names that are not safe attribute names (keywords, leading digits or
        underscores, spaces, SQLModel attributes such as ``metadata``, duplicates after
        sanitising) map the original name through ``sa_column=Column("Original", ...)``.
        One column is marked as primary key (a guess, flagged by a comment): the first
        named ``id``, else the first ending in ``_id``, else the first column. The output
        is deterministic.

    Raises
    ------
    ValueError
        If the schema has no columns, or names a column twice.
    """
    columns = schema.columns
    if not columns:
        raise ValueError(
            f"schema {schema.id} has no columns, so there is no SQLModel class to generate; "
            "capture the schema from data with at least one column."
        )
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"schema {schema.id} names columns {duplicates!r} more than once; a table class "
            "needs distinct column names (rename them in the data first)."
        )
    attributes = _attribute_names(names)
    key, rule = _primary_key(names)
    body = [f"    __tablename__ = {_literal(table_name)}", ""]
    for index, (column, attribute) in enumerate(zip(columns, attributes, strict=True)):
        if index == key:
            body.append(f"    # Primary key guessed by consist ({rule}); review it.")
        body.append(_field_line(column, attribute, primary_key=index == key))
    header = [
        _docstring(schema, table_name, source),
        "",
        *_imports(columns, attributes),
        "",
        "",
        f"class {_class_name(class_name)}(SQLModel, table=True):",
    ]
    return "\n".join([*header, *body]) + "\n"


# -- names -------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    """Text with accents folded and anything else outside ASCII dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _snake(name: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", _ascii(name))  # tripCount -> trip_Count
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)  # HTTPCode -> HTTP_Code
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()


def _attribute(name: str) -> str:
    """A snake_case attribute for column ``name`` that no keyword or SQLModel name shadows."""
    attribute = _snake(name) or "column"
    if attribute[0].isdigit() or attribute.startswith(_RESERVED_PREFIXES):
        return f"col_{attribute}"
    if keyword.iskeyword(attribute) or attribute in _RESERVED:
        return f"{attribute}_"
    return attribute


def _attribute_names(names: Sequence[str]) -> list[str]:
    """Distinct attributes for distinct column names, in order.

    A column whose name is already a safe attribute keeps it; the others take the next free
    ``_2``, ``_3`` ... suffix when their sanitised name is taken.
    """
    chosen = {name: name for name in names if _attribute(name) == name}
    taken = set(chosen.values())
    for name in names:
        if name not in chosen:
            base = candidate = _attribute(name)
            n = 2
            while candidate in taken:
                candidate, n = f"{base.rstrip('_')}_{n}", n + 1
            chosen[name] = candidate
            taken.add(candidate)
    return [chosen[name] for name in names]


def _class_name(name: str) -> str:
    """``name`` if it already is a CapWords identifier, else a CapWords rendering of it."""
    if not (name.isascii() and name.isidentifier() and name[:1].isupper()):
        words = re.split(r"[^0-9A-Za-z]+", _ascii(name))
        name = "".join(word[:1].upper() + word[1:] for word in words)
        if not name or name[0].isdigit():
            name = f"Table{name}"
    if keyword.iskeyword(name) or name in _BOUND_CLASS_NAMES:
        name = f"{name}Table"
    return name


def _primary_key(names: Sequence[str]) -> tuple[int, str]:
    """The guessed key column's index, and the rule that picked it (case-insensitive)."""
    lowered = [name.lower() for name in names]
    rules = (
        ("the column named 'id'", lambda n: n == "id"),
        ("the first column ending in '_id'", lambda n: n.endswith("_id")),
    )
    for rule, matches in rules:
        found = next((i for i, name in enumerate(lowered) if matches(name)), None)
        if found is not None:
            return found, rule
    return 0, "no 'id' or '*_id' column, so the first column"


# -- text --------------------------------------------------------------------------------------


def _literal(text: str) -> str:
    """A Python string literal of ``text``, double-quoted when that needs no escapes."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = f'"{literal[1:-1]}"'
    return literal


def _docstring_text(text: str) -> str:
    """``text`` on one line, safe inside a triple-double-quoted docstring."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return flat.replace("\\", "\\\\").replace('"', '\\"')


def _docstring(schema: TableSchema, table_name: str, source: str) -> str:
    origin = _docstring_text(source or f"schema {schema.id}")
    table = _docstring_text(repr(table_name))
    return "\n".join(
        [
            f'"""SQLModel class for table {table}.',
            "",
            f"Generated by consist from a captured table schema: {origin}.",
            "This is a starting point meant to be edited: review the guessed primary key, add",
            "foreign keys, and tighten the types before registering it as a typed view.",
            '"""',
        ]
    )


def _type_of(column: Column) -> tuple[str, str]:
    return _TYPES.get(column.type, _TYPES["other"])


def _field_line(column: Column, attribute: str, *, primary_key: bool) -> str:
    python, sql = _type_of(column)
    key = ["primary_key=True"] if primary_key else []
    if attribute != column.name:
        options = [f"sa_column=Column({', '.join([_literal(column.name), sql, *key])})"]
    else:
        # Explicit, since SQLModel's defaults differ (int is a 32-bit Integer) and drift.
        options = [*key, f"sa_type={sql}"]
    line = f"    {attribute}: Optional[{python}] = Field({', '.join(['default=None', *options])})"
    if column.type not in _TYPES or column.type == "other":
        line += "  # captured type: other"
    return line


def _imports(columns: Sequence[Column], attributes: Sequence[str]) -> list[str]:
    """The import block: only what the fields use, sorted as isort would."""
    pythons = {_type_of(c)[0] for c in columns}
    sql = {_type_of(c)[1] for c in columns}
    if any(a != c.name for c, a in zip(columns, attributes, strict=True)):
        sql.add("Column")
    lines = []
    if any(p.startswith("dt.") for p in pythons):
        lines.append("import datetime as dt")
    if "Decimal" in pythons:
        lines.append("from decimal import Decimal")
    lines.append("from typing import Optional")
    lines.append("")
    lines.append(f"from sqlalchemy import {', '.join(sorted(sql))}")
    lines.append("from sqlmodel import Field, SQLModel")
    return lines
