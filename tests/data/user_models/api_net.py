"""For the Python API: a forward() bool and an instance attribute, both in an `if`."""

from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.offset = True

    def forward(self, x: Tensor, flag: bool) -> Tensor:
        y = self.fc(x)
        if self.offset:
            y = y + 1
        if flag:
            return y * 2
        return y
