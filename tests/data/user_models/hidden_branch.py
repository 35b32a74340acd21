"""No knob to find, yet trace gets it wrong: the data-dependent choice is a conditional
expression on `float(tensor)` (no `if` statement, no tensor truth value), which knob
discovery does not treat as a knob; only the no-knob baseline can catch it."""

import torch
from torch import Tensor, nn


def helper(y: Tensor) -> Tensor:
    return y * 2 if float(y.sum()) > 0 else y - 1


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> Tensor:
        return helper(self.fc(x))


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
