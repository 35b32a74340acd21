"""An int forward() parameter drives a Python loop."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, n: int = 1) -> Tensor:
        y = self.fc(x)
        for _ in range(n):
            y = y + 1
        return y


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
