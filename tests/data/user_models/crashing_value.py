"""torch.nn.TransformerEncoderLayer: eager PyTorch crashes the process (SIGFPE) when its
attention's `num_heads` is swept to 0."""

import torch
from torch import Tensor, nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(4, 1, 8, dropout=0.0, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


def example_inputs() -> Tensor:
    return torch.randn(1, 2, 4)
