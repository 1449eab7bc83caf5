"""The example plugin package installs, is found through its entry point, and passes the
executor contract suite with its own tests.

It is installed into a private folder (never into the test environment itself): with pip
when the build backend can run offline (setuptools plus ``wheel``), otherwise by writing
the distribution's metadata the way pip would leave it (``<name>.dist-info`` with its
``entry_points.txt``, read from the package's own ``pyproject.toml``) beside its sources.
Either way ``importlib.metadata`` discovers the entry point for real.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "examples" / "plugin"


def _pip_install(site: Path) -> bool:
    if importlib.util.find_spec("wheel") is None:
        return False
    # Built from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    source = site.parent / "plugin-source"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return done.returncode == 0


def _write_distribution(site: Path) -> None:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, points in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("plugin-site")
    paths = [str(site)]
    if not _pip_install(site):
        print("plugin example: pip cannot build offline here (no 'wheel'); wrote its metadata")
        _write_distribution(site)
        paths.append(str(PACKAGE / "src"))
    env = dict(os.environ)
    env.pop("CONSIST_DISABLE_PLUGIN_AUTOLOAD", None)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.mark.slow
def test_consist_plugins_lists_the_example_executor(plugin_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from consist.cli import main; main()", "plugins", "--json"],
        env=plugin_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    records = listed if isinstance(listed, list) else listed.get("adapters", listed)
    found = [r for r in records if r.get("name") == "stopwatch"]
    assert found and found[0]["kind"] == "executor" and found[0]["plugin"] == "stopwatch"


@pytest.mark.slow
def test_the_plugin_passes_its_own_tests(plugin_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(PACKAGE), str(PACKAGE / "tests")],
        cwd=tmp_path, env=plugin_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in done.stdout and "failed" not in done.stdout
