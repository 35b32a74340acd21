"""example_inputs() returns a dict in another order than forward()'s parameters; the two
tensors have shapes that fail if they are swapped."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, mask: Tensor, flag: bool = False) -> Tensor:
        y = self.fc(x) * mask  # x: 2x4, mask: 2x1 (a swap fails in Linear)
        if flag:
            return y * 2
        return y


def example_inputs() -> dict[str, object]:
    return {"mask": torch.rand(2, 1), "flag": False, "x": torch.randn(2, 4)}
