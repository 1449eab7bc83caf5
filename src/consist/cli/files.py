"""``consist validate`` and ``gc``: the files behind the records."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from consist.cli.common import (
    FAILED,
    DbOption,
    JsonOption,
    emit_json,
    open_tracker,
    progress_bar,
    reporting,
    table,
    wants_json,
)

# Statuses that make ``validate`` fail: the record promises bytes that are not there.
_PROBLEMS = ("missing", "altered")


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``gc`` to ``app``."""
    app.command("validate")(validate)
    app.command("gc")(gc)


def validate(
    verify_digests: Annotated[
        bool,
        typer.Option(
            "--verify-digests",
            help="Also re-read every file and compare it with its recorded digest.",
        ),
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every artifact, not only the problems.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check that every recorded file is still where it was recorded (and, with
    --verify-digests, unchanged). Exits 1 if any file is missing or altered.

    Outputs whose bytes `consist gc` deleted are reported as removed, not as problems.
    """
    from consist.api.housekeeping import Housekeeping

    quiet = wants_json(as_json)
    with open_tracker(db) as tracker, reporting(), progress_bar("checking files", quiet) as bar:
        checks = Housekeeping(tracker).validate(verify_digests, progress=bar)
    counts = {status: 0 for status in ("ok", "missing", "altered", "removed", "unreachable")}
    for check in checks:
        counts[check.status] += 1
    problems = [c for c in checks if c.status in _PROBLEMS]
    if quiet:
        emit_json(
            {
                "verified_digests": verify_digests,
                "counts": counts,
                "artifacts": [dataclasses.asdict(c) for c in checks],
            }
        )
    else:
        listed = checks if show_all else [c for c in checks if c.status != "ok"]
        if listed:
            table(
                None,
                ["status", "key", "uri", "producer", "detail"],
                [[c.status, c.key, c.uri, c.run_id, c.detail] for c in listed],
            )
        summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        typer.echo(f"{len(checks)} artifacts: {summary or 'none recorded'}")
        if problems:
            typer.echo(
                "error: some recorded files are missing or changed; re-run the steps that "
                "made them (the cache will not reuse them), or restore the files.",
                err=True,
            )
    if problems:
        raise typer.Exit(FAILED)


def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
    keep_last: Annotated[
        int,
        typer.Option(
            "--keep-last",
            metavar="N",
            min=1,
            help="Versions of each computation to keep, newest first.",
        ),
    ] = 1,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Only outputs last used longer ago than AGE (e.g. 30d, 12h, 2w).",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete the bytes of outputs nothing needs: outputs of failed or crashed runs, and
    older versions of a computation (same step, config and inputs; the code or the input
    bytes changed), that no run consumed.

    Only files inside the workspace and its mounts are touched. Provenance stays: the runs
    and artifacts remain queryable, marked as bytes removed, and a step whose outputs were
    deleted runs again the next time it is asked for.
    """
    from consist.api.housekeeping import Housekeeping, parse_age

    quiet = wants_json(as_json)
    with reporting():
        age = parse_age(older_than) if older_than is not None else None
    with open_tracker(db, writable=not dry_run) as tracker, reporting():
        keeper = Housekeeping(tracker)
        planned = keeper.plan_gc(keep_last=keep_last, older_than=age)
        if dry_run:
            removed, failed = planned, {}
        else:
            with progress_bar("deleting", quiet) as bar:
                report = keeper.collect(planned, progress=bar)
            removed, failed = report.removed, report.failed
    freed = sum(c.size or 0 for c in removed)
    if quiet:
        emit_json(
            {
                "dry_run": dry_run,
                "artifacts": [dataclasses.asdict(c) for c in removed],
                "bytes": freed,
                "failed": failed,
            }
        )
    else:
        if removed:
            table(
                None,
                ["key", "producer", "path", "size", "reason"],
                [[c.key, c.run_id, c.path, c.size, c.reason] for c in removed],
            )
        verb = "would delete" if dry_run else "deleted"
        typer.echo(f"{verb} {len(removed)} file{'' if len(removed) == 1 else 's'} ({freed} bytes)")
        for artifact_id, reason in failed.items():
            typer.echo(f"error: could not delete artifact {artifact_id}: {reason}", err=True)
    if failed:
        raise typer.Exit(FAILED)
