"""Executors: where a step's callable runs."""
