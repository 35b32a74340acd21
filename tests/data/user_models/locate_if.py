"""A forward() bool keeps its If under TorchScript; inside the then-branch a submodule's
instance attribute is frozen: the divergence sits inside the If's then_branch."""

import torch
from torch import nn


class Scale(nn.Module):
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
        self.scale = Scale()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, gate: bool = True) -> torch.Tensor:
        if gate:  # noqa: SIM108
            x = self.scale(x)
        else:
            x = torch.tanh(x)
        return self.head(x)


def example_inputs():
    return (torch.randn(2, 4), True)
