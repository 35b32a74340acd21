"""Registry of the built-in model variants.

Only names, descriptions, inputs and knobs live here; the torch classes are in
`cfexplore.models.zoo` and are imported by the worker process, so listing variants
never imports torch.
"""

from __future__ import annotations

from cfexplore.spec import InputSpec, Knob, VariantSpec

ZOO = "cfexplore.models.zoo"
SMALL = (InputSpec("x", (1, 3, 16, 16)),)
FULL = (InputSpec("x", (1, 3, 256, 256)),)
BOOL = (False, True)
TRIPS = (0, 1, 2, 3)


def _bt(where: str) -> Knob:
    return Knob("branch_testing", where, BOOL, False, "If")  # type: ignore[arg-type]


def _nl(where: str) -> Knob:
    return Knob("n_loops", where, TRIPS, 2, "Loop")  # type: ignore[arg-type]


def _seed_table(prefix: str, full: bool) -> list[VariantSpec]:
    """The seed's eight variants: If/Loop x class attr (plain, Final) / instance / forward."""
    init = {"full_size": True} if full else {}
    inputs = FULL if full else SMALL
    size = ", full-size seed model" if full else ""
    rows = [
        ("if-class-attr", "IfClassAttr", "If", "class-attr", "a plain class attribute"),
        ("if-class-final", "IfClassFinal", "If", "class-attr", "a Final[bool] class attribute"),
        ("if-instance-attr", "IfInstanceAttr", "If", "instance-attr", "an instance attribute"),
        ("if-forward-arg", "IfForwardArg", "If", "forward-arg", "a forward() bool argument"),
        ("loop-class-attr", "LoopClassAttr", "Loop", "class-attr", "a plain class attribute"),
        (
            "loop-class-final",
            "LoopClassFinal",
            "Loop",
            "class-attr",
            "a Final[int] class attribute",
        ),
        (
            "loop-instance-attr",
            "LoopInstanceAttr",
            "Loop",
            "instance-attr",
            "an instance attribute",
        ),
        ("loop-forward-arg", "LoopForwardArg", "Loop", "forward-arg", "a forward() int argument"),
    ]
    out = []
    for name, cls, construct, where, what in rows:
        knob = _bt(where) if construct == "If" else _nl(where)
        action = "x*2 or x*3 by" if construct == "If" else "x+1, n times; n is"
        out.append(
            VariantSpec(
                name=prefix + name,
                factory=f"{ZOO}:{cls}",
                description=f"{action} {what}{size}",
                construct=construct,  # type: ignore[arg-type]
                where=where,  # type: ignore[arg-type]
                inputs=inputs,
                knobs=(knob,),
                init=init,
                heavy=full,
            )
        )
    return out


_OTHERS = [
    VariantSpec(
        "if-tensor-data",
        f"{ZOO}:IfTensorData",
        "Python `if x.sum() > 0` on tensor data",
        "If",
        "tensor-data",
        SMALL,
        (Knob("x_sign", "tensor-data", (1, -1), 1, "If", input="x", mode="sign"),),
    ),
    VariantSpec(
        "if-torch-cond",
        f"{ZOO}:IfTorchCond",
        "torch.cond on x.sum() > 0",
        "If",
        "tensor-data",
        SMALL,
        (Knob("x_sign", "tensor-data", (1, -1), 1, "If", input="x", mode="sign"),),
    ),
    VariantSpec(
        "loop-while-loop",
        f"{ZOO}:LoopWhileLoop",
        "while_loop, trip count from tensor input n",
        "Loop",
        "tensor-data",
        (InputSpec("n", (), "int64"), *SMALL),
        (Knob("n", "tensor-data", TRIPS, 2, "Loop", input="n", mode="fill"),),
    ),
    VariantSpec(
        "if-in-loop",
        f"{ZOO}:IfInLoop",
        "if on a forward bool inside a loop over a forward int",
        "Loop",
        "forward-arg",
        SMALL,
        (_nl("forward-arg"), Knob("branch_testing", "forward-arg", BOOL, True, "If")),
    ),
    VariantSpec(
        "early-return",
        f"{ZOO}:EarlyReturn",
        "early return inside a branch on a forward bool",
        "If",
        "forward-arg",
        SMALL,
        (_bt("forward-arg"),),
    ),
    VariantSpec(
        "no-effect",
        f"{ZOO}:NoEffect",
        "both branches compute x*2: the knob does nothing",
        "If",
        "forward-arg",
        SMALL,
        (_bt("forward-arg"),),
    ),
]

VARIANTS: dict[str, VariantSpec] = {
    v.name: v for v in [*_seed_table("", False), *_OTHERS, *_seed_table("seed-", True)]
}
"""Every built-in variant by name, in display order."""

SEED_TABLE = [v.name for v in _seed_table("", False)]
"""The eight small variants that make up the seed's If/Loop x placement table."""
SEED_TABLE_FULL = [v.name for v in _seed_table("seed-", True)]
"""The same eight with the full-size seed model."""


def get_variant(name: str) -> VariantSpec | None:
    """The variant called `name`, or None."""
    return VARIANTS.get(name)
