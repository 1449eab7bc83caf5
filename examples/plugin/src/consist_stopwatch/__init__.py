"""consist-stopwatch: an example Consist plugin whose executor times every step it runs."""

from consist_stopwatch.executor import StopwatchExecutor, Timing

__all__ = ["StopwatchExecutor", "Timing"]
