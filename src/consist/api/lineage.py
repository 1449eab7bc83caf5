"""Where an artifact came from: ``lineage``, ``print_lineage`` and ``export_lineage``.

:class:`RunLineage` is the service a tracker holds and delegates these methods to, over its
run queries (any :class:`LineageSource`); the module functions of the same names take the
tracker (or any other source) as their first argument. The tree itself and the export
formats live in :mod:`consist.core.lineage`; this module only feeds it from the tracker's
store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from consist.core.errors import ArgumentTypeError, OptionValueError
from consist.core.lineage import (
    LineageNode,
    build_lineage,
    to_openlineage,
    to_prov_json,
)
from consist.core.lineage_mermaid import to_mermaid
from consist.core.model import Artifact, Run, RunArtifacts, RunStatus

if TYPE_CHECKING:
    from rich.console import Console
    from rich.tree import Tree

EXPORT_FORMATS: tuple[str, ...] = ("openlineage", "prov-json", "mermaid")
_EXPORTERS: dict[str, Any] = {
    "openlineage": to_openlineage,
    "prov-json": to_prov_json,
    "mermaid": to_mermaid,
}
_STATUS_STYLE = {RunStatus.COMPLETED: "green", RunStatus.RUNNING: "yellow"}


class LineageSource(Protocol):
    """What lineage needs from a tracker (``Tracker`` provides all of it)."""

    def get_run(self, run_id: str) -> Run: ...

    def get_artifacts_for_run(self, run_id: str) -> RunArtifacts: ...

    def get_artifact(self, key_or_id: str) -> Artifact: ...


def resolve_artifact(tracker: LineageSource, artifact_or_key: Artifact | str) -> Artifact:
    """The artifact meant by an :class:`Artifact`, an artifact id or an artifact key (the
    newest artifact with that key); ``RunNotFoundError`` (a ``LookupError``) if none."""
    if isinstance(artifact_or_key, Artifact):
        return artifact_or_key
    if not isinstance(artifact_or_key, str) or not artifact_or_key:
        raise ArgumentTypeError(
            f"lineage needs an Artifact, an artifact id or a key, got {artifact_or_key!r:.80}."
        )
    return tracker.get_artifact(artifact_or_key)


def lineage(
    tracker: LineageSource, artifact_or_key: Artifact | str, max_depth: int | None = None
) -> LineageNode:
    """The lineage tree of an artifact: its producing run, that run's inputs, and so on.

    Parameters
    ----------
    tracker
        The tracker whose database is read.
    artifact_or_key
        An :class:`Artifact`, an artifact id, or a key (the newest artifact with that key).
    max_depth
        Levels of producing runs to expand; ``None`` (default) follows every input back to
        the external files.

    Returns
    -------
    LineageNode
        See :func:`consist.core.lineage.build_lineage`.
    """
    artifact = resolve_artifact(tracker, artifact_or_key)

    def get_run(run_id: str) -> Run | None:
        try:
            return tracker.get_run(run_id)
        except LookupError:
            return None

    def get_inputs(run_id: str) -> dict[str, Artifact]:
        return tracker.get_artifacts_for_run(run_id).inputs

    return build_lineage(artifact, get_run=get_run, get_inputs=get_inputs, max_depth=max_depth)


def export_lineage(
    tracker: LineageSource,
    artifact_or_key: Artifact | str,
    format: str = "openlineage",
    max_depth: int | None = None,
) -> list[dict[str, Any]] | dict[str, Any] | str:
    """An artifact's lineage as OpenLineage events, a PROV-JSON document or Mermaid text.

    Parameters
    ----------
    tracker
        The tracker whose database is read.
    artifact_or_key
        An :class:`Artifact`, an artifact id or a key.
    format
        ``"openlineage"`` (list of RunEvent dicts, upstream first), ``"prov-json"`` (dict)
        or ``"mermaid"`` (``flowchart LR`` source).
    max_depth
        As for :func:`lineage`.

    Returns
    -------
    list of dict, dict or str
        JSON-able data (pass it to ``json.dumps``) or Mermaid text.
    """
    exporter = _EXPORTERS.get(format)
    if exporter is None:
        raise OptionValueError("format", format, EXPORT_FORMATS)
    result: list[dict[str, Any]] | dict[str, Any] | str = exporter(
        lineage(tracker, artifact_or_key, max_depth)
    )
    return result


def render_lineage(node: LineageNode) -> Tree:
    """A ``rich.tree.Tree``: artifact → producing run → its inputs → ...

    A run reached again through another path is shown once, then referred to.
    """
    try:
        from rich.markup import escape
        from rich.tree import Tree
    except ImportError as exc:  # pragma: no cover - rich ships with the dev environment
        raise ImportError("print_lineage needs the 'rich' package: pip install rich") from exc

    shown: set[str] = set()

    def artifact_label(current: LineageNode, key: str | None) -> str:
        artifact = current.artifact
        text = f"[bold cyan]{escape(artifact.key)}[/]"
        if key is not None and key != artifact.key:
            text += f" (as {escape(key)})"
        text += f"  [dim]{escape(artifact.uri)}[/]"
        if artifact.digest:
            text += f" [dim]{escape(artifact.digest[:19])}[/]"
        if artifact.run_id is None:
            return text + "  [dim italic]external input[/]"
        if current.producer is None:
            why = "cycle" if current.cycle else "not expanded" if current.truncated else "missing"
            text += f"  [yellow]run {escape(artifact.run_id)} ({why})[/]"
        return text

    def run_label(run: Run) -> str:
        style = _STATUS_STYLE.get(run.status, "red")
        text = (
            f"[bold magenta]{escape(run.model_name)}[/] {escape(run.id)} [{style}]{run.status}[/]"
        )
        if run.year is not None:
            text += f" year={run.year}"
        return text

    def grow(branch: Tree, current: LineageNode) -> None:
        producer = current.producer
        if producer is None:
            return
        run_branch = branch.add(run_label(producer.run))
        if producer.run.id in shown:
            run_branch.label = f"{run_branch.label} [dim](inputs shown above)[/]"
            return
        shown.add(producer.run.id)
        for key, upstream in producer.inputs.items():
            grow(run_branch.add(artifact_label(upstream, key)), upstream)

    tree = Tree(artifact_label(node, None))
    grow(tree, node)
    return tree


def print_lineage(
    tracker: LineageSource,
    artifact_or_key: Artifact | str,
    max_depth: int | None = None,
    console: Console | None = None,
) -> None:
    """Print an artifact's lineage as a tree (see :func:`render_lineage`).

    Parameters
    ----------
    tracker
        The tracker whose database is read.
    artifact_or_key
        An :class:`Artifact`, an artifact id or a key.
    max_depth
        As for :func:`lineage`.
    console
        A ``rich.console.Console`` to print to; a new one on stdout by default.
    """
    tree = render_lineage(lineage(tracker, artifact_or_key, max_depth))
    if console is None:
        from rich.console import Console

        console = Console()
    console.print(tree)


class RunLineage:
    """Lineage of artifacts read through ``source`` (a tracker's :class:`RunQueries`)."""

    def __init__(self, source: LineageSource) -> None:
        self._source = source

    def lineage(self, artifact_or_key: Artifact | str, max_depth: int | None = None) -> LineageNode:
        """The lineage tree of an artifact (see :func:`consist.api.lineage.lineage`)."""
        return lineage(self._source, artifact_or_key, max_depth)

    def print_lineage(
        self,
        artifact_or_key: Artifact | str,
        max_depth: int | None = None,
        console: Console | None = None,
    ) -> None:
        """Print an artifact's lineage as a tree (see :func:`print_lineage`)."""
        print_lineage(self._source, artifact_or_key, max_depth, console)

    def export_lineage(
        self,
        artifact_or_key: Artifact | str,
        format: str = "openlineage",
        max_depth: int | None = None,
    ) -> list[dict[str, Any]] | dict[str, Any] | str:
        """An artifact's lineage as ``"openlineage"``, ``"prov-json"`` or ``"mermaid"``."""
        return export_lineage(self._source, artifact_or_key, format, max_depth)
