"""The run open on one tracker, and what surrounds a step while it executes.

:class:`OpenRun` is the :class:`~consist.core.ports.runs.SessionShell` the core's runner
works through: it makes the executing run the current one (for ``consist.log_*`` and
``consist.current_tracker()``), builds the ``RunContext`` a step asks for, and captures files
written into a folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from consist.api.capture import Capture
from consist.api.context import RunContext, current_tracker_var
from consist.core.errors import ActiveRunError
from consist.core.model import Run
from consist.core.session import RunSession


class OpenRun:
    """At most one run open per tracker; while open it is also the current run."""

    def __init__(self) -> None:
        #: The tracker: published as the current one while a run is open, handed to the
        #: RunContext, yielded by ``start_run`` / ``trace``.
        self.owner: Any = None
        self.session: RunSession | None = None
        self.current_run: Run | None = None
        self._context_token: Any = None

    def enter(self, session: RunSession) -> None:
        self.session = session
        self.current_run = session.run
        self._context_token = current_tracker_var.set(self.owner)

    def leave(self) -> None:
        self.session = None
        self.current_run = None
        token, self._context_token = self._context_token, None
        try:
            current_tracker_var.reset(token)
        except (ValueError, RuntimeError):  # closed from another context than it was opened in
            current_tracker_var.set(None)

    @contextmanager
    def activate(self, session: RunSession) -> Iterator[None]:
        previous = self.session
        if previous is not None:
            raise ActiveRunError(
                f"tracker.run() was called while run {previous.run.id!r} is open on the same "
                "tracker; end that run first, or run the step outside it."
            )
        self.enter(session)
        try:
            yield
        finally:
            self.leave()

    def context(self, session: RunSession) -> RunContext:
        return RunContext(self.owner, session)

    def capture(self, session: RunSession, folder: Path, pattern: str) -> Capture:
        """Files written into ``folder`` while the step runs become its outputs."""
        return Capture(session, folder, pattern)
