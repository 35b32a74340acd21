"""Registers a custom TorchScript-exporter symbolic at import: script and trace exports
then hold an op of an unknown domain that ONNX Runtime cannot load; dynamo does not use
these symbolics."""

import torch
from torch import Tensor, nn

torch.onnx.register_custom_op_symbolic("aten::relu", lambda g, x: g.op("cfx_custom::MyRelu", x), 18)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Tensor, flag: bool = False) -> Tensor:
        y = torch.relu(self.fc(x))
        if flag:
            return y * 2
        return y + 1


def example_inputs() -> Tensor:
    return torch.randn(2, 4)
