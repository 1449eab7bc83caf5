"""A real S3-compatible server for tests: moto's threaded server on 127.0.0.1.

Usage in a test module::

    @pytest.fixture(scope="module")
    def s3():
        with moto_server() as server:
            yield server

The server listens on a free port; :class:`S3Server` gives its endpoint, storage options for
s3fs, a boto3 client for setting up (or tampering with) objects, and the number of GET
requests it has served, so tests can prove that nothing was downloaded. Dummy credentials
are put in the environment while the server runs. ``moto`` and ``boto3`` are imported only
when a server is started; :func:`moto_server` raises ``RuntimeError`` saying why when it
cannot start one, which callers turn into a skip.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

#: Dummy credentials the server accepts (moto accepts any); never real ones.
ACCESS_KEY = "consist-test-access-key"
SECRET_KEY = "consist-test-secret-key-do-not-log"
_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class S3Server:
    """A running moto server."""

    endpoint: str
    _gets: list[str] = field(default_factory=list, repr=False)

    @property
    def storage_options(self) -> dict[str, Any]:
        """s3fs options pointing at this server (credentials come from the environment)."""
        return {"endpoint_url": self.endpoint}

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def make_bucket(self, name: str) -> str:
        """Create bucket ``name`` (fine if it exists) and return ``"s3://<name>"``."""
        client = self.client()
        with suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
        return f"s3://{name}"

    def get_count(self, key_part: str = "") -> int:
        """GET requests for object keys containing ``key_part`` served so far."""
        return sum(1 for path in self._gets if key_part in path)


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """Start moto's S3 server on 127.0.0.1 with dummy credentials in the environment."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            f"moto[server] is not installed ({exc}); pip install 'consist[test]'"
        ) from exc
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except Exception as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"moto's server could not start on 127.0.0.1:{port}: {exc}") from exc
    result = S3Server(f"http://127.0.0.1:{port}")
    _count_gets(server, result._gets)
    saved = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(_ENV)
    try:
        yield result
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


def _count_gets(server: Any, log: list[str]) -> None:
    """Record the path of every object GET the server answers (a WSGI wrapper around the
    app the running server dispatches to; listings are not counted)."""
    wsgi = getattr(server, "_server", None)
    if wsgi is None or not hasattr(wsgi, "app"):  # pragma: no cover - moto internals moved
        return
    inner = wsgi.app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        query = environ.get("QUERY_STRING", "")
        if environ.get("REQUEST_METHOD") == "GET" and "list-type" not in query:
            log.append(str(environ.get("PATH_INFO", "")))
        return inner(environ, start_response)

    wsgi.app = counting


def server_or_skip(why: str) -> Iterator[S3Server]:
    """The body of a pytest fixture: a moto server for the fixture's scope, or the test
    skipped with ``why`` and the reason the server could not start."""
    import logging

    import pytest

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    try:
        serving = moto_server()
        server = serving.__enter__()
    except RuntimeError as exc:
        pytest.skip(f"{why}: {exc}")
    try:
        yield server
    finally:
        serving.__exit__(None, None, None)
