"""Which recorded outputs nothing needs any more: the rule behind ``consist gc``.

An output is *needed* while a run consumed it as an input, while its run is still running,
or while it is among the ``keep_last`` newest outputs of its **slot**: the same model and
output key, scenario, year and iteration, config and bound arguments, and inputs of the
same shape (the same input keys, each read from the same address, or produced by the same
model). A slot is "this computation"; a newer output in the slot is a newer version of it
(the code changed, an input file was updated in place, the step was re-run with
``cache_mode="overwrite"``). A parameter sweep or a loop over regions fills many slots, one
output each, so nothing of it is collected. Outputs of failed or crashed runs are never
reused by the cache and are not needed unless something consumed them.

The facts come from two SQL statements over the documented tables (see
:mod:`consist.models`), sent through :func:`consist.run_query`; the rule itself is plain
Python over the rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from consist.core.model import RunStatus

if TYPE_CHECKING:
    from consist.api.tracker import Tracker

# One row per artifact a run produced, with its producer's slot fields, whether any run
# consumed it, and when a completed run last handed it out as an output (a cache hit
# re-links the artifact it reused, so an old file can be the current one).
_OUTPUTS = """
SELECT a.id, a.key, a.uri, a.size, a.run_id, p.status, p.model_name, p.parent_run_id,
       p.year, p.iteration, p.config_digest, p.arguments_digest, p.created_at,
       MAX(CASE WHEN l.direction = 'input' THEN 1 ELSE 0 END) AS consumed,
       MAX(CASE WHEN l.direction = 'output' AND u.status = 'completed'
                THEN u.created_at END) AS last_output
FROM artifact a
JOIN run p ON p.id = a.run_id
LEFT JOIN run_artifact_link l ON l.artifact_id = a.id
LEFT JOIN run u ON u.id = l.run_id
GROUP BY a.id, a.key, a.uri, a.size, a.run_id, p.status, p.model_name, p.parent_run_id,
         p.year, p.iteration, p.config_digest, p.arguments_digest, p.created_at
"""
# Every input link: the run, the key, where the input was read from and, if a run
# produced it, that run's model.
_INPUTS = """
SELECT l.run_id, l.key, a.uri, p.model_name
FROM run_artifact_link l
JOIN artifact a ON a.id = l.artifact_id
LEFT JOIN run p ON p.id = a.run_id
WHERE l.direction = 'input'
"""


@dataclass(frozen=True, slots=True)
class Output:
    """One recorded output and what decides whether it is still needed."""

    id: str
    key: str
    uri: str
    size: int | None
    run_id: str
    status: str
    slot: tuple[Any, ...]
    consumed: bool
    last_used: datetime


def utc(moment: Any) -> datetime | None:
    """A timestamp read through plain SQL (naive, in UTC; text on SQLite) as aware."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def recorded_outputs(tracker: Tracker) -> list[Output]:
    """Every output recorded in ``tracker``'s database, with its slot."""
    from consist.api.sql import run_query

    shapes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for run_id, key, uri, producer_model in run_query(_INPUTS, tracker=tracker):
        # A produced input is "the same input" when the same model made it (its address
        # changes with every producing run); a raw file when it is at the same address.
        shapes[run_id].add((key, f"model:{producer_model}" if producer_model else uri))
    found = []
    for values in run_query(_OUTPUTS, tracker=tracker):
        ident, key, uri, size, run_id, status, model, parent, year, iteration = values[:10]
        config, arguments, created, consumed, last_output = values[10:]
        inputs = tuple(sorted(shapes.get(run_id, ())))
        slot = (model, key, parent, year, iteration, config, arguments, inputs)
        last_used = utc(last_output) or utc(created) or datetime.now(UTC)
        found.append(Output(ident, key, uri, size, run_id, status, slot, bool(consumed), last_used))
    return found


def unneeded(outputs: list[Output], keep_last: int) -> dict[str, str]:
    """``{artifact_id: reason}`` of the outputs nothing needs any more (see the module)."""
    reasons: dict[str, str] = {}
    slots: dict[tuple[Any, ...], list[Output]] = defaultdict(list)
    for output in outputs:
        if output.status == RunStatus.COMPLETED:
            slots[output.slot].append(output)  # consumed outputs count as newer versions too
        elif output.status in (RunStatus.FAILED, RunStatus.CRASHED) and not output.consumed:
            reasons[output.id] = f"its run {output.run_id} {output.status}; never reused"
    for versions in slots.values():
        versions.sort(key=lambda o: (o.last_used, o.id), reverse=True)
        newest = versions[0]
        for output in versions[keep_last:]:
            if not output.consumed:  # another run's input: its lineage keeps it
                reasons[output.id] = f"superseded by {newest.key!r} of run {newest.run_id}"
    return reasons
