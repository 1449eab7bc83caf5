"""Compact HTML (for notebooks) and Graphviz DOT renderings of runs, artifacts and lineage.

Jupyter calls an object's ``_repr_html_``; the model classes delegate to the functions here
so the rendering lives in one place and the value objects stay small. Everything is pure
string building over the standard library; every value that comes from a user or a
database passes through :func:`html.escape` (keys, ids, config values and error text are
user input and may contain markup).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consist.core.lineage import LineageNode, RunNode
    from consist.core.model import Artifact, Run, RunResult

#: Longest text shown in one cell; longer values are cut with an ellipsis (the full value is
#: one attribute access away, and a notebook cell should stay readable).
MAX_CELL = 120
_STATUS_COLOURS = {
    "completed": "#2e7d32",
    "running": "#1565c0",
    "failed": "#c62828",
    "crashed": "#6a1b9a",
}
_TABLE = '<table class="consist" style="border-collapse:collapse;font-size:0.9em">'
_CELL = 'style="text-align:left;padding:1px 8px;vertical-align:top"'


def esc(value: Any, limit: int = MAX_CELL) -> str:
    """``value`` as escaped text, cut to ``limit`` characters."""
    text = value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else value
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def _short(digest: str | None, length: int = 12) -> str | None:
    """A digest without its algorithm prefix, shortened (the full one is on the object)."""
    if not digest:
        return None
    return digest.rpartition(":")[2][:length]


def _badge(status: Any) -> str:
    text = str(getattr(status, "value", status))
    colour = _STATUS_COLOURS.get(text, "#555")
    return f'<span style="color:{colour};font-weight:bold">{esc(text)}</span>'


def table(title: str, rows: Iterable[tuple[str, Any]], *, raw: Iterable[str] = ()) -> str:
    """A two-column table (field, value) headed by ``title``; rows whose value is None or
    empty are left out. Values of fields named in ``raw`` are trusted HTML built here."""
    trusted = set(raw)
    body = []
    for name, value in rows:
        if value is None or value == "" or value == [] or value == {}:
            continue
        shown = value if name in trusted else esc(value)
        body.append(f"<tr><th {_CELL}>{esc(name)}</th><td {_CELL}>{shown}</td></tr>")
    caption = f'<caption style="text-align:left;font-weight:bold">{esc(title)}</caption>'
    return f"{_TABLE}{caption}{''.join(body)}</table>"


def _artifact_rows(artifacts: Mapping[str, Artifact]) -> str:
    """A nested table of ``key -> artifact`` (key, uri, short digest)."""
    if not artifacts:
        return ""
    rows = "".join(
        f"<tr><td {_CELL}><code>{esc(key)}</code></td><td {_CELL}>{esc(a.uri)}</td>"
        f"<td {_CELL}><code>{esc(_short(a.digest) or '')}</code></td></tr>"
        for key, a in artifacts.items()
    )
    return f"{_TABLE}{rows}</table>"


def run_html(run: Run) -> str:
    """A :class:`~consist.core.model.Run` as a compact table."""
    return table(
        f"Run {run.id}",
        [
            ("model", run.model_name),
            ("status", _badge(run.status)),
            (
                "cache hit",
                f"yes, from {(run.meta or {}).get('cache_source')}" if run.cache_hit else None,
            ),
            ("scenario", run.parent_run_id),
            ("year", run.year),
            ("iteration", run.iteration),
            ("tags", ", ".join(run.tags) if run.tags else None),
            ("description", run.description),
            ("config", run.config),
            ("signature", _short(run.signature)),
            ("created", run.created_at),
            ("duration", f"{run.duration_seconds:.3f} s" if run.duration_seconds else None),
            ("error", run.error),
        ],
        raw=("status",),
    )


def artifact_html(artifact: Artifact) -> str:
    """An :class:`~consist.core.model.Artifact` as a compact table."""
    return table(
        f"Artifact {artifact.key}",
        [
            ("id", artifact.id),
            ("uri", artifact.uri),
            ("driver", artifact.driver),
            ("digest", artifact.digest),
            ("size", f"{artifact.size:,} bytes" if artifact.size is not None else None),
            ("produced by", artifact.run_id),
            ("created", artifact.created_at),
        ],
    )


def run_result_html(result: RunResult) -> str:
    """A :class:`~consist.core.model.RunResult`: its verdict, run and artifacts."""
    run = result.run
    verdict = "cache hit" if result.cache_hit else "executed"
    return table(
        f"RunResult {run.id} ({verdict})",
        [
            ("model", run.model_name),
            ("status", _badge(run.status)),
            ("reused", (run.meta or {}).get("cache_source") if result.cache_hit else None),
            ("inputs", _artifact_rows(result.inputs)),
            ("outputs", _artifact_rows(result.outputs)),
        ],
        raw=("status", "inputs", "outputs"),
    )


def scenario_html(
    name: str, header_id: str | None, is_open: bool, coupler: Mapping[str, Artifact]
) -> str:
    """A scenario: its name, header run, whether it is open, and what its coupler holds."""
    return table(
        f"Scenario {name}",
        [
            ("header run", header_id),
            ("state", "open" if is_open else "closed"),
            ("coupler", _artifact_rows(coupler) or "(empty)"),
        ],
        raw=("coupler",),
    )


def _node_label(node: LineageNode) -> str:
    a = node.artifact
    note = " (cut by max_depth)" if node.truncated else " (cycle)" if node.cycle else ""
    digest = _short(a.digest, 8)
    tail = f" <small><code>{esc(digest)}</code></small>" if digest else ""
    return f"<b>{esc(a.key)}</b> <small>{esc(a.uri)}</small>{tail}{esc(note)}"


def _run_label(run: Run) -> str:
    coords = ", ".join(
        f"{k} {v}" for k, v in (("year", run.year), ("iteration", run.iteration)) if v is not None
    )
    extra = f" [{esc(coords)}]" if coords else ""
    return f"run <code>{esc(run.id)}</code> ({esc(run.model_name)}){extra} {_badge(run.status)}"


def lineage_html(node: LineageNode) -> str:
    """A lineage tree as nested lists: artifact, the run that produced it, its inputs, ...

    A run reached along several paths is drawn in full once and named afterwards.
    """
    shown: set[str] = set()

    def artifact(current: LineageNode) -> str:
        producer = current.producer
        inner = ""
        if producer is not None:
            inner = f"<ul><li>{run(producer)}</li></ul>"
        return f"{_node_label(current)}{inner}"

    def run(current: RunNode) -> str:
        label = _run_label(current.run)
        if current.run.id in shown:
            return f"{label} <small>(shown above)</small>"
        shown.add(current.run.id)
        items = "".join(
            f"<li><small>{esc(key)}:</small> {artifact(up)}</li>"
            for key, up in current.inputs.items()
        )
        return f"{label}<ul>{items}</ul>" if items else label

    return f'<div class="consist-lineage"><ul><li>{artifact(node)}</li></ul></div>'


# -- Graphviz ------------------------------------------------------------------------------
_UNSAFE_DOT = re.compile(r'["\\]')


def _dot_text(text: str) -> str:
    return _UNSAFE_DOT.sub(lambda m: "\\" + m.group(0), " ".join(text.split()))


def to_dot(node: LineageNode) -> str:
    """The lineage tree as Graphviz DOT: artifacts as cylinders, runs as boxes, left to right.

    Node ids are generated (``a1``, ``r1``...), so no user text ever becomes DOT syntax;
    labels are quoted and escaped.
    """
    from consist.core.lineage import collect

    runs, artifacts = collect(node)
    ids: dict[tuple[str, str], str] = {}

    def ident(kind: str, raw: str) -> str:
        return ids.setdefault((kind, raw), f"{kind}{len(ids) + 1}")

    lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica",fontsize=10];']
    for leaf in artifacts.values():
        style = ",style=dashed" if leaf.truncated or leaf.cycle else ""
        label = _dot_text(leaf.artifact.key)
        lines.append(f'  {ident("a", leaf.artifact.id)} [shape=cylinder,label="{label}"{style}];')
    for run_node in runs:
        run = run_node.run
        label = f"{_dot_text(run.model_name)}\\n{_dot_text(run.id)}"
        lines.append(f'  {ident("r", run.id)} [shape=box,label="{label}"];')
    edges: dict[str, None] = {}
    for run_node in runs:
        target = ident("r", run_node.run.id)
        for key, up in run_node.inputs.items():
            label = "" if key == up.artifact.key else f' [label="{_dot_text(key)}"]'
            edges[f"  {ident('a', up.artifact.id)} -> {target}{label};"] = None
        for leaf in artifacts.values():
            if leaf.artifact.run_id == run_node.run.id:
                edges[f"  {target} -> {ident('a', leaf.artifact.id)};"] = None
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"
