"""The SQL layer shared by every SQL metadata store.

``tables`` defines the schema once (SQLModel classes, re-exported as ``consist.models``);
``schema`` creates and versions it; ``statements``, ``rows``, ``ops``, ``facets`` and
``writer`` are the hand-written qmark SQL hot path; ``dialect`` is what differs per database,
``connection`` the leased, locked connection, ``hot`` the shared table catalogue; ``dbapi``
assembles them into :class:`SqlStore` over any DB-API connection. This package imports
nothing heavy: only ``tables`` and DDL compilation need SQLAlchemy/SQLModel.
"""
