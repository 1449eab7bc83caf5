"""The one error hierarchy of Consist.

Every error derives from :class:`ConsistError` *and* from the built-in exception a caller
would naturally catch (``ValueError``, ``KeyError``, ``FileNotFoundError``, ...), so plain
``except ValueError`` clauses keep working. Messages say what was wrong, with which value,
and how to fix it.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable

# The ``user:password@`` (or ``token@``) part of a ``scheme://`` URL. The first form is what
# RFC 3986 allows; the second also catches a password holding an unescaped "/" (common in
# cloud secret keys), as long as it has the ":" of a password and does not start like a path
# ("file:///C:/x@2.csv"). Quotes and spaces end a URL, so one match never spans two values.
_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)"
    r"(?:[^/?#@\s'\"]*|[^/@\s'\"][^@\s'\"]*:[^@\s'\"]*)@"
)


def redact(text: str) -> str:
    """``text`` with the credentials of every ``scheme://user:password@host`` URL in it
    replaced by ``***``: for user-supplied paths and URLs formatted into messages, which
    end up in logs, tracebacks and issue reports."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def has_credentials(text: str) -> bool:
    """Whether ``text`` holds a URL with a ``user:password@`` part (a bare ``token@`` is not
    told apart from a folder named ``x@y`` under a mount, so it does not count)."""
    return any(
        ":" in match.group(0)[len(match.group("scheme")) :] for match in _CREDENTIALS.finditer(text)
    )


class ConsistError(Exception):
    """Root of every error raised by Consist."""


class OptionValueError(ConsistError, ValueError):
    """An option was given a value outside its allowed set."""

    def __init__(self, option: str, value: object, allowed: Iterable[str], hint: str = "") -> None:
        allowed_list = ", ".join(repr(a) for a in allowed)
        message = f"{option}={value!r} is not supported; allowed values are {allowed_list}."
        if hint:
            message = f"{message} {hint}"
        super().__init__(message)
        self.option = option
        self.value = value


class InvalidKeyError(ConsistError, ValueError):
    """An artifact key is empty, contains a path separator or ``..``."""


class ConfigHashError(ConsistError, TypeError):
    """A config value cannot be canonicalised into a stable digest."""

    def __init__(self, path: str, value: object, fix: str | None = None) -> None:
        type_name = f"{type(value).__module__}.{type(value).__qualname__}"
        super().__init__(
            f"{path} holds a {type_name} ({_short_repr(value)}), which has no stable digest. "
            + (
                fix
                or "Use JSON-like values (str, int, float, bool, None, lists, dicts), pydantic "
                "models, dataclasses, enums, paths or dates; build live objects inside the step "
                "from such values; give the type a __consist_identity__(self) method returning "
                "what identifies it; or digest it in a consist_object_digest plugin hook."
            )
        )
        self.path = path
        self.value = value
        self.fix = fix  # None: the general advice; kept so a subclass can pass it on


class ArgumentHashError(ConfigHashError):
    """A value bound to a step's call (``fn_args``, a partial's arguments, a bound method's
    instance) has no stable digest, so the step's identity cannot include it."""

    def __init__(self, path: str, value: object, fix: str | None = None) -> None:
        super().__init__(
            path,
            value,
            fix
            or "It reaches the function, so it must count for the step's identity, and leaving "
            "it out could hand back another call's result. Pass what identifies it through "
            "config= and build the object inside the step; give its type a "
            "__consist_identity__(self) method returning JSON-like data that identifies it; "
            "digest the type in a consist_object_digest plugin hook; or, for the instance of "
            "a bound method, make it a dataclass or pydantic model of digestible fields.",
        )


def _short_repr(value: object) -> str:
    try:
        return redact(repr(value))[:60]  # redacted whole: a cut could keep half a password
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        return f"<{type(value).__qualname__} object>"


class _NamedFileError(ConsistError, FileNotFoundError):
    """A FileNotFoundError that keeps ``filename`` for callers but prints its own message
    (OSError's default ``str`` turns into "[Errno None] None: ..." once filename is set)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


class InputNotFoundError(_NamedFileError):
    """A declared input file or directory does not exist."""

    def __init__(self, key: str, path: object, what: str = "input") -> None:
        super().__init__(
            f"{what} {key!r} points at {redact(repr(str(path)))}, which does not exist. "
            "Check the path (relative paths resolve against the current directory) "
            "or create the file before calling run()."
        )
        self.filename = str(path)
        self.key = key


class SpecialFileError(ConsistError, ValueError):
    """A path names a device, FIFO or socket: neither a regular file nor a directory, so it
    has no bytes to digest (reading one may block forever or never end)."""

    def __init__(
        self, path: object, mode: int, key: str | None = None, what: str = "input"
    ) -> None:
        named = redact(repr(str(path)))
        where = f"{what} {key!r} points at {named}, which" if key is not None else named
        super().__init__(
            f"{where} is a {_kind(mode)}, not a regular file or directory, so its contents "
            "cannot be digested. Write the data to a regular file first and pass that path."
        )
        self.filename = str(path)
        self.key = key


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


class BindingError(ConsistError, TypeError):
    """A function parameter could not be given a value."""


class ContextParameterError(BindingError, ValueError):
    """``inject_context`` asked for a parameter the step function does not have."""


class OutputError(ConsistError, ValueError):
    """A step's return value could not be mapped onto its declared outputs."""


