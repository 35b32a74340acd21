"""cfexplore: did your Python ifs and loops survive the ONNX export?

The core package: pure, UI-free, and quick to import (torch and onnxruntime are imported
inside the functions that need them, mostly in the worker process).
"""

__version__ = "0.1.0"
