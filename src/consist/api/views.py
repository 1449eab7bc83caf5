"""``tracker.views``: typed SQL views over the tabular outputs of every run.

A view named ``v_<table>`` unions the hot table of a schema (ingested rows) with the parquet
and csv outputs of completed runs that were logged with that schema, or whose key is the
table name or the key given at registration, read in place. Its class (``tracker.views.
Person``) is a SQLModel class for ``select()``, with the model's columns plus
``consist_run_id``, ``consist_artifact_id``, ``consist_scenario_id``, ``consist_year`` and
``consist_iteration``.

Views are brought up to date before every query through the tracker (``run_query``,
``db_session``, ``tracker.engine``) and when a class is looked up, and rebuilt only when
matching artifacts were added since the last build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist.api.schemas import model_schema, table_name, view_class
from consist.core.errors import ConsistError, ViewNotFoundError
from consist.core.model import validate_key
from consist.core.tables import TableSchema, ViewSource, plan_view

if TYPE_CHECKING:
    from consist.core.ports.tables import TableStore


@dataclass(slots=True)
class _View:
    model: Any
    name: str
    table: str
    schema: TableSchema
    names: tuple[str, ...]
    cls: type | None = None
    built: str | None = None  # fingerprint of the last build
    version: tuple[int, ...] | None = None
    files: tuple[Path, ...] = ()  # read in place by the last build


class ViewRegistry:
    """Registered schemas and their views; attribute access by model class or table name.

    Parameters
    ----------
    tables
        The store's table capability (called with what it is needed for).
    flush
        Writes queued records, before views are brought up to date.
    ingest
        ``ingest(source, table, model)``: loads a file the store cannot read in place.
    locate_uri
        ``locate_uri(uri, run_id)``: where a run's recorded bytes are now, or None.
    """

    def __init__(
        self,
        tables: Callable[[str], TableStore],
        flush: Callable[[], None],
        ingest: Callable[[ViewSource, str, Any], None],
        locate_uri: Callable[[str, str | None], Path | None],
    ) -> None:
        self._tables = tables
        self._flush = flush
        self._ingest = ingest
        self._locate_uri = locate_uri
        self._views: dict[str, _View] = {}

    def register(self, model: Any, key: str | None = None) -> type:
        """Register ``model`` (a SQLModel table class); return its view class.

        Parameters
        ----------
        model
            The schema. Its ``__tablename__`` names the hot table and the view
            (``v_<tablename>``).
        key
            Also include csv/parquet outputs logged under this artifact key.
        """
        table = table_name(model)
        if key is not None:
            validate_key(key, "view key")
        names = tuple(dict.fromkeys(n for n in (table, key) if n))
        view = _View(model, f"v_{table}", table, model_schema(model), names)
        existing = self._views.get(model.__name__)
        if existing is not None and existing.model is not model:
            raise ConsistError(
                f"a different schema class named {model.__name__} is already registered; "
                "rename one of the classes."
            )
        if existing is not None and existing.names == names:
            return self._class(existing)
        self._views[model.__name__] = view
        return self._class(view)

    def __getattr__(self, name: str) -> type:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> type:
        view = self._views.get(name) if isinstance(name, str) else None
        view = view or next(
            (v for v in self._views.values() if v.table == name or v.name == name), None
        )
        if view is None:
            known = ", ".join(sorted(self._views)) or "none"
            raise ViewNotFoundError(
                f"no view named {name!r} (registered: {known}); pass the schema in "
                "Tracker(schemas=[...]) or call tracker.views.register(Model)."
            )
        self.refresh()
        return self._class(view)

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __contains__(self, name: object) -> bool:
        return name in self._views

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self._views]

    def _class(self, view: _View) -> type:
        if view.cls is None:
            view.cls = view_class(view.model, view.name)
        return view.cls

    # -- keeping views current -----------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild the views whose matching artifacts changed since they were built."""
        if not self._views:
            return
        tables = self._tables("query views")
        self._flush()
        version = tables.tables_version()
        for view in self._views.values():
            # A file deleted since the build would make every query fail: rebuild without it.
            if view.version != version or not all(path.exists() for path in view.files):
                self._refresh(tables, view)
                view.version = version

    def _refresh(self, tables: TableStore, view: _View) -> None:
        sources = [self._resolve(s) for s in tables.view_sources(list(view.names), view.table)]
        plan, to_ingest = plan_view(
            view.name,
            view.table,
            view.schema,
            sources,
            lambda s: s.path is not None and tables.reads_in_place(s.path),
        )
        for source in to_ingest:
            self._ingest(source, view.table, view.model)
        fingerprint = f"{plan.fingerprint}:{tables.hot_columns(view.table) is not None}"
        if fingerprint != view.built:
            tables.build_view(plan)
            view.built = fingerprint
            view.files = tuple(s.path for s in plan.files if s.path is not None)

    def _resolve(self, source: ViewSource) -> ViewSource:
        path = self._locate_uri(source.uri, source.provenance.run_id)
        return replace(source, path=path)
