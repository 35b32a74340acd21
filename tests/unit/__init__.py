"""Pure-core tests: no worker process, no app."""
