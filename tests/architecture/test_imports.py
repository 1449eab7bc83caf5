"""The house rules: cheap `import consist`, layer contracts, documented hooks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["pandas", "polars", "pyarrow", "duckdb", "sqlalchemy", "sqlmodel", "fsspec", "docker"]
# Not heavy, but only a tracker checking processes or a DuckDB store queueing needs them.
HEAVY += ["psutil", "filelock"]


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def test_import_consist_imports_no_heavy_library() -> None:
    loaded = _modules_after("import consist")
    assert not [m for m in HEAVY if m in loaded]


def test_names_resolve_lazily_and_stay_light() -> None:
    # Error classes and the model are part of the light surface.
    loaded = _modules_after("import consist; consist.ConsistError; consist.Artifact")
    assert not [m for m in HEAVY if m in loaded]


def test_import_linter_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("lint-imports is not installed in this environment (pip install import-linter)")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_hook_is_documented() -> None:
    from consist.core import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("consist_")]
    docs = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    assert hooks, "no hooks found"
    assert [h for h in hooks if h not in docs] == []


def test_all_lists_exactly_the_lazy_exports() -> None:
    import consist

    assert sorted(consist.__all__) == sorted([*consist._EXPORTS, "__version__"])
    for name in consist.__all__:
        assert getattr(consist, name) is not None
