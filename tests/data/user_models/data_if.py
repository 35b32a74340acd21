"""A data-dependent `if` in user forward() code."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)
        if y.sum() > 0:
            return y * 2
        return y - 1


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
