"""Outputs declared before their file exists (``log_artifact`` of a path not yet written).

A step may announce an output first and write it later; the file is digested when the run
ends. A declared file still missing then follows the run's ``output_missing`` policy:
``"warn"`` (the default), ``"error"`` (the run fails with :class:`OutputMissingError`, also a
``RuntimeError``) or ``"ignore"``.
"""

from __future__ import annotations

import os
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.core.checks import check_key_text, check_storable, check_text
from consist.core.errors import ConsistWarning, OutputMissingError
from consist.core.inputs import driver_for
from consist.core.model import Artifact, validate_key
from consist.core.workspace import absolute

if TYPE_CHECKING:
    from consist.core.session import RunSession

OUTPUT_MISSING_POLICIES = ("warn", "error", "ignore")


@dataclass(frozen=True, slots=True)
class Declaration:
    """An output announced by key, to be digested from ``path`` when the run ends."""

    key: str
    path: Path
    driver: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def report_missing(missing: list[str], policy: str, what: str, fix: str) -> None:
    """Apply ``policy`` to outputs that were declared but never produced."""
    if not missing or policy == "ignore":
        return
    message = f"{what} did not produce declared outputs {missing}; {fix}"
    if policy == "error":
        raise OutputMissingError(message)
    warnings.warn(message, ConsistWarning, stacklevel=6)


def declare(
    session: RunSession,
    path: str | os.PathLike[str],
    key: str | None,
    driver: str | None,
    meta: dict[str, Any],
) -> Artifact:
    """Announce an output of ``session`` whose file is not written yet; returns a
    provisional artifact (no digest: it is taken when the run ends)."""
    # The same checks as logging a file that exists: bad input is refused now, not when
    # the run ends.
    check_text(driver, "driver", optional=True)
    for name in meta:
        if isinstance(name, str):
            check_key_text(name, "a meta key")
    check_storable(meta, "meta")
    local = absolute(path, session.artifact_dir)
    key = validate_key(key if key is not None else (local.stem or local.name))
    session.declared[key] = Declaration(key, local, driver, dict(meta))
    uri, _ = session.ports.workspace.to_uri(local)
    artifact = Artifact(
        id=secrets.token_hex(16),
        key=key,
        uri=uri,
        driver=driver or driver_for(local),
        digest=None,
        size=None,
        run_id=session.run.id,
        created_at=session.ports.clock.now(),
        meta=dict(meta),
    )
    return session.ports.artifacts.attach(artifact)


def settle(session: RunSession) -> None:
    """Log every declared output whose file now exists; the others follow the run's
    ``output_missing`` policy (``"error"`` raises)."""
    declared, session.declared = session.declared, {}
    missing = []
    for item in declared.values():
        if session.ports.fs.exists(item.path):
            session.log_file(item.path, key=item.key, driver=item.driver, meta=item.meta)
        else:
            missing.append(item.key)
    report_missing(
        missing,
        session.output_missing,
        f"run {session.run.model_name!r}",
        "write them before the run ends, or pass output_missing='ignore'.",
    )
