"""Optional[bool] and `bool | None` forward() parameters."""

from typing import Optional

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(
        self,
        x: Tensor,
        a: Optional[bool] = None,  # noqa: UP045 (the typing spelling is the point)
        b: bool | None = None,
    ) -> Tensor:
        y = self.fc(x)
        if a is None:
            y = y + 1
        elif a:
            y = y * 2
        if b:
            y = y - 3
        return y


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
