"""The recorder's write-ahead journal as files: ``.consist/pending/<host>.<pid>.<n>.journal``.

Each line after a JSON header names a snapshot (``runs/<run_id>.json`` of the same
workspace) whose rows are queued. Appending is one ``write`` to a file kept open, so noting an
event costs microseconds; a file is created only for the first event after a flush. A file
is removed once every event it lists is committed. The header names the writing process, so
a tracker opening the database later imports the runs of journals whose process is gone and
leaves a live process's journal alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from consist.api.processes import HOST, is_alive, this_process_token
from consist.core.recorder import PENDING_DIR

SUFFIX = ".journal"


class FileJournal:
    """A :class:`~consist.core.recorder.Journal` over files in each workspace's pending folder.

    Not thread-safe by itself: the recorder calls it under its lock.
    """

    def __init__(self) -> None:
        self._open: dict[Path, int] = {}  # pending folder -> descriptor of its current file
        self._paths: dict[Path, Path] = {}  # pending folder -> path of its current file
        self._count = 0
        self._pid = os.getpid()

    keeps_documents = True

    def append(self, snapshot: Path, document: bytes | None = None) -> None:
        if os.getpid() != self._pid:  # a forked child: its parent's files are not its own
            self._open.clear()
            self._paths.clear()
            self._pid = os.getpid()
        folder = snapshot.parent.parent / PENDING_DIR
        fd = self._open.get(folder)
        if fd is None:
            fd = self._start(folder)
        if document is None:
            entry = json.dumps(snapshot.name)
        else:  # the run's state itself (one line: JSON escapes any newline in it)
            entry = json.dumps({"name": snapshot.name, "document": document.decode("utf-8")})
        os.write(fd, entry.encode("utf-8") + b"\n")

    def rotate(self) -> list[Path]:
        written = list(self._paths.values())
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
        self._paths.clear()
        return written

    def discard(self, token: list[Path] | None) -> None:
        for path in token or ():
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:  # left for the next tracker, which imports it harmlessly
                pass

    def _start(self, folder: Path) -> int:
        folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        path = folder / f"{HOST}.{os.getpid()}.{self._count}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        header = {"consist_journal": 1, "host": HOST, "pid": os.getpid()}
        header["started"] = this_process_token()
        os.write(fd, json.dumps(header).encode("utf-8") + b"\n")
        self._open[folder], self._paths[folder] = fd, path
        return fd


@dataclass(frozen=True, slots=True)
class DeadJournal:
    """A journal left by a process that is gone: the snapshot names it lists, and the
    newest state it holds itself of each run that had no snapshot file for it."""

    path: Path
    names: list[str]
    documents: dict[str, bytes]


def dead_journals(folder: Path) -> list[DeadJournal]:
    """The journals in ``folder`` whose writing process has ended (on this host).

    Journals of live processes, of other hosts (whose processes cannot be seen from here)
    and journals that cannot be read are left alone. A last line cut short by the death of
    its process is skipped.
    """
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}"), key=_written_order):
        try:
            lines = path.read_bytes().decode("utf-8", "replace").splitlines()
            header = json.loads(lines[0]) if lines else {}
            if not isinstance(header, dict) or header.get("host") != HOST:
                continue
            pid, started = header.get("pid"), header.get("started")
            token = started if isinstance(started, str) else None
            if not isinstance(pid, int) or is_alive(pid, token):
                continue
            entries = [_entry(line) for line in lines[1:]]
        except (OSError, ValueError):
            continue
        names = [e[0] for e in entries if e is not None]
        documents = {e[0]: e[1] for e in entries if e is not None and e[1] is not None}
        found.append(DeadJournal(path, names, documents))
    return found


def _written_order(path: Path) -> tuple[str, int]:
    """``<host>.<pid>.<n>.journal`` sorted by writer, then by ``n`` as a number (a process's
    tenth journal is newer than its ninth), so later journals' states win."""
    writer, _, number = path.name.removesuffix(SUFFIX).rpartition(".")
    return (writer, int(number)) if number.isdigit() else (path.name, -1)


def _entry(line: str) -> tuple[str, bytes | None] | None:
    """``(snapshot name, document it holds or None)`` of a journal line; None for a line
    that is not one (the last line of a process killed mid-write)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if isinstance(entry, str):
        return entry, None
    if isinstance(entry, dict):
        name, document = entry.get("name"), entry.get("document")
        if isinstance(name, str) and isinstance(document, str):
            return name, document.encode("utf-8")
    return None
