"""Whole processes: the CLI in subprocesses, a pty, signals, time limits, corpora, key fuzz.

Everything here is marked `slow` (tests/conftest.py `SYSTEM_TESTS`)."""
