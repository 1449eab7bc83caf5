"""Contract suites every adapter of a port must pass; subclass one and provide its fixture.

Known gaps are declared per implementation with a ``notimpl`` mapping (see
:mod:`consist.testing.contracts.gaps`), never by leaving tests out.
"""

from consist.testing.contracts.executor import ExecutorContract
from consist.testing.contracts.filesystem import FileSystemContract
from consist.testing.contracts.frames import FrameEngineContract
from consist.testing.contracts.gaps import GapsDeclared
from consist.testing.contracts.store import StoreContract
from consist.testing.contracts.tables import TableStoreContract

__all__ = [
    "ExecutorContract",
    "FileSystemContract",
    "FrameEngineContract",
    "GapsDeclared",
    "StoreContract",
    "TableStoreContract",
]
