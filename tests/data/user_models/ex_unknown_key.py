"""example_inputs() returns a dict with a key that is no forward() parameter."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, flag: bool = False) -> Tensor:
        if flag:
            return self.fc(x) * 2
        return self.fc(x)


def example_inputs() -> dict[str, Tensor]:
    return {"x": torch.randn(2, 4), "attention_mask": torch.ones(2, 4)}
