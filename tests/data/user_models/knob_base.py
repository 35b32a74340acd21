"""A base class in a file of its own: its forward() reads a class and an instance attribute."""

from torch import Tensor, nn


class GatedBase(nn.Module):
    scale_twice = False  # a plain class attribute

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.use_gate = True  # an instance attribute

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)
        if self.use_gate:
            y = y * 3
        if self.scale_twice:
            y = y * 2
        return y
