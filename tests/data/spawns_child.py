"""Starts a sleeping child process at import; hangs afterwards when CFX_TEST_HANG is set."""

import os
import subprocess
import time

import torch
from torch import Tensor, nn

child = subprocess.Popen(["sleep", "1000"])
with open(os.environ["CFX_TEST_PIDFILE"], "w") as fh:
    fh.write(str(child.pid))
if os.environ.get("CFX_TEST_HANG"):
    time.sleep(1000)


class Net(nn.Module):
    def forward(self, flag: bool, x: Tensor) -> Tensor:
        return torch.relu(x) if flag else x


def example_inputs() -> tuple[Tensor]:
    return (torch.randn(2, 3),)
