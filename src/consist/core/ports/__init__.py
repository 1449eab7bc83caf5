"""Ports: the protocols adapters implement. One protocol per module, small by design."""

from consist.core.ports.clock import Clock, SystemClock
from consist.core.ports.executor import Executor
from consist.core.ports.filesystem import FileDigest, FileSystem
from consist.core.ports.frames import FrameEngine
from consist.core.ports.store import (
    CacheCandidate,
    MetadataStore,
    RunQuery,
    SqlEngineProvider,
    WriteBatch,
)

__all__ = [
    "CacheCandidate",
    "Clock",
    "Executor",
    "FileDigest",
    "FileSystem",
    "FrameEngine",
    "MetadataStore",
    "RunQuery",
    "SqlEngineProvider",
    "SystemClock",
    "WriteBatch",
]
