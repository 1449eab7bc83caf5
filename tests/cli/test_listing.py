"""``consist runs``, ``show``, ``artifacts``, ``scenarios``, ``scenario``, ``search`` and
``summary`` on databases recorded through the public API; ``--json`` carries the table's
facts."""

from __future__ import annotations

import json

from cli_helpers import Recorded, table_rows


def _by_id(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in rows}


def test_runs_lists_every_run_newest_first_and_json_has_the_same_facts(
    recorded: Recorded,
) -> None:
    shown = recorded.invoke("runs")
    listed = recorded.invoke("runs", "--json")
    assert shown.exit_code == 0 and listed.exit_code == 0, shown.stderr + listed.stderr
    records = json.loads(listed.stdout)
    rows = table_rows(shown.stdout)
    assert [r[0] for r in rows] == [rec["id"] for rec in records]
    assert set(recorded.runs.values()) <= {rec["id"] for rec in records}
    for rec, row in zip(records, rows, strict=True):
        assert row[1:5] == [
            rec["model"],
            rec["status"],
            "yes" if rec["cache_hit"] else "no",
            rec["scenario"] or "-",
        ]
        assert row[5] == (str(rec["year"]) if rec["year"] is not None else "-")
    stamps = [rec["created_at"] for rec in records]
    assert stamps == sorted(stamps, reverse=True)


def test_runs_filters(recorded: Recorded) -> None:
    def ids(*args: str) -> set[str]:
        result = recorded.invoke("runs", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return {rec["id"] for rec in json.loads(result.stdout)}

    runs = recorded.runs
    steps = {runs["step_2030"], runs["step_2040"]}
    assert ids("--scenario", "baseline") == steps
    assert ids("--year", "2030") == {runs["step_2030"]}
    assert ids("--tag", "final") == {runs["second"], runs["hit"]}
    assert ids("--tag", "prep", "--tag", "final") == {runs["second"], runs["hit"]}
    assert ids("--status", "failed") == {runs["failed"]}
    assert ids("--model", "summarize") == {runs["summary"]}
    assert ids("--model", "clean", "--year", "2020") == {
        runs["first"],
        runs["second"],
        runs["hit"],
    }
    assert len(ids("--limit", "2")) == 2
    assert ids("--since", "1h") == ids("--limit", "0")
    assert ids("--since", "2999-01-01") == set()
    assert ids("--model", "nothing-like-it") == set()


def test_runs_usage_errors_exit_2_and_name_the_value(recorded: Recorded) -> None:
    bad_status = recorded.invoke("runs", "--status", "done")
    assert bad_status.exit_code == 2
    assert "'done'" in bad_status.stderr and "completed" in bad_status.stderr
    bad_since = recorded.invoke("runs", "--since", "yesterday")
    assert bad_since.exit_code == 2
    assert "'yesterday'" in bad_since.stderr and "7d" in bad_since.stderr
    assert recorded.invoke("runs", "--limit", "-1").exit_code == 2
    assert recorded.invoke("runs", "--bogus").exit_code == 2


def test_show_prints_every_field_and_the_artifacts(recorded: Recorded) -> None:
    run_id = recorded.runs["second"]
    shown = recorded.invoke("show", run_id)
    data = json.loads(recorded.invoke("show", run_id, "--json").stdout)
    assert shown.exit_code == 0
    fields = {row[0]: row[1] for row in table_rows(shown.stdout) if len(row) == 2}
    assert data["run"]["id"] == fields["id"] == run_id
    assert data["run"]["config"] == {"factor": 3}
    assert fields["config_digest"] == data["run"]["config_digest"]
    assert fields["tags"] == ", ".join(data["run"]["tags"]) == "prep, final"
    keys = {(a["direction"], a["key"]) for a in data["artifacts"]}
    assert keys == {("input", "path"), ("output", "cleaned")}
    for artifact in data["artifacts"]:
        assert artifact["uri"] in shown.stdout


def test_show_of_a_cache_hit_names_its_source(recorded: Recorded) -> None:
    data = json.loads(recorded.invoke("show", recorded.runs["hit"], "--json").stdout)
    assert data["run"]["cache_hit"] is True
    assert data["run"]["cache_source"] == recorded.runs["second"]


def test_show_an_unknown_run_exits_1_with_the_way_to_find_ids(recorded: Recorded) -> None:
    result = recorded.invoke("show", "no_such_run")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no run with id 'no_such_run'" in result.stderr
    assert "consist runs" in result.stderr
    assert "Traceback" not in result.output


def test_artifacts_lists_inputs_and_outputs(recorded: Recorded) -> None:
    run_id = recorded.runs["summary"]
    shown = recorded.invoke("artifacts", run_id)
    data = json.loads(recorded.invoke("artifacts", run_id, "--json").stdout)
    assert shown.exit_code == 0
    rows = table_rows(shown.stdout)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (a["direction"], a["key"], a["uri"]) for a in data
    ]
    producer = {a["key"]: a["run_id"] for a in data}
    assert producer == {"cleaned": recorded.runs["second"], "summary": run_id}
    assert all(a["bytes"] == "recorded" for a in data)
    assert recorded.invoke("artifacts", "nope").exit_code == 1


