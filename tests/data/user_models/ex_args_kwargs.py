"""example_inputs() returns (args_tuple, kwargs_dict)."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, flag: bool = False) -> Tensor:
        if flag:
            return self.fc(x) * 2
        return self.fc(x) - 1


def example_inputs() -> tuple[tuple[Tensor], dict[str, bool]]:
    return ((torch.randn(2, 4),), {"flag": True})
