"""A user model file for tests: knobs in all three places, and example_inputs()."""

from typing import Final

import torch
from torch import Tensor, nn


class UserNet(nn.Module):
    """Scales, optionally rectifies, then adds a bias a few times."""

    double: Final[bool] = False

    def __init__(self, repeats: int = 2, hidden: int = 4) -> None:
        super().__init__()
        self.repeats = repeats
        self.hidden = hidden
        self.fc = nn.Linear(4, hidden)

    def forward(self, use_relu: bool, x: Tensor) -> Tensor:
        if use_relu:
            x = torch.relu(x)
        for _ in range(self.repeats):
            x = x + 1
        if self.double:
            x = x * 2
        return self.fc(x)


def example_inputs() -> tuple[Tensor]:
    return (torch.randn(2, 4),)
