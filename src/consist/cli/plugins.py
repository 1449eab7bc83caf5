"""``consist plugins``: the adapters installed, and what each can do."""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

import typer

from consist.cli.common import JsonOption, emit_json, reporting, table, wants_json

_KINDS = ("store", "filesystem", "frame_engine", "executor")
# Fields of the spec records that say what an adapter is chosen for (schemes, suffixes,
# protocols, drivers, value types); the rest are listed under their own headings.
_COMMON = {"name", "factory", "requires", "capabilities", "plugin"}


def register(app: typer.Typer) -> None:
    """Add ``plugins`` to ``app``."""
    app.command("plugins")(plugins)


def _available(requires: tuple[str, ...]) -> list[str]:
    """The required import names that are not installed (found without importing them)."""
    missing = []
    for requirement in requires:
        # A requirement reads "package" or "package (what for)"; the package is its import.
        name = requirement.split()[0] if requirement.strip() else requirement
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(requirement)
    return missing


def adapter_records() -> list[dict[str, Any]]:
    """Every adapter the plugin registry knows, built-in and third-party."""
    from consist.api.plugins import build_registry, get_plugin_manager

    registry = build_registry(get_plugin_manager())
    records = []
    for kind in _KINDS:
        for spec in registry.specs(kind):  # type: ignore[arg-type]
            fields = dataclasses.asdict(spec)
            missing = _available(spec.requires)
            records.append(
                {
                    "kind": kind,
                    "name": spec.name,
                    "plugin": spec.plugin,
                    "factory": spec.factory,
                    "capabilities": list(spec.capabilities),
                    "selects": {
                        k: [v] if isinstance(v, str) else [x for x in v if x]
                        for k, v in fields.items()
                        if k not in _COMMON and v
                    },
                    "requires": list(spec.requires),
                    "missing": missing,
                    "usable": not missing,
                }
            )
    return records


def _selects(record: dict[str, Any]) -> str:
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in record["selects"].items())


def plugins(as_json: JsonOption = False) -> None:
    """List installed adapters (stores, filesystems, frame engines, executors): the plugin
    that provides each, what selects it, its capabilities and missing requirements."""
    with reporting():
        records = adapter_records()
    if wants_json(as_json):
        emit_json(records)
        return
    table(
        None,
        ["kind", "name", "plugin", "selected by", "capabilities", "status"],
        [
            [
                r["kind"],
                r["name"],
                r["plugin"],
                _selects(r),
                r["capabilities"],
                "ok" if r["usable"] else f"needs {', '.join(r['missing'])}",
            ]
            for r in records
        ],
    )
