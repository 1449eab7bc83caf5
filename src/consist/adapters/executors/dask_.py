"""The Dask executor: steps and sweeps on a Dask distributed cluster.

As a plain :class:`~consist.core.ports.executor.Executor` (``tracker.run(...,
executor="dask")``) it runs one step's call on a worker and hands the return value back;
the run is recorded by the calling process as usual. As a
:class:`~consist.core.ports.executor.TaskExecutor` it runs a sweep's tasks
(``tracker.map(..., executor="dask")``): each task records its own run into the shared
store, so this adapter only submits, waits, and reports how each task ended, in order.

Workers that die are Dask's business: the scheduler moves their unfinished tasks to the
surviving workers (up to its ``allowed-failures``), so a lost worker costs time, not items.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from consist.core.errors import ArgumentTypeError, ConsistError, redact
from consist.core.ports.executor import TaskOutcome


def _call(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
    return fn(**kwargs)


class DaskExecutor:
    """Runs work on a Dask cluster through a ``distributed.Client``.

    Parameters
    ----------
    client : distributed.Client, optional
        The client to submit through (not closed by this executor).
    address : str, optional
        A scheduler address (``"tcp://host:8786"``) to connect a new client to, closed with
        :meth:`close`. Without ``client`` or ``address`` the current default client
        (``distributed.get_client()``) is used.

    Raises
    ------
    ConsistError
        If no client is given and none can be found or connected to; the message says how
        to start or name one.
    """

    name = "dask"

    def __init__(self, client: Any = None, address: str | None = None) -> None:
        import distributed

        self._owned = False
        if client is not None:
            if not isinstance(client, distributed.Client):
                raise ArgumentTypeError(
                    f"dask_client={client!r:.80} is a {type(client).__name__}; give a "
                    "distributed.Client, or a scheduler address such as 'tcp://host:8786'."
                )
            self.client = client
            return
        if address is not None:
            try:
                self.client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ConsistError(
                    f"cannot reach a Dask scheduler at {redact(address)!r}: {exc}. Start one "
                    "(`dask scheduler`, or distributed.LocalCluster()) and pass its address, "
                    "or pass dask_client=."
                ) from exc
            self._owned = True
            return
        try:
            self.client = distributed.get_client()
        except ValueError as exc:
            raise ConsistError(
                "executor='dask' needs a Dask cluster: pass dask_client=distributed.Client(...) "
                "or dask_address='tcp://host:8786' (for one machine, "
                "distributed.Client(distributed.LocalCluster()) starts one)."
            ) from exc

    def execute(self, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        """``fn(**kwargs)`` on a worker; its exception is raised here."""
        future = self.client.submit(_call, fn, dict(kwargs), pure=False)
        return future.result()

    def map_tasks(self, task: Callable[[Any], Any], payloads: Sequence[Any]) -> list[TaskOutcome]:
        """Run ``task`` on every payload across the cluster; outcomes in input order."""
        import distributed

        if not payloads:
            return []
        batch = uuid.uuid4().hex[:8]
        # Explicit keys: each payload is its own task even when two payloads are equal.
        keys = [f"consist-step-{batch}-{i}" for i in range(len(payloads))]
        futures = self.client.map(task, list(payloads), key=keys, pure=False)
        distributed.wait(futures)
        outcomes = []
        for future in futures:
            try:
                outcomes.append(TaskOutcome(value=future.result()))
            except Exception as exc:  # the task's own failure, or a worker lost too often
                outcomes.append(TaskOutcome(error=exc))
        return outcomes

    def close(self) -> None:
        """Close the client if this executor opened it. Idempotent."""
        if self._owned:
            self._owned = False
            self.client.close()
