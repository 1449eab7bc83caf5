"""The cache decision: given a signature's candidate run, hit or miss and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consist.core.ports.store import CacheCandidate


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """Outcome of a cache lookup; ``reason`` is written for humans."""

    hit: bool
    reason: str
    candidate: CacheCandidate | None = None

    @property
    def source_run_id(self) -> str | None:
        return self.candidate.run.id if self.candidate and self.hit else None


def decide(
    cache_mode: str,
    candidate: CacheCandidate | None,
    *,
    validate: str = "lazy",
    outputs_present: Callable[[CacheCandidate], list[str]] | None = None,
) -> CacheDecision:
    """Decide whether a run reuses ``candidate``.

    ``outputs_present`` returns the keys of the candidate's outputs whose bytes are gone; it
    is consulted only with ``validate="eager"``.
    """
    if cache_mode == "overwrite":
        return CacheDecision(False, "cache_mode='overwrite' always executes")
    if candidate is None:
        return CacheDecision(False, "no completed run has this signature")
    if validate == "eager" and outputs_present is not None:
        gone = outputs_present(candidate)
        if gone:
            return CacheDecision(
                False,
                f"run {candidate.run.id} matches but its outputs {gone} are missing",
                candidate,
            )
    return CacheDecision(True, f"reusing completed run {candidate.run.id}", candidate)
