"""The run signature: one digest over code, config, inputs, cache epoch and model."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from consist.core.model import Signature


def _sha256(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        # Length-prefixed so that ("ab", "c") and ("a", "bc") never collide.
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return "sha256:" + h.hexdigest()


def inputs_digest(components: Iterable[tuple[str, str]]) -> str:
    """Digest ``(role:key, identity)`` pairs independently of the order they were given in."""
    flat: list[str] = []
    for key, identity in sorted(components):
        flat.extend((key, identity))
    return _sha256("inputs", *flat)


def merkle_identity(producer_signature: str, artifact_digest: str | None) -> str:
    """Identity of an input produced by an earlier run: its producer's signature + its bytes."""
    return _sha256("produced", producer_signature, artifact_digest or "")


def compute_signature(
    *,
    code: str,
    config: str,
    inputs: str,
    cache_epoch: int,
    model: str,
    code_mode: str = "",
    scope: str = "",
    arguments: str = "",
) -> Signature:
    """Fold the components into the run's signature, keeping each component for explanations.

    ``scope`` separates otherwise identical steps that must not share results (a traced
    block of one scenario from the same block of another, the 2030 run from the 2020 one);
    it is empty for steps cached independently. ``arguments`` is the digest of the values
    bound to the call; a step that binds none keeps the signature it always had.
    """
    parts = ["consist-signature-v1", code, config, inputs, str(int(cache_epoch)), model, scope]
    if arguments:
        parts.append(arguments)
    value = _sha256(*parts)
    return Signature(
        value=value,
        code=code,
        config=config,
        inputs=inputs,
        cache_epoch=cache_epoch,
        model=model,
        code_mode=code_mode,
        arguments=arguments,
    )


def literal_code_identity(version: str) -> str:
    """Code identity for a literal version string given by the user."""
    return _sha256("literal", version)
