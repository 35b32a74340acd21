"""The `cfexplore` command."""
