"""Untrusted `.onnx` files, loaded safely and walked as a lazy tree."""
