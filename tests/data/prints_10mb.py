"""Writes 10 MB to stdout and stderr at import (and from forward); a working model."""

import os
import sys
import warnings

import torch
from torch import Tensor, nn

MARK = "PRINTED-BY-USER-CODE"
sys.stdout.write((MARK + "\n") * (5 * 1024 * 1024 // (len(MARK) + 1)))
sys.stderr.write((MARK + "-err\n") * (5 * 1024 * 1024 // (len(MARK) + 5)))
os.write(1, (MARK + "-fd1\n").encode())
os.write(2, (MARK + "-fd2\n").encode())
warnings.warn(MARK + "-warning", UserWarning, stacklevel=1)


class Net(nn.Module):
    def forward(self, flag: bool, x: Tensor) -> Tensor:
        print("PRINTED-BY-USER-CODE-forward")
        return torch.relu(x) if flag else x * 2


def example_inputs() -> tuple[Tensor]:
    return (torch.randn(2, 3),)
