"""The plugin SDK (``consist.plugin``): complete, light, and all a plugin needs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["pandas", "polars", "pyarrow", "duckdb", "sqlalchemy", "sqlmodel", "fsspec", "docker"]


def test_every_exported_name_resolves() -> None:
    import consist.plugin as sdk

    assert [name for name in sdk.__all__ if getattr(sdk, name, None) is None] == []


def test_it_names_every_hook() -> None:
    import consist.plugin as sdk
    from consist.core import hookspecs

    hooks = {name for name in dir(hookspecs) if name.startswith("consist_")}
    assert {h for names in sdk.HOOKS.values() for h in names} == hooks


def test_importing_it_loads_no_heavy_library_nor_pytest() -> None:
    code = "import sys, json, consist.plugin; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert [m for m in [*HEAVY, "pytest"] if m in loaded] == []


def test_import_consist_does_not_load_it() -> None:
    code = "import sys, consist; print('consist.plugin' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_the_example_plugin_imports_only_documented_names() -> None:
    allowed = {"consist", "consist.plugin"}
    used = set()
    for path in (ROOT / "examples" / "plugin").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            used |= {n for n in names if n == "consist" or n.startswith("consist.")}
    assert used and used <= allowed, used - allowed
