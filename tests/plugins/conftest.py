"""Install throwaway plugin distributions for the duration of one test.

A plugin is "installed" the way pip would leave it on disk, only smaller: a package and a
``<name>-<version>.dist-info`` directory (``METADATA`` and ``entry_points.txt``) written into
a temporary folder that is put on ``sys.path``. ``importlib.metadata`` then finds the
``consist.plugins`` entry points for real; nothing about entry-point discovery is patched.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from consist.api.plugins import AUTOLOAD_SWITCH, ENTRY_POINT_GROUP, get_plugin_manager


def install_distribution(
    site: Path,
    name: str,
    module_source: str | None,
    entry_points: Mapping[str, str],
    version: str = "0.1",
) -> None:
    """Write distribution ``name`` into the ``site`` folder.

    Parameters
    ----------
    site
        A folder that is (or will be) on ``sys.path``.
    name
        The distribution's name, also used as the name of its top-level package.
    module_source
        Source of the package's ``__init__.py``; None writes no package at all, so entry
        points naming it refer to a module that is not installed.
    entry_points
        ``consist.plugins`` entry points, entry-point name to ``"module"`` or
        ``"module:attribute"``.
    version
        The distribution's version.
    """
    if module_source is not None:
        package = site / name
        package.mkdir()
        (package / "__init__.py").write_text(textwrap.dedent(module_source), encoding="utf-8")
    dist_info = site / f"{name}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    declared = "".join(f"{ep_name} = {target}\n" for ep_name, target in entry_points.items())
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n{declared}", encoding="utf-8"
    )


class PluginSite:
    """A private site-packages folder on ``sys.path`` that tests install plugins into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages: list[str] = []

    def install(
        self, name: str, module_source: str | None, entry_points: Mapping[str, str]
    ) -> None:
        """Install distribution ``name`` (see :func:`install_distribution`)."""
        install_distribution(self.root, name, module_source, entry_points)
        self.packages.append(name)
        # The import system and importlib.metadata cache directory listings.
        importlib.invalidate_caches()


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSite]:
    """An empty plugin folder on ``sys.path``, with entry-point autoloading switched on.

    The cached plugin manager is dropped before the test (so the test's plugins are
    discovered) and after it (so later tests never see them), and the test packages are
    removed from ``sys.modules``. ``monkeypatch`` restores ``sys.path`` and the environment.
    """
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.delenv(AUTOLOAD_SWITCH, raising=False)
    monkeypatch.syspath_prepend(str(root))
    get_plugin_manager.cache_clear()
    site = PluginSite(root)
    try:
        yield site
    finally:
        get_plugin_manager.cache_clear()
        for module_name in list(sys.modules):
            if module_name.partition(".")[0] in site.packages:
                del sys.modules[module_name]
        sys.path_importer_cache.pop(str(root), None)
        importlib.invalidate_caches()
