"""The store and table contracts on PostgreSQL (a throwaway cluster on 127.0.0.1), plus what
only a server store has to get right: errors without passwords, reconnecting, many writers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("psycopg")

from consist.adapters.stores.postgres_ import PostgresStore  # noqa: E402
from consist.adapters.stores.postgres_conn import to_pyformat  # noqa: E402
from consist.core.errors import StoreError  # noqa: E402
from consist.core.ports.store import RunQuery, WriteBatch  # noqa: E402
from consist.testing.contracts import StoreContract  # noqa: E402
from consist.testing.contracts.store import make_artifact, make_run, out, produced  # noqa: E402
from consist.testing.contracts.tables import TableStoreContract  # noqa: E402


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[PostgresStore]:
        s = PostgresStore(postgres_url)
        yield s
        s.close()


class TestPostgresTables(TableStoreContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[PostgresStore]:
        s = PostgresStore(postgres_url)
        yield s
        s.close()


def test_qmark_statements_become_pyformat() -> None:
    assert to_pyformat("SELECT ? WHERE k LIKE 'w:%' AND x = '?'") == (
        "SELECT %s WHERE k LIKE 'w:%%' AND x = '?'"
    )
    assert to_pyformat('SELECT "a?b" FROM t WHERE v = ?') == 'SELECT "a?b" FROM t WHERE v = %s'


def test_unreachable_server_is_named_without_the_password() -> None:
    from postgres_server import free_port

    url = f"postgresql://alice:hunter2pw@127.0.0.1:{free_port()}/prov"
    with pytest.raises(StoreError) as info:
        PostgresStore(url, lock_timeout=1)
    message = str(info.value)
    assert "hunter2pw" not in message and "postgresql://***@127.0.0.1" in message
    assert "/prov" in message and "pg_isready" in message and "Connection refused" in message


def test_wrong_password_and_missing_database_name_the_fix(postgres_cluster) -> None:
    bad_password = postgres_cluster.url("postgres").replace(postgres_cluster.password, "nope-pw")
    with pytest.raises(StoreError) as info:
        PostgresStore(bad_password)
    assert "nope-pw" not in str(info.value) and "password" in str(info.value)
    missing = postgres_cluster.url("no_such_db")
    with pytest.raises(StoreError) as info:
        PostgresStore(missing)
    assert postgres_cluster.password not in str(info.value)
    assert "createdb" in str(info.value)


def test_repr_and_errors_redact_the_password(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        assert "s3cret-pw" not in repr(store)


def test_two_stores_share_the_database(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as first, PostgresStore(postgres_url) as second:
        produced(first, make_run("r1", signature="s"), data="a1")
        found = second.find_cached("s")
        assert found is not None and found.outputs["data"].id == "a1"


def test_a_dropped_connection_is_reopened(postgres_cluster, postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.apply(WriteBatch(runs=[make_run("r1")]))
        name = postgres_url.rsplit("/", 1)[-1]
        postgres_cluster.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        store.apply(WriteBatch(runs=[make_run("r2", t=1)]))
        assert {r.id for r in store.find_runs(RunQuery())} == {"r1", "r2"}


def test_writers_inserting_the_same_artifact_do_not_collide(postgres_url: str) -> None:
    import threading

    stores = [PostgresStore(postgres_url) for _ in range(4)]
    shared = make_artifact("shared", None)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                run = make_run(f"w{n}-{i}", t=i)
                stores[n].apply(
                    WriteBatch(runs=[run], artifacts=[shared], links=[out(run.id, "shared", "x")])
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(stores[0].find_runs(RunQuery())) == 80
    finally:
        for store in stores:
            store.close()


def test_plugin_spec_chooses_postgres_for_its_urls() -> None:
    from consist.adapters.stores.plugin import consist_stores
    from consist.core.registry import Registry

    registry = Registry()
    registry.extend(consist_stores())
    for url in ("postgresql://u@h/db", "postgres://h/db", "postgresql+psycopg://h/db"):
        assert registry.store_for(url).load() is PostgresStore
