"""example_inputs() returns (x, True): a tensor and a Python bool, in forward() order."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, flag: bool) -> Tensor:
        if flag:
            return self.fc(x) * 2
        return self.fc(x) - 1


def example_inputs() -> tuple[Tensor, bool]:
    return (torch.randn(2, 4), True)
