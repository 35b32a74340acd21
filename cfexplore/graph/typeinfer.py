"""Shape inference of an untrusted model, and the rule for when to run it at all.

onnx's shape inference holds the GIL for as long as it runs (seconds on a big model,
quadratic in subgraphs), so the app never runs it in its own process: it opens the tree
without types, asks the memory- and time-limited file worker for `infer_types`, and merges
the answer (only `value_info` and outputs, one small GraphProto per graph, in `iter_graphs`
order) into its tree with `OnnxTree.merge_types`. The CLI infers in-process, where nothing
else waits on the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import onnx

from cfexplore.graph.budget import Footprint, footprint
from cfexplore.graph.walk import iter_graphs
from cfexplore.termtext import one_line

INFER_MAX_NODES = 50_000
"""Above this many nodes shape inference is skipped: it builds a second copy of the model
(time and memory) for types the detail pane can mostly show from declarations."""
INFER_MAX_SUBGRAPHS = 1_000
"""Above this many subgraphs too: onnx's shape inference is quadratic in them (2,000
sibling Ifs take 0.3 s, 20,000 take 70 s)."""

BODY_INFER_MAX_NODES = 2_000
"""A function body is inferred (in-process, when the tree expands a call) only up to this
many inlined nodes: big bodies show declared types."""


def decide(model: onnx.ModelProto, size: Footprint) -> tuple[bool, str | None]:
    """Whether to infer shapes for `model`, and if not, the note that says why."""
    if size.over:
        return False, None  # the budget's own note says it
    nodes = len(model.graph.node)  # the main graph tells (a full walk costs)
    if nodes > INFER_MAX_NODES:
        return False, (
            f"{nodes:,} nodes: shapes not inferred (a second copy of the model); "
            "declared types are shown"
        )
    if too_many_subgraphs(model):
        return False, (
            f"over {INFER_MAX_SUBGRAPHS:,} subgraphs: shapes not inferred (onnx's "
            "inference is quadratic in them); declared types are shown"
        )
    return True, None


def too_many_subgraphs(model: onnx.ModelProto, cap: int = INFER_MAX_SUBGRAPHS) -> bool:
    """Whether `model` has more than `cap` subgraphs (counting stops there)."""
    return any(i > cap for i, _ in enumerate(iter_graphs(model)))  # the main graph is 0


IN_PROCESS_MAX_NODES = 5_000
"""The app infers a model in its own process only up to this many nodes (all graphs), and
only without local functions: well under 0.1 s of GIL."""


def small_enough(model: onnx.ModelProto, cap: int = IN_PROCESS_MAX_NODES) -> bool:
    """Whether `model` has no local functions and at most `cap` nodes in all its graphs
    (counting stops at the cap)."""
    if model.functions:
        return False
    total = 0
    for _, g in iter_graphs(model):
        total += len(g.node)
        if total > cap:
            return False
    return True


@dataclass
class InferredTypes:
    """What shape inference found: per graph (in `iter_graphs` order) a serialized
    GraphProto holding only its `value_info` and `output`; or why there is nothing."""

    graphs: list[bytes] = field(default_factory=list)
    note: str | None = None
    """Why inference was skipped (too big): said once, not an error."""
    error: str | None = None
    """Why inference failed (a warning; the tree browses without types)."""


def infer_types(model: onnx.ModelProto) -> InferredTypes:
    """Infer `model`'s types, if `decide` allows, as an `InferredTypes`."""
    ok, note = decide(model, footprint(model))
    if not ok:
        return InferredTypes(note=note)
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # inference is a bonus: browse without types
        return InferredTypes(error=one_line(f"shape inference failed: {exc}"))
    out = []
    for _, g in iter_graphs(inferred):
        part = onnx.GraphProto()
        part.value_info.extend(g.value_info)
        part.output.extend(g.output)
        out.append(part.SerializeToString())
    return InferredTypes(out)


def infer_in_worker(path: str) -> InferredTypes:
    """The worker side of `infer_types`: safe load (no external data), then infer."""
    from cfexplore.graph.safeload import load_model_safely

    return infer_types(load_model_safely(path))
