"""The plugin module named by the ``consist.plugins`` entry point.

Consist imports it when it discovers plugins, so it must stay cheap: it names the executor
class by a dotted string and never imports it.
"""

from __future__ import annotations

from consist.plugin import ExecutorSpec, hookimpl


@hookimpl
def consist_executors() -> list[ExecutorSpec]:
    return [
        ExecutorSpec(
            name="stopwatch",
            factory="consist_stopwatch.executor:StopwatchExecutor",
            capabilities=("in-process", "timings"),
        )
    ]
