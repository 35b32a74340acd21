"""A model whose knobs are inherited from a base class defined in another file."""

import torch
from knob_base import GatedBase
from torch import Tensor


class Net(GatedBase):
    """Adds nothing but a bias to the base."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.ones(4))

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x) + self.bias


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
