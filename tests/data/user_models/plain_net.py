"""No knobs, nothing for an exporter to get wrong."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.fc(x)) + 1


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
