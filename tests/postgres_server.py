"""A throwaway PostgreSQL cluster for the test session, and a fresh database per test.

The cluster is Debian's ``postgresql`` (installed by ``scripts/system-deps.d/postgres.sh``):
``initdb`` into a temporary folder, started on 127.0.0.1 with a free port, stopped and
deleted when the session ends. PostgreSQL refuses to run as root, so when the tests run as
root the server runs as the ``postgres`` system user (``runuser``), in a folder it owns.
Durability is switched off (``fsync=off``): the cluster lives for one session, and creating
a database per test then costs a few milliseconds instead of several fsyncs.

When no server can be started, :func:`start_cluster` returns the reason and the tests that
need one skip, printing it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SERVER_USER = "postgres"


@dataclass
class PostgresCluster:
    """A running cluster: its data folder, port and the binaries that manage it."""

    bindir: Path
    root: Path
    port: int
    run_as: list[str] = field(default_factory=list)
    user: str = "consist"
    password: str = "s3cret-pw"
    databases: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """The libpq URL of ``database`` on this cluster (with credentials)."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run ``sql`` as the cluster's superuser (autocommit)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # test-only literal SQL

    def new_database(self, template: str = "template1") -> str:
        """Create a database (a copy of ``template``) and return its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.databases.append(name)
        return self.url(name)

    def consist_template(self) -> str:
        """The name of a database holding Consist's (empty) schema, made on first use: a
        copy of it costs less than creating the schema in every test's database."""
        name = "consist_template"
        if name not in self.databases:
            from consist.adapters.stores.postgres_ import PostgresStore

            self.admin(f'CREATE DATABASE "{name}"')
            self.databases.append(name)
            PostgresStore(self.url(name)).close()
        return name

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (closing anything still connected to it)."""
        name = url.rsplit("/", 1)[-1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        _run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate"]
            + ["-w", "stop"],
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster() -> PostgresCluster | str:
    """Start a throwaway cluster, or return why none could be started."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'consist[postgres]')"
    bindir = find_bindir()
    if bindir is None:
        return "PostgreSQL's initdb was not found (apt-get install postgresql)"
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="consist-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as"
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", SERVER_USER, "--"]
    cluster = PostgresCluster(bindir=bindir, root=root, port=free_port(), run_as=run_as)
    pwfile = root / "pw"
    pwfile.write_text(cluster.password + "\n")
    if run_as:
        os.chown(pwfile, account.pw_uid, account.pw_gid)
    try:
        _run(
            [*run_as, str(bindir / "initdb"), "-D", str(cluster.data), "-U", cluster.user]
            + ["--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={cluster.port} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c unix_socket_directories={root}"
            " -c max_connections=200"
        )
        _run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(cluster.data), "-o", options]
            + ["-l", str(root / "server.log"), "-w", "-t", "60", "start"]
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        log = root / "server.log"
        if log.exists():
            detail += "\n" + log.read_text()[-2000:]
        shutil.rmtree(root, ignore_errors=True)
        return f"could not start a PostgreSQL cluster with {bindir}: {detail.strip()}"
    return _wait_ready(cluster)


def _wait_ready(cluster: PostgresCluster) -> PostgresCluster | str:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.admin("SELECT 1")
            return cluster
        except psycopg.Error as exc:
            if time.monotonic() > deadline:
                cluster.stop()
                return f"the PostgreSQL cluster did not accept connections: {exc}"
            time.sleep(0.1)


# -- pytest fixtures (imported by the conftests that need a server) ---------------------------

_started: list[PostgresCluster | str] = []


def session_cluster() -> PostgresCluster | str:
    """One cluster per test process, started on first use and stopped at exit."""
    if not _started:
        import atexit

        got = start_cluster()
        _started.append(got)
        if isinstance(got, PostgresCluster):
            atexit.register(got.stop)
    return _started[0]


try:
    import pytest
except ImportError:  # pragma: no cover - the helper is also usable from scripts
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def postgres_cluster() -> PostgresCluster:
        """The session's PostgreSQL cluster; the test skips (saying why) without one."""
        got = session_cluster()
        if isinstance(got, str):
            pytest.skip(f"no PostgreSQL server: {got}")
        return got

    @pytest.fixture
    def postgres_url(postgres_cluster: PostgresCluster):  # type: ignore[no-untyped-def]
        """The URL of a fresh, empty database, dropped after the test."""
        url = postgres_cluster.new_database()
        yield url
        postgres_cluster.drop_database(url)

    @pytest.fixture
    def postgres_consist_url(postgres_cluster: PostgresCluster):  # type: ignore[no-untyped-def]
        """The URL of a fresh database already holding Consist's empty schema."""
        url = postgres_cluster.new_database(postgres_cluster.consist_template())
        yield url
        postgres_cluster.drop_database(url)
