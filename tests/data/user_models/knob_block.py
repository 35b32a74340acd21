"""A knob on a submodule: `self.block.use_skip` is read in the block's own forward()."""

import torch
from torch import Tensor, nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.use_skip = True

    def forward(self, x: Tensor) -> Tensor:
        if self.use_skip:
            return self.fc(x) + x
        return self.fc(x)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) * 2


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
