"""Checks of the arguments ``Tracker`` and ``tracker.run`` take, made before anything is
opened or recorded; each error names the argument, the value and an example of a good one."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from consist.core.checks import check_text
from consist.core.errors import ArgumentTypeError, OptionValueError, UnsupportedError
from consist.core.model import validate_key
from consist.core.workspace import absolute

DB_FILENAME = "provenance.duckdb"


def path_text(value: object, what: str, example: str) -> str:
    """``value`` as path text, or a clear error for anything that is not a path."""
    if not isinstance(value, str | os.PathLike):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; give a path or URL such as "
            f"{example!r}."
        )
    return check_text(os.fspath(value), what) or ""


def store_location(db_path: str | os.PathLike[str] | None, run_dir: Path) -> str:
    if db_path is None:
        return str(run_dir / DB_FILENAME)
    text = path_text(db_path, "db_path", "provenance.duckdb")
    return text if "://" in text else str(absolute(text))


def mapping(value: object, what: str, example: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; give a mapping such as {example}."
        )
    return value


def names(value: object, what: str) -> list[str]:
    """A list of names (output keys): one bare string is refused, it is too easily a typo."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; give a list of names such as "
            "['result']."
        )
    return [validate_key(key, "output key") for key in value]


def schemas(schemas: object) -> list[type]:
    """The ``schemas=`` classes, checked before anything is opened."""
    if schemas is None:
        return []
    if isinstance(schemas, type) or not isinstance(schemas, Iterable):
        raise ArgumentTypeError(
            f"schemas={schemas!r:.80} is not a list of model classes; give e.g. "
            "schemas=[Person, Household]."
        )
    models = list(schemas)
    for model in models:
        if not isinstance(model, type):
            raise ArgumentTypeError(
                f"schemas holds {model!r:.80}, which is not a class; give SQLModel (or "
                "pydantic) classes such as schemas=[Person]."
            )
    return models


def mounts(mounts: object) -> dict[str, Path]:
    resolved: dict[str, Path] = {}
    for name, root in mapping(mounts or {}, "mounts", "{'inputs': '/data/in'}").items():
        if not isinstance(name, str) or not name.isidentifier() or name in ("file", "workspace"):
            raise OptionValueError(
                "mounts",
                name,
                ["<identifier other than 'file' or 'workspace'>"],
                "Mount names become URI schemes, e.g. mounts={'inputs': '/data/in'}.",
            )
        text = path_text(root, f"mounts[{name!r}]", "/data/in")
        if "://" in text:
            raise UnsupportedError(
                f"mount {name!r} points at {text!r}; object-store mounts are not supported by "
                "this version, only local directories."
            )
        resolved[name] = absolute(text)
    return resolved
