"""``consist explain``, ``diff`` and ``preview``."""

from __future__ import annotations

import json

from cli_helpers import Recorded, table_rows


def test_explain_a_miss_names_the_changed_config_key(recorded: Recorded) -> None:
    run_id = recorded.runs["second"]
    shown = recorded.invoke("explain", run_id)
    data = json.loads(recorded.invoke("explain", run_id, "--json").stdout)
    assert shown.exit_code == 0
    assert data["cache_hit"] is False
    assert data["compared_to"] == recorded.runs["first"]
    assert data["changes"] == [{"component": "config", "what": "factor", "old": 2, "new": 3}]
    assert shown.stdout.splitlines()[0] == data["summary"]
    assert ["config", "factor", "2", "3"] in table_rows(shown.stdout)


def test_explain_a_hit_names_its_source(recorded: Recorded) -> None:
    data = json.loads(recorded.invoke("explain", recorded.runs["hit"], "--json").stdout)
    assert data["cache_hit"] is True and data["source_run_id"] == recorded.runs["second"]
    shown = recorded.invoke("explain", recorded.runs["hit"])
    assert f"reused run {recorded.runs['second']}" in shown.stdout


def test_explain_an_unknown_run_exits_1(recorded: Recorded) -> None:
    result = recorded.invoke("explain", "nope")
    assert result.exit_code == 1 and "consist runs" in result.stderr


def test_diff_lists_fields_signature_config_and_outputs(recorded: Recorded) -> None:
    a, b = recorded.runs["first"], recorded.runs["second"]
    shown = recorded.invoke("diff", a, b)
    data = json.loads(recorded.invoke("diff", a, b, "--json").stdout)
    assert shown.exit_code == 0
    assert data["same"] is False
    changes = {(c["section"], c["what"]): (c["old"], c["new"]) for c in data["changes"]}
    assert changes[("config", "factor")] == (2, 3)
    assert changes[("fields", "tags")] == (["prep"], ["prep", "final"])
    assert ("signature", "config_digest") in changes
    assert ("signature", "code_digest") not in changes  # same function
    assert ("outputs", "cleaned") in changes
    assert not any(section == "inputs" for section, _ in changes)  # same raw.csv
    rows = table_rows(shown.stdout)
    assert len(rows) == len(data["changes"])
    assert ["config", "factor", "2", "3"] in rows


def test_diff_of_a_run_with_itself_says_so(recorded: Recorded) -> None:
    run_id = recorded.runs["first"]
    shown = recorded.invoke("diff", run_id, run_id)
    assert shown.exit_code == 0 and "do not differ" in shown.stdout
    assert json.loads(recorded.invoke("diff", run_id, run_id, "--json").stdout)["same"] is True
    assert recorded.invoke("diff", run_id, "nope").exit_code == 1


def test_preview_shows_the_first_rows(recorded: Recorded) -> None:
    shown = recorded.invoke("preview", "summary")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(recorded.invoke("preview", "cleaned", "-n", "2", "--json").stdout)
    assert data["kind"] == "table" and data["key"] == "cleaned"
    assert [c["name"] for c in data["columns"]] == ["a", "b"]
    assert data["rows_total"] == 3
    # the newest "cleaned" is the scenario's 2040 step: factor 2040
    assert data["rows"] == [{"a": 2040, "b": 4080}, {"a": 6120, "b": 8160}]
    table = recorded.invoke("preview", "cleaned", "-n", "2")
    assert table_rows(table.stdout) == [["2040", "4080"], ["6120", "8160"]]


def test_preview_by_artifact_id(recorded: Recorded) -> None:
    outputs = json.loads(recorded.invoke("artifacts", recorded.runs["first"], "--json").stdout)
    cleaned = next(a for a in outputs if a["direction"] == "output")
    data = json.loads(recorded.invoke("preview", cleaned["id"], "--json").stdout)
    assert data["rows"][0] == {"a": 2, "b": 4}  # factor 2


def test_preview_errors(recorded: Recorded) -> None:
    missing = recorded.invoke("preview", "nothing")
    assert missing.exit_code == 1 and "consist search" in missing.stderr
    assert recorded.invoke("preview", "cleaned", "-n", "0").exit_code == 2
