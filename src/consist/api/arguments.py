"""Checks of the arguments ``Tracker`` and ``tracker.run`` take, made before anything is
opened or recorded; each error names the argument, the value and an example of a good one."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consist.core.checks import check_text
from consist.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    OptionValueError,
    UnsupportedError,
    redact,
)
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


def flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; give True or False."
        )
    return value


def seconds(value: object, what: str) -> float:
    """A duration: a non-negative, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; give seconds as a number "
            "such as 0.1."
        )
    if not (value >= 0 and math.isfinite(value)):
        raise ArgumentError(f"{what}={value!r} must be zero or more seconds, such as 0.1.")
    return float(value)


@contextmanager
def removed_if_refused(folder: Path) -> Iterator[None]:
    """Remove the folders of ``folder``'s path made inside the block if the block raises,
    as long as nothing was written into them: a refused tracker leaves no trace."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        yield
    except BaseException:
        for made in missing:  # deepest first; rmdir refuses a folder that holds anything
            try:
                made.rmdir()
            except OSError:
                break
        raise


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


def listing(value: object, what: str, example: str) -> list[Any]:
    """``value`` as a list. One bare string (or class) is refused rather than iterated: it is
    almost always a missing pair of brackets, and its letters would be taken as items."""
    if isinstance(value, str | bytes | type) or not isinstance(value, Iterable):
        raise ArgumentTypeError(
            f"{what}={value!r:.80} is a {type(value).__name__}; give a list such as {example}."
        )
    return list(value)


def names(value: object, what: str) -> list[str]:
    """A list of distinct names (output keys)."""
    keys = [validate_key(key, "output key") for key in listing(value, what, "['result']")]
    # Returned values are matched to these names by position: a repeated name would have two
    # values compete for one output, the second silently replacing the first.
    repeated = [key for key, count in Counter(keys).items() if count > 1]
    if repeated:
        raise ArgumentError(
            f"{what}={keys!r:.80} names {repeated[0]!r} more than once; each output needs its "
            f"own key, e.g. {[f'{repeated[0]}_{i}' for i in (1, 2)]!r}."
        )
    return keys


def schemas(schemas: object) -> list[type]:
    """The ``schemas=`` classes, checked before anything is opened."""
    if schemas is None:
        return []
    models = listing(schemas, "schemas", "[Person, Household]")
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
                f"mount {name!r} points at {redact(text)!r}; object-store mounts are not "
                "supported by this version, only local directories."
            )
        resolved[name] = absolute(text)
    return resolved
