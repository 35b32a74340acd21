"""The child process that holds user code, torch and ONNX Runtime sessions."""
