"""A loop over a forward() int keeps its Loop under TorchScript; inside the body a
submodule's instance attribute is frozen: the divergence sits inside the Loop body."""

import torch
from torch import nn


class Step(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.double = False
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.double:  # noqa: SIM108 (the statement is the point: a Python if)
            x = x * 2.0
        else:
            x = x * 3.0
        return self.lin(x)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.step = Step()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, n: int = 2) -> torch.Tensor:
        for _ in range(n):
            x = torch.tanh(self.step(x))
        return self.head(x)


def example_inputs():
    return (torch.randn(2, 4), 2)
