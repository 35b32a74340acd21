"""A factory function with constructor arguments, and an int64 input with a value range."""

from torch import Tensor, nn

LOW, HIGH = 5, 10
"""The range the test passes as `--input ids=1x8:int64:5..10`."""


class Embed(nn.Module):
    def __init__(self, vocab: int, width: int, scale: float) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, width)
        self.fc = nn.Linear(width, 4)
        self.scale = scale

    def forward(self, ids: Tensor) -> Tensor:
        # raises (eager) if the generated ids are outside the --input range
        assert bool(((ids >= LOW) & (ids < HIGH)).all()), f"ids out of range: {ids.tolist()}"
        return self.fc(self.emb(ids)) * self.scale


def make_net(vocab: int, width: int, scale: float) -> Embed:
    """Needs all three arguments: `--init vocab=10,width=4,scale=0.5` must give each."""
    assert (vocab, width, scale) == (10, 4, 0.5), (vocab, width, scale)
    return Embed(vocab, width, scale)
