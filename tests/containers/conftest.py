"""Fixtures for the container tests: a real Docker engine and tiny local busybox images.

The engine is found (``$DOCKER_HOST``, the system socket) or started here for the session
(``dockerd``, as root) and stopped at the end if we started it. Where no engine can run,
every test in this folder is skipped, and the reason is printed in the summary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import contextlib

import docker_engine  # noqa: E402

from consist import Tracker  # noqa: E402
from consist.testing.contracts.gaps import mark_gaps  # noqa: E402

HERE = Path(__file__).parent


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    # Declared contract gaps become strict xfails; a conftest hook sees every collected
    # item, so only this folder's are marked (tests/contract marks its own).
    mark_gaps([item for item in items if HERE in Path(str(item.fspath)).parents])


@pytest.fixture(scope="session")
def engine() -> Iterator[docker_engine.Engine]:
    try:
        import docker  # noqa: F401
    except ImportError:
        pytest.skip("the Docker SDK is not installed: pip install -e '.[dev]'")
    found = docker_engine.find_engine()
    if found is None:
        try:
            found = docker_engine.start_engine()
        except docker_engine.EngineUnavailable as exc:
            pytest.skip(f"no Docker engine can run here: {exc}")
    previous = os.environ.get("DOCKER_HOST")
    # Consist finds the engine the way a user's does: through DOCKER_HOST.
    os.environ["DOCKER_HOST"] = found.base_url
    try:
        yield found
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        found.stop()


@pytest.fixture(scope="session")
def docker_client(engine: docker_engine.Engine) -> Iterator[Any]:
    client = engine.client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(docker_client: Any) -> docker_engine.ImageSet:
    return docker_engine.build_test_images(docker_client)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["duckdb", "sqlite"])
def tracker(workdir: Path, request: pytest.FixtureRequest) -> Iterator[Tracker]:
    with Tracker(workdir / "ws", workdir / f"provenance.{request.param}") as t:
        yield t


@pytest.fixture
def moving_tag(docker_client: Any, images: docker_engine.ImageSet) -> Iterator[str]:
    """A tag a test may point at either variant; starts on variant one."""
    tag = f"{docker_engine.IMAGE_REPO}:moving"
    docker_client.images.get(images.one_id).tag(tag)
    yield tag
    with contextlib.suppress(Exception):
        docker_client.images.remove(tag)
