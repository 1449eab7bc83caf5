"""The Docker SDK behind the container executor: clients per engine address, and the
translation of the SDK's exceptions into Consist's container errors.

Podman serves the same API on its docker-compatible socket (``unix:///run/podman/podman.sock``
or ``$XDG_RUNTIME_DIR/podman/podman.sock``); pass that address as the engine. It is not
exercised by our tests.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from consist.core.containers import (
    ContainerEngineError,
    ContainerError,
    ContainerImageNotFoundError,
)
from consist.core.errors import redact

# One client per engine address for the whole process: both the api (resolving image IDs)
# and the executor (running jobs) use it, and a client costs an API-version round trip.
_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()
#: Seconds a single engine request (not a container run) may take.
REQUEST_TIMEOUT = 60.0


def address(engine: str | None) -> str:
    """The address a job's ``engine`` names (``None``: ``$DOCKER_HOST``, else the default)."""
    return engine or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def unreachable(url: str, exc: BaseException) -> ContainerEngineError:
    return ContainerEngineError(
        f"cannot reach the container engine at {redact(url)!r} ({type(exc).__name__}: "
        f"{redact(str(exc))[:300]}). Start the Docker daemon (e.g. 'sudo systemctl start "
        "docker', or 'dockerd &'), or point DOCKER_HOST (or container={'engine': ...}) at "
        "a running engine."
    )


def client_for(engine: str | None) -> Any:
    """The cached SDK client for ``engine``; raises :class:`ContainerEngineError` if the
    engine does not answer."""
    url = address(engine)
    with _LOCK:
        client = _CLIENTS.get(url)
        if client is not None:
            return client
        try:
            import docker
        except ImportError as exc:  # pragma: no cover - the extra is part of the install
            raise ContainerError(
                "container steps need the Docker SDK: pip install 'consist[containers]'."
            ) from exc
        try:
            if engine is None and "DOCKER_HOST" in os.environ:
                client = docker.from_env(timeout=REQUEST_TIMEOUT)  # honours DOCKER_TLS_*
            else:
                client = docker.DockerClient(base_url=url, timeout=REQUEST_TIMEOUT)
        except Exception as exc:
            raise unreachable(url, exc) from exc
        if url.startswith("unix://"):
            # No proxy serves a local socket; skipping requests' scan of the proxy
            # variables saves about a millisecond on every call (a cache hit makes one).
            client.api.trust_env = False
        _CLIENTS[url] = client
        return client


def forget(engine: str | None) -> None:
    """Drop the cached client for ``engine`` (after the engine went away)."""
    with _LOCK:
        client = _CLIENTS.pop(address(engine), None)
    if client is not None:
        client.close()


@contextmanager
def translated(engine: str | None, image: str) -> Iterator[None]:
    """Turn the SDK's exceptions raised inside the block into container errors."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise ContainerImageNotFoundError(
            f"image {image!r} is not in the container engine at {redact(address(engine))!r}. "
            f"Build or load it there first (docker build -t {image} ., docker load -i "
            f"image.tar, or docker pull {image}); Consist never pulls images itself, so "
            "that the image a step ran is always the one you chose.",
            image=image,
        ) from exc
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
        if isinstance(exc, docker.errors.APIError) and exc.response is not None:
            raise ContainerEngineError(
                f"the container engine refused to create or start a container of image "
                f"{image!r}: {exc.explanation or exc}. Check that the command exists in the "
                "image and that every volume's host path is valid.",
                image=image,
            ) from exc
        forget(engine)
        raise unreachable(address(engine), exc) from exc


def resolve_image(engine: str | None, image: str) -> str:
    """The ID digest (``sha256:...``) of ``image`` in the engine: never the tag, which can
    be moved to another image at any time."""
    client = client_for(engine)
    with translated(engine, image):
        return str(client.api.inspect_image(image)["Id"])
