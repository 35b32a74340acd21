"""Imports fine; forward() raises."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def forward(self, flag: bool, x: Tensor) -> Tensor:
        if flag:
            raise ValueError("boom in forward")
        return torch.relu(x)


def example_inputs() -> tuple[Tensor]:
    return (torch.randn(2, 3),)
