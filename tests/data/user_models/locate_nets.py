"""A frozen attribute inside preserved control flow, for `locate`.

`Scale.double` is an instance attribute: TorchScript folds it. Around it, a forward() int
keeps a Loop (`LoopNet`) and a forward() bool keeps an If (`IfNet`), so the divergence at
`scale.double=true` sits inside the Loop body, and inside the If's then_branch.
"""

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


class LoopNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = Scale()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, n: int = 2) -> torch.Tensor:
        for _ in range(n):
            x = torch.tanh(self.scale(x))
        return self.head(x)


class IfNet(nn.Module):
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
    """`x` only: `n` and `gate` keep their defaults (2 and True)."""
    return (torch.randn(2, 4),)
