"""Lineage trees as Mermaid flowcharts (``graph LR``): artifacts as stadiums, runs as boxes."""

from __future__ import annotations

import re

from consist.core.lineage import LineageNode, _outputs, collect

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_]")
_LABEL_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;"}


def _label(text: str) -> str:
    """Text made safe inside a quoted Mermaid label."""
    flat = " ".join(text.split())
    return "".join(_LABEL_ESCAPES.get(ch, ch) for ch in flat)


class _MermaidIds:
    """Sanitised, collision-free node ids (``a_`` artifacts, ``r_`` runs)."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()

    def __call__(self, kind: str, raw: str) -> str:
        found = self._ids.get((kind, raw))
        if found is None:
            base = found = f"{kind}_{_UNSAFE_ID.sub('_', raw)}"
            suffix = 1
            while found in self._taken:
                suffix += 1
                found = f"{base}_{suffix}"
            self._ids[(kind, raw)] = found
            self._taken.add(found)
        return found


def to_mermaid(node: LineageNode) -> str:
    """The tree as a Mermaid ``flowchart LR``: input artifact --> run --> output artifact.

    Parameters
    ----------
    node
        A root built by :func:`build_lineage`.

    Returns
    -------
    str
        Mermaid source. Artifacts are cylinders labelled with their key, runs rectangles
        labelled ``<model> <run id>``; node ids contain only ``[A-Za-z0-9_]`` and labels are
        quoted and escaped. Leaves cut by ``max_depth`` or a cycle get the class ``cut``.
    """
    runs, artifacts = collect(node)
    ids = _MermaidIds()
    lines = ["flowchart LR"]
    cut: list[str] = []
    for leaf in artifacts.values():
        node_id = ids("a", leaf.artifact.id)
        lines.append(f'    {node_id}[("{_label(leaf.artifact.key)}")]')
        if leaf.truncated or leaf.cycle:
            cut.append(node_id)
    for run_node in runs:
        run = run_node.run
        lines.append(f'    {ids("r", run.id)}["{_label(f"{run.model_name} {run.id}")}"]')
    edges: dict[str, None] = {}
    for run_node in runs:
        run_ref = ids("r", run_node.run.id)
        for key, upstream in run_node.inputs.items():
            text = "" if key == upstream.artifact.key else f'|"{_label(key)}"|'
            edges[f"    {ids('a', upstream.artifact.id)} -->{text} {run_ref}"] = None
        for artifact in _outputs(run_node.run, artifacts):
            edges[f"    {run_ref} --> {ids('a', artifact.id)}"] = None
    lines.extend(edges)
    if cut:
        lines.append("    classDef cut stroke-dasharray: 5 5")
        lines.append(f"    class {','.join(cut)} cut")
    return "\n".join(lines) + "\n"
