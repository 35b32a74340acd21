"""Pilot tests of the Textual app, and its SVG snapshots (`__snapshots__/`)."""