class OutputMissingError(ConsistError, FileNotFoundError, RuntimeError):
    """A declared output was not produced (with ``output_missing="error"``)."""


class RunIdConflictError(ConsistError, ValueError):
    """An explicit run id is already taken by a run with a different signature."""


class NoActiveRunError(ConsistError, RuntimeError):
    """A logging call was made outside any run."""


class ActiveRunError(ConsistError, RuntimeError):
    """A run was started while another run is active on the same tracker."""


class RunNotFoundError(ConsistError, LookupError):
    """No run matched a lookup."""


class RunMatchError(RunNotFoundError, ValueError):
    """``find_run`` found no run, or more than one, matching its filters."""


class ReadOnlyError(ConsistError, PermissionError):
    """A recording call was made on a read-only tracker."""


class IntegrityError(ConsistError, ValueError):
    """Bytes on disk do not match their recorded digest."""


class StoreError(ConsistError, RuntimeError):
    """The metadata store failed; the message names the store and the operation."""


class StoreLockedError(StoreError):
    """Another process held the database for longer than the lock timeout.

    Runs still complete: their records stay in their snapshots (and in
    ``run_dir/.consist/pending/``) and are written when the database is free.
    """


class SchemaVersionError(StoreError):
    """The database was written by a newer Consist than the one reading it."""


class PluginError(ConsistError, RuntimeError):
    """A plugin could not be loaded or two plugins claim the same adapter name."""


class AdapterNotFoundError(ConsistError, LookupError):
    """No installed adapter serves the requested name, scheme or value type."""


class ConsistWarning(UserWarning):
    """Warnings about portability, missing outputs and degraded recording."""


class MissingBytesError(_NamedFileError):
    """Recorded bytes are neither at their local path nor in their producer's workspace."""

    def __init__(self, key: str, artifact_uri: str, expected: object, hint: str = "") -> None:
        super().__init__(
            f"the bytes of {key!r} ({artifact_uri}) are not at {str(expected)!r} nor in the "
            "workspace of the run that produced them; re-run that step here, or restore the "
            "file (tracker.materialize copies bytes that still exist elsewhere)."
            + (f" {hint}" if hint else "")
        )
        self.filename = str(expected)
        self.key = key


class SchemaValidationError(ConsistError, ValueError):
    """Tabular data does not fit the schema it was declared with; nothing was written.

    ``problems`` maps each offending column to what is wrong with it.
    """

    def __init__(self, table: str, problems: dict[str, str], hint: str = "") -> None:
        listed = "; ".join(f"{name!r}: {why}" for name, why in problems.items())
        super().__init__(
            f"data for table {table!r} does not match its schema ({listed}). "
            + (hint or "Add the columns to the model, drop them from the data, or fix the values.")
        )
        self.table = table
        self.problems = dict(problems)


class ArgumentError(ConsistError, ValueError):
    """Arguments that cannot be used together (or a value of the wrong kind)."""


class ArgumentTypeError(ConsistError, TypeError):
    """An argument of the wrong type (a number where a path goes, a string where a list of
    names goes, ...); the message names the argument, the value and what is expected."""


class KeyNotFoundError(ConsistError, KeyError):
    """A key that is not there: an input of a run, a coupler key, a config key.

    Prints its message as written (``KeyError`` alone would print its repr in quotes).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


class MountNotFoundError(ConsistError, LookupError):
    """A ``name://...`` URI names a mount this tracker does not have."""


class UnsafeAddressError(ConsistError, ValueError):
    """A recorded artifact address (from a snapshot or a shared database) would resolve
    outside the workspace or mount it names, or is not an address at all."""

    def __init__(self, address: object, reason: str) -> None:
        super().__init__(
            f"artifact address {redact(repr(address))[:200]} {reason}; addresses recorded by "
            "Consist never "
            "do, so it was edited by hand or written by something else. Nothing is read or "
            "written there: fix or remove the record (a snapshot file, or the database row)."
        )
        self.address = address


class ViewNotFoundError(ConsistError, AttributeError):
    """No view is registered under the name asked for (``tracker.views.<name>``)."""


class UnsupportedError(ConsistError, NotImplementedError):
    """An option or value this version of Consist does not support (yet)."""


class SchemaNotFoundError(ConsistError, LookupError):
    """No column schema was captured for the artifact or schema id asked for."""


class ObjectStoreError(ConsistError, OSError):
    """An object store (S3 or another fsspec protocol) refused or failed a request; the
    message names the address (without credentials) and what to change."""


class ObjectStoreAccessError(ObjectStoreError, PermissionError):
    """The object store rejected the credentials, or they are missing."""


class ObjectNotFoundError(ObjectStoreError, FileNotFoundError):
    """No object (or no bucket) exists at an object-store address."""
