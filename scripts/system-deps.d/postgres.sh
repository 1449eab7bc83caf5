# PostgreSQL server binaries (initdb, pg_ctl) for the throwaway cluster of the PostgreSQL
# store's tests (tests/postgres_server.py); without them those tests skip.
PACKAGES+=(postgresql)
