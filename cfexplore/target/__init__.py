"""What to run, found without importing it: specs, knobs, inputs and feeds."""
