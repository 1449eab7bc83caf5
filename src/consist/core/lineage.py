"""Lineage of an artifact: the run that produced it, that run's inputs, their producers, ...

Pure: the tree is built through two callables (``get_run``, ``get_inputs``), so it can be
built from a store, from snapshots or from plain dicts, and the exports return JSON-able data
or text. A run reached along several paths (a diamond) is expanded once and shared.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from consist.core.errors import OptionValueError
from consist.core.model import Artifact, Run, RunStatus

PRODUCER = "urn:consist:python"  # OpenLineage wants a URI here
OPENLINEAGE_NAMESPACE = "consist"
OPENLINEAGE_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_OL_CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"
_OL_FACETS = "https://openlineage.io/spec/facets/1-0-1/{0}.json#/$defs/{0}"
# OpenLineage run ids are UUIDs: derive a stable one from the Consist run id.
_RUN_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:consist:run")
PROV_NAMESPACE = "urn:consist:"
_EVENT_TYPES = {
    RunStatus.COMPLETED: "COMPLETE",
    RunStatus.FAILED: "FAIL",
    RunStatus.CRASHED: "FAIL",
    RunStatus.RUNNING: "START",
}

GetRun = Callable[[str], Run | None]
GetInputs = Callable[[str], Mapping[str, Artifact]]


@dataclass(eq=False)
class RunNode:
    """A producing run and the lineage of each of its inputs, by input key."""

    run: Run
    inputs: dict[str, LineageNode] = field(default_factory=dict)


@dataclass(eq=False)
class LineageNode:
    """An artifact and the run that produced it (None for external inputs and leaves).

    ``truncated`` marks a leaf whose producer was not expanded because of ``max_depth``;
    ``cycle`` marks a leaf whose producer is already being expanded on the current path.
    """

    artifact: Artifact
    producer: RunNode | None = None
    truncated: bool = False
    cycle: bool = False

    def _repr_html_(self) -> str:  # Jupyter: the tree as nested lists
        from consist.core.html import lineage_html

        return lineage_html(self)


def build_lineage(
    artifact: Artifact,
    *,
    get_run: GetRun,
    get_inputs: GetInputs,
    max_depth: int | None = None,
) -> LineageNode:
    """Build the lineage tree of ``artifact``.

    Parameters
    ----------
    artifact
        The artifact whose history is wanted; its producer is ``artifact.run_id``.
    get_run
        ``run_id -> Run | None``; a run it cannot find leaves its artifact without producer.
    get_inputs
        ``run_id -> {key: Artifact}``, the run's inputs.
    max_depth
        How many levels of producing runs to expand (``0``: the artifact alone, ``1``: its
        producer and that run's inputs as leaves); ``None`` expands everything.

    Returns
    -------
    LineageNode
        The root node. Each run is fetched and expanded once; in a diamond both paths share
        the same :class:`RunNode`.
    """
    if max_depth is not None and (
        not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 0
    ):
        raise OptionValueError("max_depth", max_depth, ["None", "<a non-negative integer>"])
    return _Builder(get_run, get_inputs).artifact(artifact, max_depth)


class _Builder:
    def __init__(self, get_run: GetRun, get_inputs: GetInputs) -> None:
        self._get_run = get_run
        self._get_inputs = get_inputs
        self._runs: dict[str, Run | None] = {}
        # run id -> (node, producer levels its inputs were expanded with; None = unlimited)
        self._memo: dict[str, tuple[RunNode, int | None]] = {}
        self._path: set[str] = set()  # run ids being expanded on the current path

    def artifact(self, artifact: Artifact, budget: int | None) -> LineageNode:
        run_id = artifact.run_id
        if run_id is None:
            return LineageNode(artifact)
        if run_id in self._path:
            return LineageNode(artifact, cycle=True)
        if budget == 0:
            return LineageNode(artifact, truncated=True)
        remaining = None if budget is None else budget - 1
        memo = self._memo.get(run_id)
        if memo is not None and (remaining is None or memo[1] is None or remaining <= memo[1]):
            return LineageNode(artifact, memo[0])
        run = self._runs[run_id] if run_id in self._runs else self._get_run(run_id)
        self._runs[run_id] = run
        if run is None:
            return LineageNode(artifact)
        # Expanding again with a larger budget updates the shared node in place.
        node = memo[0] if memo is not None else RunNode(run)
        self._path.add(run_id)
        try:
            node.inputs = {
                key: self.artifact(upstream, remaining)
                for key, upstream in self._get_inputs(run_id).items()
            }
        finally:
            self._path.discard(run_id)
        self._memo[run_id] = (node, remaining)
        return LineageNode(artifact, node)


def collect(node: LineageNode) -> tuple[list[RunNode], dict[str, LineageNode]]:
    """The tree's distinct runs, upstream first, and its distinct artifacts by id.

    Parameters
    ----------
    node
        A root built by :func:`build_lineage`.

    Returns
    -------
    tuple
        ``(runs, artifacts)``: every run appears after the producers of its inputs; an
        artifact seen both as a leaf and expanded is represented by its expanded node.
    """
    runs: list[RunNode] = []
    artifacts: dict[str, LineageNode] = {}
    seen: set[str] = set()

    def visit(current: LineageNode) -> None:
        producer = current.producer
        if producer is not None and producer.run.id not in seen:
            seen.add(producer.run.id)
            for upstream in producer.inputs.values():
                visit(upstream)
            runs.append(producer)
        known = artifacts.get(current.artifact.id)
        if known is None or (known.producer is None and current.producer is not None):
            artifacts[current.artifact.id] = current

    visit(node)
    return runs, artifacts


def _outputs(run: Run, artifacts: dict[str, LineageNode]) -> list[Artifact]:
    return [n.artifact for n in artifacts.values() if n.artifact.run_id == run.id]


def _iso(moment: datetime) -> str:
    """ISO 8601 with an offset (naive times are the clock's UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != []}


# -- OpenLineage ---------------------------------------------------------------------------
def openlineage_run_id(run_id: str) -> str:
    """The UUID that stands for Consist run ``run_id`` in OpenLineage (stable, uuid5)."""
    return str(uuid.uuid5(_RUN_UUID_NAMESPACE, run_id))


def _facet(schema_url: str, **values: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **_compact(values)}


def _ol_dataset(artifact: Artifact, input_key: str | None = None) -> dict[str, Any]:
    scheme, sep, _ = artifact.uri.partition("://")
    facets: dict[str, Any] = {
        "consist_artifact": _facet(
            _OL_CORE + "DatasetFacet",
            artifactId=artifact.id,
            key=artifact.key,
            inputKey=input_key if input_key != artifact.key else None,
            digest=artifact.digest,
            driver=artifact.driver,
            size=artifact.size,
            producerRunId=artifact.run_id,
        )
    }
    if artifact.digest:
        name = "DatasetVersionDatasetFacet"
        facets["version"] = _facet(_OL_FACETS.format(name), datasetVersion=artifact.digest)
    return {"namespace": scheme if sep else "file", "name": artifact.uri, "facets": facets}


def _ol_event(node: RunNode, outputs: list[Artifact]) -> dict[str, Any]:
    run = node.run
    facets: dict[str, Any] = {
        "consist_run": _facet(
            _OL_CORE + "RunFacet",
            runId=run.id,
            model=run.model_name,
            status=str(run.status),
            year=run.year,
            iteration=run.iteration,
            tags=list(run.tags),
            signature=run.signature,
            parentRunId=run.parent_run_id,
            cacheHit=run.cache_hit,
        )
    }
    if run.error:
        facets["errorMessage"] = _facet(
            _OL_FACETS.format("ErrorMessageRunFacet"),
            message=run.error,
            programmingLanguage="python",
        )
    return {
        "eventType": _EVENT_TYPES.get(run.status, "OTHER"),
        "eventTime": _iso(run.ended_at or run.started_at or run.created_at),
        "run": {"runId": openlineage_run_id(run.id), "facets": facets},
        "job": {"namespace": OPENLINEAGE_NAMESPACE, "name": run.model_name},
        "inputs": [_ol_dataset(up.artifact, key) for key, up in node.inputs.items()],
        "outputs": [_ol_dataset(artifact) for artifact in outputs],
        "producer": PRODUCER,
        "schemaURL": OPENLINEAGE_SCHEMA_URL,
    }


def to_openlineage(node: LineageNode) -> list[dict[str, Any]]:
    """OpenLineage ``RunEvent`` dicts, one per producing run in the tree, upstream first.

    Parameters
    ----------
    node
        A root built by :func:`build_lineage`.

    Returns
    -------
    list of dict
        JSON-able events. ``eventType`` follows the run status (COMPLETE, FAIL, START);
        ``outputs`` lists the artifacts of the tree the run produced. ``run.runId`` is
        :func:`openlineage_run_id` (OpenLineage requires a UUID); the Consist run id is in
        the ``consist_run`` run facet.
    """
    runs, artifacts = collect(node)
    return [_ol_event(run, _outputs(run.run, artifacts)) for run in runs]


# -- PROV-JSON -----------------------------------------------------------------------------
def _ref(kind: str, ident: str) -> str:
    return f"consist:{kind}/{ident}"


def _attrs(prefix: str, **values: Any) -> dict[str, Any]:
    return {f"{prefix}:{k}": v for k, v in _compact(values).items()}


def _qname(value: str) -> dict[str, str]:
    return {"$": value, "type": "prov:QUALIFIED_NAME"}


def to_prov_json(node: LineageNode) -> dict[str, Any]:
    """The tree as a W3C PROV-JSON document.

    Parameters
    ----------
    node
        A root built by :func:`build_lineage`.

    Returns
    -------
    dict
        Keys ``prefix``, ``entity`` (artifacts), ``activity`` (runs), ``used`` (run used
        artifact, ``prov:role`` = input key) and ``wasGeneratedBy`` (artifact generated by
        run). Ids are ``consist:artifact/<id>`` and ``consist:run/<id>``; relations get
        blank-node ids (``_:u1``, ``_:g1``, ...).
    """
    runs, artifacts = collect(node)
    entity = {
        _ref("artifact", a.id): {
            **_attrs("prov", type=_qname("consist:Artifact"), label=a.key),
            **_attrs("consist", uri=a.uri, digest=a.digest, driver=a.driver, size=a.size),
        }
        for a in (n.artifact for n in artifacts.values())
    }
    activity: dict[str, Any] = {}
    used: dict[str, Any] = {}
    generated: dict[str, Any] = {}
    for run_node in runs:
        run, run_ref = run_node.run, _ref("run", run_node.run.id)
        activity[run_ref] = {
            **_attrs("prov", type=_qname("consist:Run"), label=f"{run.model_name} {run.id}"),
            **_attrs("prov", startTime=_iso(run.started_at or run.created_at)),
            **_attrs("prov", endTime=_iso(run.ended_at) if run.ended_at else None),
            **_attrs("consist", model=run.model_name, status=str(run.status), year=run.year),
            **_attrs("consist", iteration=run.iteration),
        }
        for key, upstream in run_node.inputs.items():
            used[f"_:u{len(used) + 1}"] = _attrs(
                "prov", activity=run_ref, entity=_ref("artifact", upstream.artifact.id), role=key
            )
        for artifact in _outputs(run, artifacts):
            generated[f"_:g{len(generated) + 1}"] = _attrs(
                "prov",
                entity=_ref("artifact", artifact.id),
                activity=run_ref,
                time=_iso(artifact.created_at),
            )
    return {
        "prefix": {"consist": PROV_NAMESPACE},
        "entity": entity,
        "activity": activity,
        "used": used,
        "wasGeneratedBy": generated,
    }
