"""The recorder's journal files: what a later tracker can read back, and whose they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from consist.api.journal import FileJournal, dead_journals
from consist.api.processes import HOST


def _snapshot(root: Path, run_id: str) -> Path:
    return root / ".consist" / "runs" / f"{run_id}.json"


def test_entries_land_in_the_pending_folder_of_their_workspace(tmp_path: Path) -> None:
    journal = FileJournal()
    journal.append(_snapshot(tmp_path / "a", "r1"))
    journal.append(_snapshot(tmp_path / "b", "r2"))
    journal.append(_snapshot(tmp_path / "a", "r1"))
    (first,) = (tmp_path / "a" / ".consist" / "pending").glob("*.journal")
    lines = first.read_text().splitlines()
    assert json.loads(lines[0])["pid"] == os.getpid()
    assert [json.loads(line) for line in lines[1:]] == ["r1.json", "r1.json"]
    assert dead_journals(first.parent) == []  # this process is alive: not ours to import
    written = journal.rotate()
    assert sorted(written) == sorted(
        [first, *(tmp_path / "b" / ".consist" / "pending").glob("*.journal")]
    )
    journal.append(_snapshot(tmp_path / "a", "r3"))  # a new file after a rotation
    assert len(list(first.parent.glob("*.journal"))) == 2
    journal.discard(written)
    assert [p.exists() for p in written] == [False, False]


def test_a_dead_process_journal_is_found_and_a_cut_line_skipped(tmp_path: Path) -> None:
    folder = tmp_path / ".consist" / "pending"
    code = (
        "import sys; from pathlib import Path; from consist.api.journal import FileJournal\n"
        "j = FileJournal()\n"
        "j.append(Path(sys.argv[1]) / '.consist' / 'runs' / 'r1.json')\n"
        "j.append(Path(sys.argv[1]) / '.consist' / 'runs' / 'r2.json')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=60)
    (path,) = folder.glob("*.journal")
    with path.open("a") as handle:
        handle.write('"r3.js')  # killed in the middle of a write
    (found,) = dead_journals(folder)
    assert found.path == path and found.names == ["r1.json", "r2.json"]
    other_host = folder / "elsewhere.1.1.journal"
    other_host.write_text(json.dumps({"host": "elsewhere", "pid": 1}) + '\n"x.json"\n')
    (folder / "garbage.journal").write_text("not json\n")
    assert [j.path for j in dead_journals(folder)] == [path]


def test_journals_of_one_process_are_read_oldest_first_by_number(tmp_path: Path) -> None:
    folder = tmp_path / ".consist" / "pending"
    folder.mkdir(parents=True)
    header = json.dumps({"host": HOST, "pid": 2**22 + 12345})  # no such process
    for n, state in ((9, "old"), (10, "new")):
        document = json.dumps({"state": state})
        line = json.dumps({"name": "r1.json", "document": document})
        (folder / f"{HOST}.{2**22 + 12345}.{n}.journal").write_text(f"{header}\n{line}\n")
    found = dead_journals(folder)
    assert [j.path.name.split(".")[-2] for j in found] == ["9", "10"]
    held = {n: d for journal in found for n, d in journal.documents.items()}
    assert json.loads(held["r1.json"])["state"] == "new"
