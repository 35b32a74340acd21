"""Models whose outputs are not one tensor: None leaves, lists, a changing output count,
and an object that is not a tensor."""

import torch
from torch import Tensor, nn


class DictWithNone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> dict[str, Tensor | None]:
        y = self.fc(x)
        return {"a": y, "b": None, "c": y * 2}


class TupleWithNone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> tuple[Tensor, None, Tensor]:
        y = self.fc(x)
        return y, None, y + 1


class ListOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> list[Tensor]:
        y = self.fc(x)
        return [y, y * 2 + 1]


class CountByFlag(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, flag: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        y = self.fc(x)
        if flag:
            return y, y * 2
        return y


class Info:
    """A plain Python object, registered with no pytree."""

    def __init__(self, n: int) -> None:
        self.n = n


class ObjectOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor) -> dict[str, object]:
        out: dict[str, object] = {"y": self.fc(x)}
        if not torch.jit.is_tracing():
            out["info"] = Info(3)  # debug info in eager runs only, as some models do
        return out


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
