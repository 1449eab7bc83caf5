"""Lineage graphs as SVG pictures, drawn by Graphviz's ``dot`` program when it is installed.

The graph itself is built in the core (:func:`consist.core.html.to_dot`); only running the
external program lives here, because the core never starts processes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from consist.core.errors import UnsupportedError
from consist.core.html import to_dot
from consist.core.lineage import LineageNode

#: Seconds ``dot`` may take; lineage graphs are small, so a hang means something is wrong.
DOT_TIMEOUT = 30.0


def dot_program() -> str | None:
    """The path of Graphviz's ``dot`` on ``PATH``, or None when Graphviz is not installed."""
    return shutil.which("dot")


def lineage_svg(node: LineageNode, path: str | Path | None = None) -> str:
    """Draw a lineage tree as SVG with Graphviz.

    Parameters
    ----------
    node
        A tree from ``tracker.lineage(key_or_artifact)``.
    path
        Where to write the picture too (optional).

    Returns
    -------
    str
        The SVG document.

    Raises
    ------
    UnsupportedError
        If Graphviz's ``dot`` is not installed (``apt install graphviz``, ``brew install
        graphviz`` or ``conda install graphviz``); ``export_lineage(format="mermaid")`` draws
        the same graph without it.
    """
    program = dot_program()
    if program is None:
        raise UnsupportedError(
            "drawing a lineage graph as SVG needs Graphviz's 'dot' program, which is not on "
            "PATH; install graphviz, or use tracker.export_lineage(key, format='mermaid')."
        )
    done = subprocess.run(
        [program, "-Tsvg"],
        input=to_dot(node).encode("utf-8"),
        capture_output=True,
        timeout=DOT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise UnsupportedError(
            f"Graphviz's dot failed (exit {done.returncode}): "
            f"{done.stderr.decode('utf-8', 'replace').strip()[:500]}"
        )
    svg = done.stdout.decode("utf-8")
    if path is not None:
        Path(path).write_text(svg, encoding="utf-8")
    return svg
