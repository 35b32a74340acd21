"""forward() has a defaulted tensor parameter that example_inputs() does not give."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, mask: Tensor | None = None, flag: bool = False) -> Tensor:
        y = self.fc(x)
        if mask is not None:
            y = y * mask
        if flag:
            return y * 2
        return y - 1


def example_inputs() -> tuple[Tensor]:
    return (torch.randn(2, 4),)
