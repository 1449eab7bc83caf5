"""Identity of a step's ingredients: canonical config digests and code identity."""

from __future__ import annotations

from consist.core.identity.canonical import (
    canonical_json,
    canonicalize,
    config_digest,
    tree_digest,
)
from consist.core.identity.code import CodeIdentity, code_identity, module_identity

__all__ = [
    "CodeIdentity",
    "canonical_json",
    "canonicalize",
    "code_identity",
    "config_digest",
    "module_identity",
    "tree_digest",
]
