"""The documentation site: it builds offline in strict mode, its generated pages are current,
and every code block marked runnable runs.

A block is marked by an HTML comment on the line before its fence::

    <!-- runnable -->
    ```python
    ...
    ```

The runnable blocks of one page form one script (later blocks use what earlier ones
defined), run in a fresh folder in a subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNNABLE = re.compile(r"^<!-- runnable -->\n```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAGES_WITH_CODE = sorted(p for p in DOCS.rglob("*.md") if RUNNABLE.search(p.read_text()))


def _run(args: list[str], timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@pytest.mark.slow
def test_site_builds_offline_in_strict_mode(tmp_path: Path) -> None:
    for module in ("mkdocs", "material", "mkdocstrings"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install -e '.[docs]' to build the site")
    site = tmp_path / "site"
    done = _run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        env={**_env(), "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    home = (site / "index.html").read_text()
    # Built to read offline: no web fonts, no stylesheet from elsewhere.
    assert "fonts.googleapis.com" not in home and "fonts.gstatic.com" not in home
    assert not re.search(r'<link[^>]+href="https?://', home)
    assert (site / "images" / "sweep.png").exists()
    # The API reference was rendered from the docstrings.
    assert "define_step" in (site / "api" / "tracker" / "index.html").read_text()


def _env() -> dict[str, str]:
    return dict(os.environ)


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, re.MULTILINE))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == listed


def test_plugin_guide_is_generated_from_the_current_code() -> None:
    done = _run([sys.executable, str(ROOT / "scripts" / "gen_plugin_docs.py"), "--check"])
    assert done.returncode == 0, done.stderr


def test_plugin_guide_names_every_hook_and_port() -> None:
    import consist.plugin as sdk
    from consist.core import hookspecs

    guide = (DOCS / "writing-a-plugin.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("consist_")]
    assert [h for h in hooks if f"### `{h}`" not in guide] == []
    protocols = [
        name
        for name in sdk.__all__
        if getattr(getattr(sdk, name), "_is_protocol", False) and name != "GapsDeclared"
    ]
    assert protocols and [p for p in protocols if f"#### `{p}`" not in guide] == []


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[p.stem for p in PAGES_WITH_CODE])
def test_runnable_blocks_run(page: Path, tmp_path: Path) -> None:
    script = "\n\n".join(RUNNABLE.findall(page.read_text()))
    (tmp_path / "page.py").write_text(script)
    done = _run([sys.executable, "page.py"], cwd=tmp_path, env={**_env(), "MPLBACKEND": "Agg"})
    assert done.returncode == 0, f"{page.name}:\n{done.stdout}\n{done.stderr}"


def test_runnable_pages_are_found() -> None:
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"getting-started.md", "usage-guide.md", "notebooks.md"} <= names
