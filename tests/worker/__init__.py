"""Tests that run real worker processes and sessions."""
