"""A query through ``run_query`` checks the views for new outputs once, not once per lookup
of the tracker (each check is a database round trip, paid by every aggregation)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import consist


def test_run_query_refreshes_the_views_once(tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    refresh = tracker.views.refresh
    monkeypatch.setattr(tracker.views, "refresh", lambda: calls.append(1) or refresh())
    assert consist.run_query(text("SELECT 1"), tracker=tracker) == [1]
    assert len(calls) == 1
    with consist.db_session(tracker) as session:
        assert session.execute(text("SELECT 2")).scalar() == 2
    assert len(calls) == 2


def test_a_non_tracker_is_still_refused_by_name(tracker) -> None:
    with pytest.raises(consist.ConsistError, match="is not a consist.Tracker"):
        consist.run_query(text("SELECT 1"), tracker=object())