def test_scenarios_and_scenario(recorded: Recorded) -> None:
    listed = recorded.invoke("scenarios")
    data = json.loads(recorded.invoke("scenarios", "--json").stdout)
    assert listed.exit_code == 0
    assert [(d["id"], d["steps"]) for d in data] == [("baseline", 2)]
    row = _by_id(table_rows(listed.stdout))["baseline"]
    assert row[1:3] == [data[0]["status"], "2"]

    shown = recorded.invoke("scenario", "baseline")
    detail = json.loads(recorded.invoke("scenario", "baseline", "--json").stdout)
    assert shown.exit_code == 0
    steps = [s["id"] for s in detail["steps"]]
    assert steps == [recorded.runs["step_2030"], recorded.runs["step_2040"]]  # oldest first
    for step in steps:
        assert step in shown.stdout
    outputs = [a for a in detail["artifacts"] if a["direction"] == "output"]
    assert len(outputs) == 2 and all(a["uri"] in shown.stdout for a in outputs)

    missing = recorded.invoke("scenario", "nowhere")
    assert missing.exit_code == 1 and "consist scenarios" in missing.stderr


def test_search_finds_runs_and_artifacts_by_part_of_a_name(recorded: Recorded) -> None:
    data = json.loads(recorded.invoke("search", "SUMMAR", "--json").stdout)
    assert [r["id"] for r in data["runs"]] == [recorded.runs["summary"]]
    assert [a["key"] for a in data["artifacts"]] == ["summary"]
    by_description = json.loads(recorded.invoke("search", "first try", "--json").stdout)
    assert [r["id"] for r in by_description["runs"]] == [recorded.runs["first"]]
    shown = recorded.invoke("search", "summar")
    assert recorded.runs["summary"] in shown.stdout
    # LIKE wildcards are matched literally
    assert json.loads(recorded.invoke("search", "%", "--json").stdout) == {
        "runs": [],
        "artifacts": [],
    }
    nothing = recorded.invoke("search", "zzzz")
    assert nothing.exit_code == 0 and "nothing matches" in nothing.stderr


def test_summary_counts(recorded: Recorded) -> None:
    shown = recorded.invoke("summary")
    data = json.loads(recorded.invoke("summary", "--json").stdout)
    assert shown.exit_code == 0
    assert data["runs"] == 8
    assert data["runs_by_status"] == {"running": 0, "completed": 7, "failed": 1, "crashed": 0}
    assert data["cache_hits"] == 1
    assert data["scenarios"] == 1
    assert {m["model"]: m["runs"] for m in data["models"]} == {
        "clean": 5,
        "summarize": 1,
        "scenario": 1,
        "explode": 1,
    }
    facts = {row[0]: row[1] for row in table_rows(shown.stdout)}
    assert facts["runs"] == "8" and facts["cache hits"] == "1"
    assert facts["artifacts"] == str(data["artifacts"])
