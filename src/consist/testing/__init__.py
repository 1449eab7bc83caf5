"""Test support shipped with Consist: core-only fakes and reusable contract suites."""
