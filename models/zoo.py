"""The built-in model variants (torch only).

Each class puts the same control-flow construct in a different place, so the survival of
that construct through `script`, `trace` and `dynamo` exports can be compared. The seed
body is the network from the original write-up; `full_size=True` gives its real size
(input 1x3x256x256, Linear(8192, 1024)), the default is a small copy that exports fast.
Line comments `# cf: <knob>` mark the control-flow statements for the source view.
"""

from collections.abc import Callable
from typing import Final

import torch
from torch import Tensor, nn
from torch._higher_order_ops import while_loop as _untyped_while_loop


class SeedBody(nn.Module):
    """Conv2d+SiLU, Conv2d+SiLU+MaxPool2d, Flatten, Linear: the seed network's layers."""

    __call__: Callable[["SeedBody", Tensor], Tensor]  # torch: Module.__call__ is (...) -> Any

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        c1, c2, pool, side, out = (64, 32, 16, 256, 1024) if full_size else (8, 4, 4, 16, 16)
        self.layer1 = nn.Sequential(nn.Conv2d(3, c1, kernel_size=3, padding=1), nn.SiLU())
        conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.layer2 = nn.Sequential(conv2, nn.SiLU(), nn.MaxPool2d(pool))
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c2 * (side // pool) ** 2, out)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc1(self.flatten(self.layer2(self.layer1(x))))  # type: ignore[no-any-return]


# --- If: x * 2 or x * 3, chosen by `branch_testing` ---------------------------------
class IfClassAttr(nn.Module):
    """`branch_testing` is a plain class attribute."""

    branch_testing = False

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        self.body = SeedBody(full_size)

    def forward(self, x: Tensor) -> Tensor:
        if self.branch_testing:  # cf: branch_testing
            x = x * 2
        else:
            x = x * 3
        return self.body(x)


class IfClassFinal(nn.Module):
    """`branch_testing` is a class attribute declared constant with `Final[bool]`."""

    branch_testing: Final[bool] = False

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        self.body = SeedBody(full_size)

    def forward(self, x: Tensor) -> Tensor:
        if self.branch_testing:  # cf: branch_testing
            x = x * 2
        else:
            x = x * 3
        return self.body(x)


class IfInstanceAttr(nn.Module):
    """`branch_testing` is an instance attribute set in `__init__`."""

    def __init__(self, branch_testing: bool = False, full_size: bool = False) -> None:
        super().__init__()
        self.branch_testing = branch_testing
        self.body = SeedBody(full_size)

    def forward(self, x: Tensor) -> Tensor:
        if self.branch_testing:  # cf: branch_testing
            x = x * 2
        else:
            x = x * 3
        return self.body(x)


class IfForwardArg(nn.Module):
    """`branch_testing` is a `forward()` argument."""

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        self.body = SeedBody(full_size)

    def forward(self, branch_testing: bool, x: Tensor) -> Tensor:
        if branch_testing:  # cf: branch_testing
            x = x * 2
        else:
            x = x * 3
        return self.body(x)


# --- Loop: add 1 `n_loops` times --------------------------------------------------------


class LoopClassAttr(nn.Module):
    """`n_loops` is a plain class attribute."""

    n_loops = 2

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        self.body = SeedBody(full_size)

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.n_loops):  # cf: n_loops
            x = x + 1
        return self.body(x)


class LoopClassFinal(nn.Module):
    """`n_loops` is a class attribute declared constant with `Final[int]`."""

    n_loops: Final[int] = 2

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        self.body = SeedBody(full_size)

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.n_loops):  # cf: n_loops
            x = x + 1
        return self.body(x)


class LoopInstanceAttr(nn.Module):
    """`n_loops` is an instance attribute set in `__init__`."""

    def __init__(self, n_loops: int = 2, full_size: bool = False) -> None:
        super().__init__()
        self.n_loops = n_loops
        self.body = SeedBody(full_size)

    def forward(self, x: Tensor) -> Tensor:
        for _ in range(self.n_loops):  # cf: n_loops
            x = x + 1
        return self.body(x)


class LoopForwardArg(nn.Module):
    """`n_loops` is a `forward()` argument."""

    def __init__(self, full_size: bool = False) -> None:
        super().__init__()
        self.body = SeedBody(full_size)

    def forward(self, n_loops: int, x: Tensor) -> Tensor:
        for _ in range(n_loops):  # cf: n_loops
            x = x + 1
        return self.body(x)


# --- Other constructs ------------------------------------------------------------------


class IfTensorData(nn.Module):
    """The condition is computed from the input data."""

    def __init__(self) -> None:
        super().__init__()
        self.body = SeedBody()

    def forward(self, x: Tensor) -> Tensor:
        if x.sum() > 0:  # cf: x_sign
            x = x * 2
        else:
            x = x * 3
        return self.body(x)


class IfTorchCond(nn.Module):
    """`torch.cond` on a data-dependent predicate: the form torch.export keeps."""

    def __init__(self) -> None:
        super().__init__()
        self.body = SeedBody()

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cond(x.sum() > 0, lambda t: t * 2, lambda t: t * 3, (x,))  # cf: x_sign
        return self.body(x)


_Carry = tuple[Tensor, Tensor]
while_loop: Callable[
    [Callable[[Tensor, Tensor], Tensor], Callable[[Tensor, Tensor], _Carry], _Carry], _Carry
] = _untyped_while_loop
"""torch's `while_loop` has no annotations: typed here for the (counter, tensor) carry."""


class LoopWhileLoop(nn.Module):
    """`while_loop` whose trip count comes from a scalar tensor input `n`."""

    def __init__(self) -> None:
        super().__init__()
        self.body = SeedBody()

    def forward(self, n: Tensor, x: Tensor) -> Tensor:
        def cond_fn(i: Tensor, t: Tensor) -> Tensor:
            return i < n

        def body_fn(i: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
            return i + 1, t + 1

        start = torch.zeros((), dtype=torch.int64)
        _, x = while_loop(cond_fn, body_fn, (start, x))  # cf: n
        return self.body(x)


class IfInLoop(nn.Module):
    """An `if` on a forward bool nested inside a loop over a forward int."""

    def __init__(self) -> None:
        super().__init__()
        self.body = SeedBody()

    def forward(self, n_loops: int, branch_testing: bool, x: Tensor) -> Tensor:
        for _ in range(n_loops):  # cf: n_loops
            if branch_testing:  # cf: branch_testing
                x = x + 1
            else:
                x = x * 0.5
        return self.body(x)


class EarlyReturn(nn.Module):
    """An early `return` inside the branch skips the rest of `forward()`."""

    def __init__(self) -> None:
        super().__init__()
        self.body = SeedBody()

    def forward(self, branch_testing: bool, x: Tensor) -> Tensor:
        if branch_testing:  # cf: branch_testing
            return self.body(x * 2)
        x = torch.tanh(x)
        return self.body(x * 3)


class NoEffect(nn.Module):
    """Both branches compute the same thing: the knob cannot change the output."""

    def __init__(self) -> None:
        super().__init__()
        self.body = SeedBody()

    def forward(self, branch_testing: bool, x: Tensor) -> Tensor:
        if branch_testing:  # cf: branch_testing
            x = x * 2
        else:
            x = x + x
        return self.body(x)
