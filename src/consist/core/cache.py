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
        return CacheDecision(False, "cache_mode='overwrite' always executes")
    if candidate is None:
        return CacheDecision(False, "no completed run has this signature")
    if outputs_present is not None:
        gone = outputs_present(candidate)
        if gone:
            return CacheDecision(
                False,
                f"outputs of run {candidate.run.id} are missing ({', '.join(gone)}), so the "
                "step ran again",
                candidate,
            )
    return CacheDecision(True, f"reusing completed run {candidate.run.id}", candidate)
