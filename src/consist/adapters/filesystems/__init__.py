"""Filesystem adapters: the local filesystem and its hash cache."""
