"""The container example needs a Docker engine: the one the container tests use (found or
started for the session by ``tests/containers/docker_engine.py``), so it runs here too."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "containers"))

import docker_engine  # noqa: E402


@pytest.fixture(scope="session")
def docker_host() -> Iterator[str | None]:
    """``DOCKER_HOST`` of a running engine (None where none can run: the example then says
    so and its test skips, printing why)."""
    try:
        found = docker_engine.find_engine()
        started = found is None
        if found is None:
            found = docker_engine.start_engine()
    except Exception:  # noqa: BLE001 - no SDK or no engine: the example reports it
        yield None
        return
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = found.base_url
    try:
        yield found.base_url
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        if started:
            found.stop()
