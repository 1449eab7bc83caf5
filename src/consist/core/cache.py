"""The cache decision: given a signature's candidate run, hit or miss and why.

This module also owns the one definition of a *reusable* run (:func:`is_reusable`): the
recorder's queue, the SQL stores' cache index and the in-memory fake all ask it which runs a
cache lookup may return, and none of them restates the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from consist.core.model import Run, RunStatus
from consist.core.ports.store import CacheCandidate


def reusable(status: RunStatus | str, cache_hit: bool) -> bool:
    """The rule itself, on the two facts it reads: a run is reusable when it completed and
    actually executed (it was not itself a cache hit).

    Takes the status and the cache-hit flag rather than a :class:`Run` so that a store can
    apply it to what it already holds of a stored row (e.g. the old state of a run it
    replaces); everything else should call :func:`is_reusable`.
    """
    return status == RunStatus.COMPLETED and not cache_hit


def is_reusable(run: Run) -> bool:
    """Whether ``run`` may serve as a cache source: completed, and not itself a cache hit.

    Stores index runs by signature only if this holds (a run without a signature cannot be
    looked up at all); a cache lookup never returns any other run.
    """
    return reusable(run.status, run.cache_hit)


class DecisionKind(StrEnum):
    """Why a cache decision came out as it did (typed; ``CacheDecision.reason`` is prose)."""

    REUSED = "reused"
    NO_CANDIDATE = "no_candidate"
    OVERWRITE = "overwrite"
    OUTPUTS_MISSING = "outputs_missing"


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """Outcome of a cache lookup; ``kind`` says why in a typed form, ``reason`` is written
    for humans."""

    hit: bool
    reason: str
    candidate: CacheCandidate | None = None
    kind: DecisionKind = field(kw_only=True)

    @property
    def source_run_id(self) -> str | None:
        return self.candidate.run.id if self.candidate and self.hit else None


def decide(
    cache_mode: str,
    candidate: CacheCandidate | None,
    *,
    outputs_present: Callable[[CacheCandidate], list[str]] | None = None,
) -> CacheDecision:
    """Decide whether a run reuses ``candidate``.

    ``outputs_present`` returns the keys of the candidate's outputs whose bytes are gone
    (with ``validate_cached_outputs="lazy"``: found at no recorded location, a stat each;
    ``"eager"``: also those no longer matching their recorded digest). A hit whose outputs
    are gone would hand back files that cannot be read although the step could simply run
    again, so it becomes a miss.
    """
    if cache_mode == "overwrite":
        return CacheDecision(
            False, "cache_mode='overwrite' always executes", kind=DecisionKind.OVERWRITE
        )
    if candidate is None:
        return CacheDecision(
            False, "no completed run has this signature", kind=DecisionKind.NO_CANDIDATE
        )
    if outputs_present is not None:
        gone = outputs_present(candidate)
        if gone:
            return CacheDecision(
                False,
                f"outputs of run {candidate.run.id} are missing ({', '.join(gone)}), so the "
                "step ran again",
                candidate,
                kind=DecisionKind.OUTPUTS_MISSING,
            )
    return CacheDecision(
        True, f"reusing completed run {candidate.run.id}", candidate, kind=DecisionKind.REUSED
    )
