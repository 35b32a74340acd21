"""Comparisons and judgements over results: numpy and onnx, no torch."""
