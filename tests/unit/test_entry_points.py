"""Plugins are discovered from entry_points.txt directly, as importlib.metadata finds them."""

from __future__ import annotations

import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from consist.api.plugins import _load_object, declared_entry_points


def _distribution(site: Path, folder: str, text: str | None) -> None:
    (site / folder).mkdir(parents=True)
    name = folder.split("-")[0]
    (site / folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1\n")
    if text is not None:
        (site / folder / "entry_points.txt").write_text(text)


def test_the_same_entry_points_as_importlib_metadata(tmp_path, monkeypatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _distribution(
        first,
        "alpha_pkg-1.0.dist-info",
        "# a comment\n[consist.plugins]\nalpha = alpha_mod:plugin [extra]\n\n"
        "[console_scripts]\nalpha-cli = alpha_mod:main\n",
    )
    _distribution(first, "beta-2.0.dist-info", "[consist.plugins]\n beta=beta.sub:obj.attr \n")
    _distribution(first, "gamma-1.0.dist-info", None)  # no entry points at all
    # The same distribution again, later on the path: the first one wins.
    _distribution(second, "alpha.pkg-9.0.dist-info", "[consist.plugins]\nshadowed = x:y\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    for group in ("consist.plugins", "console_scripts"):
        expected = sorted((ep.name, ep.value) for ep in entry_points(group=group))
        assert sorted(declared_entry_points(group) or []) == expected
    assert sorted(declared_entry_points("consist.plugins") or []) == [
        ("alpha", "alpha_mod:plugin [extra]"),
        ("beta", "beta.sub:obj.attr"),
    ]


def test_an_archive_on_the_path_is_left_to_importlib_metadata(tmp_path, monkeypatch) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("placeholder.py", "")
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert declared_entry_points("consist.plugins") is None


def test_an_entry_point_value_names_a_module_attribute_path(tmp_path, monkeypatch) -> None:
    (tmp_path / "ep_target.py").write_text("class Holder:\n    value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _load_object("ep_target:Holder.value [extra]") == 42
    assert _load_object("ep_target").__name__ == "ep_target"
    with pytest.raises(AttributeError):
        _load_object("ep_target:Missing")
