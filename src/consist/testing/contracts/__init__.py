"""Contract suites every adapter of a port must pass; subclass one and provide its fixture."""

from consist.testing.contracts.filesystem import FileSystemContract
from consist.testing.contracts.store import StoreContract

__all__ = ["FileSystemContract", "StoreContract"]
