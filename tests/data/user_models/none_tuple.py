"""forward() returns `(y, None)`: TorchScript keeps the None as an empty optional output."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, flag: bool = False) -> tuple[Tensor, None]:
        y = self.fc(x)
        if flag:
            y = y * 2
        return y, None


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
