"""The README's Python snippets run as pasted, in order, in an empty folder — twice."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_script(store_kind: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4, "the README lost its examples"
    return "\n".join(blocks).replace("provenance.duckdb", f"provenance.{store_kind}")


@pytest.mark.slow
@pytest.mark.parametrize("store_kind", ["duckdb", "sqlite"])
def test_readme_snippets_run_twice_from_a_clean_folder(tmp_path: Path, store_kind: str) -> None:
    script = tmp_path / "readme.py"
    script.write_text(readme_script(store_kind))
    outputs = []
    for attempt in ("first", "second"):
        done = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{attempt} run failed:\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    assert outputs[0].splitlines()[0] == "False"  # the first cleaning run executes...
    assert outputs[1].splitlines()[0] == "True"  # ...the second is a cache hit
    assert "reused run" in outputs[1]
