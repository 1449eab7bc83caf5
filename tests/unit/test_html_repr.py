"""Notebook renderings: runs, results, artifacts, scenarios and lineage trees as HTML, and
lineage graphs as Graphviz DOT / SVG."""

from __future__ import annotations

import html.parser
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.api.graphviz_ import dot_program, lineage_svg
from consist.core.html import esc, to_dot

HOSTILE = '<script>alert("x")</script>'


class _Checker(html.parser.HTMLParser):
    """Fails on any element that is not part of the compact renderings (e.g. <script>)."""

    ALLOWED = {"table", "caption", "tr", "th", "td", "span", "code", "b", "small", "ul", "li"}
    ALLOWED |= {"div"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.ALLOWED, tag
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Checker:
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    return checker


@pytest.fixture
def tracker(tmp_path: Path):
    with Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb") as t:
        yield t


def make_rows(config):
    out = consist.current_run_dir() / "rows.csv"
    out.write_text("a,b\n1,2\n")
    return {"rows": out}


def summarise(rows: Path):
    out = consist.current_run_dir() / "summary.txt"
    out.write_text(str(len(rows.read_text().splitlines())))
    return {"summary": out}


def test_run_result_and_artifact_render_as_escaped_tables(tracker: Tracker) -> None:
    result = tracker.run(make_rows, config={"label": HOSTILE}, outputs=["rows"])
    markup = result._repr_html_()
    checked = parse(markup)
    assert "table" in checked.tags
    assert "executed" in markup and result.run.id in markup
    assert "rows" in "".join(checked.text)

    run_markup = result.run._repr_html_()
    run_text = "".join(parse(run_markup).text)
    assert HOSTILE in run_text  # shown as text, never as markup
    assert "<script>" not in run_markup
    assert "completed" in run_text and "make_rows" in run_text

    artifact = result["rows"]
    art_text = "".join(parse(artifact._repr_html_()).text)
    assert artifact.uri in art_text and artifact.digest in art_text

    again = tracker.run(make_rows, config={"label": HOSTILE}, outputs=["rows"])
    assert again.cache_hit
    hit_text = "".join(parse(again._repr_html_()).text)
    assert "cache hit" in hit_text and result.run.id in hit_text


def test_scenario_renders_its_header_and_coupler(tracker: Tracker) -> None:
    with consist.scenario("base<line>", tracker=tracker) as sc:
        result = sc.run(make_rows, config={}, outputs=["rows"])
        markup = sc._repr_html_()
        text = "".join(parse(markup).text)
        assert "open" in text and "base<line>" in text and "<line>" not in markup
        assert "rows" in text and result["rows"].uri in text
    assert "closed" in "".join(parse(sc._repr_html_()).text)


def test_lineage_tree_renders_as_nested_lists(tracker: Tracker) -> None:
    first = tracker.run(make_rows, config={}, outputs=["rows"])
    tracker.run(summarise, inputs={"rows": first["rows"]}, outputs=["summary"])
    tree = tracker.lineage("summary")
    markup = tree._repr_html_()
    checked = parse(markup)
    assert checked.tags.count("ul") >= 3
    text = "".join(checked.text)
    assert text.index("summary") < text.index("summarise") < text.index("make_rows")


def test_lineage_as_dot_names_every_node_once(tracker: Tracker) -> None:
    first = tracker.run(make_rows, config={}, outputs=["rows"])
    tracker.run(summarise, inputs={"rows": first["rows"]}, outputs=["summary"])
    dot = to_dot(tracker.lineage("summary"))
    assert dot.startswith("digraph lineage {")
    assert dot.count("shape=cylinder") == 2 and dot.count("shape=box") == 2
    assert dot.count("->") == 3


def test_esc_cuts_long_values() -> None:
    assert esc("x" * 500).endswith("…") and len(esc("x" * 500)) == 120
    assert esc("<b>") == "&lt;b&gt;"


def test_lineage_svg_with_graphviz(tracker: Tracker, tmp_path: Path) -> None:
    if dot_program() is None:
        pytest.skip("Graphviz's dot is not installed (apt install graphviz)")
    tracker.run(make_rows, config={}, outputs=["rows"])
    svg = lineage_svg(tracker.lineage("rows"), tmp_path / "g.svg")
    assert "<svg" in svg and (tmp_path / "g.svg").exists()


def test_lineage_svg_without_graphviz_says_what_to_install(
    tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker.run(make_rows, config={}, outputs=["rows"])
    monkeypatch.setenv("PATH", "")  # no programs at all: the state of a machine without dot
    with pytest.raises(consist.UnsupportedError, match="graphviz"):
        lineage_svg(tracker.lineage("rows"))
