"""Control-flow-aware diff of two ONNX exports: which If/Loop survived in one and not the other.

Each model is reduced to a *skeleton*: its If/Loop/Scan/SequenceMap nodes, nested as in the
graph, each with the op counts of its subgraphs (local-function bodies inlined, as in the
tree view). The skeletons are aligned level by level (a weighted sequence alignment over
op type, position and similarity of branch op counts), and every control-flow node gets a
row:

| kind | meaning |
|---|---|
| `same` | both models keep it (branch op-count differences are listed) |
| `folded` | A keeps an If, B has none here; the note says which branch B kept |
| `unrolled` | A keeps a Loop/Scan, B has none but repeats its body ops k times |
| `only-in-a` | anything else A has and B lacks |
| `only-in-b` | anything B has and A lacks (also when A folded or unrolled what B keeps) |

Which branch B kept is read from B's *surplus* ops in the enclosing graph (B's op counts
there minus A's): the branch whose op Counter (ignoring `Identity`/`Constant` plumbing) is
contained in it. When both branches fit (`x * 2` vs `x * 3`), small constants break the tie;
otherwise the note says "kept one branch (then or else: ambiguous)". The control-flow nodes
inside the kept branch (or inside each unrolled iteration) are then aligned with B's
unmatched nodes at that level, so an If folded around a Loop still finds the Loop.

JSON (`CompareReport.to_json_dict()`, `cfexplore compare A.onnx B.onnx --json`):

```json
{
  "a": {"label": "script.onnx", "nodes": 4, "total_nodes": 8,
        "control_flow": {"If": 1, "Loop": 0, "Scan": 0, "SequenceMap": 0},
        "ops": {"Add": 1, "Cast": 1, "Constant": 1, "If": 1}},
  "b": {"label": "trace.onnx", "nodes": 4, "total_nodes": 4,
        "control_flow": {"If": 0, "Loop": 0, "Scan": 0, "SequenceMap": 0},
        "ops": {"Add": 1, "Constant": 2, "Mul": 1}},
  "op_diff": {"only_a": {"Cast": 1, "If": 1}, "only_b": {"Constant": 1, "Mul": 1}},
  "summary": {"same": 0, "folded": 1, "unrolled": 0, "only-in-a": 0, "only-in-b": 0},
  "rows": [
    {
      "kind": "folded",
      "op": "If",
      "depth": 0,
      "a": {"path": "1", "name": "/If",
            "branches": [{"key": "then_branch", "nodes": 2, "ops": {"Constant": 1, "Mul": 1}},
                         {"key": "else_branch", "nodes": 2, "ops": {"Constant": 1, "Mul": 1}}]},
      "b": null,
      "message": "B kept then_branch (Mul; told apart by constants)",
      "details": {"kept": "then_branch", "how": "constants",
                  "candidates": ["then_branch", "else_branch"], "coverage": 1.0,
                  "surplus": {"Constant": 1, "Mul": 1}}
    }
  ]
}
```

- `a`/`b`: `nodes` counts the main graph's nodes, `total_nodes` every node with subgraphs
  and inlined function bodies; `control_flow` as in `cfexplore tree`; `ops` the main
  graph's op Counter (function bodies inlined, subgraphs not).
- `op_diff`: main-graph op counts A has beyond B (`only_a`) and B beyond A (`only_b`).
- `rows[].a`/`rows[].b`: the node on that side (`null` when it has none); `path` as in
  `cfexplore tree` (`3/body/0`); `branches[].ops` counts everything inside a branch.
- `rows[].depth`: nesting level, for indentation; rows are in display order (a node's rows
  are followed by those of its subgraphs).
- `rows[].details` by kind:
  - `same`: `similarity` (0-1), `branch_diff` (`{key: {"only_a": {...}, "only_b": {...}}}`
    for branches whose op counts differ), and `moved_from` when the node sits inside a
    folded If or unrolled Loop on one side (`{"side": "a", "path": "0", "op": "If",
    "name": "/If", "branch": "then_branch"}`; for a Loop `"iteration": 1, 2, …`
    instead of `"branch"`).
  - `folded`, and `only-in-b` for an If: `kept` (a branch key or `null`), `how` (`ops`,
    `constants`, `partial`, `ambiguous`, `none`), `candidates`, `coverage` (share of the
    kept branch's ops found), `surplus` (the other side's extra ops at that level).
  - `unrolled`, and `only-in-a`/`only-in-b` for a Loop/Scan/SequenceMap: `k` (or `null`),
    `exact`, `body_ops`, `surplus`.

The compare lives in `compare_skeleton` (the skeletons), `compare_report` (the dataclasses
above), `compare_match` (the alignment), `compare_fates` (folded, unrolled or gone),
`compare_walk` (the rows, in display order) and `compare_ops` (op-count text);
`cfexplore.render.compare_text` draws a report and `cfexplore.cli.compare_cmd` is the command.
"""

from __future__ import annotations

from cfexplore.analysis.compare_fates import NOISE_OPS
from cfexplore.analysis.compare_match import MIN_SIMILARITY
from cfexplore.analysis.compare_ops import sorted_counts
from cfexplore.analysis.compare_report import (
    ROW_KINDS,
    CompareReport,
    CompareRow,
    ModelCounts,
    OpDiff,
    RowKind,
)
from cfexplore.analysis.compare_skeleton import SkeletonGraph, SkeletonNode, build_skeleton
from cfexplore.analysis.compare_walk import Aligner
from cfexplore.graph.tree import OnnxTree


def compare_models(a: OnnxTree, b: OnnxTree) -> CompareReport:
    """Align the control-flow skeletons of `a` and `b` and classify every difference."""
    ska, skb = build_skeleton(a), build_skeleton(b)
    rows: list[CompareRow] = []
    Aligner(rows).level(ska, skb, 0)
    counts_a = _model_counts(a, ska)
    counts_b = _model_counts(b, skb)
    op_diff = OpDiff(
        only_a=sorted_counts(ska.ops - skb.ops), only_b=sorted_counts(skb.ops - ska.ops)
    )
    return CompareReport(counts_a.label, counts_b.label, rows, counts_a, counts_b, op_diff)


def _model_counts(tree: OnnxTree, sk: SkeletonGraph) -> ModelCounts:
    label = tree.path or tree.model.graph.name or "model"
    return ModelCounts(label, sk.nodes, sk.total_nodes, tree.total_counts, sorted_counts(sk.ops))


__all__ = [
    "MIN_SIMILARITY",
    "NOISE_OPS",
    "ROW_KINDS",
    "CompareReport",
    "CompareRow",
    "ModelCounts",
    "OpDiff",
    "RowKind",
    "SkeletonGraph",
    "SkeletonNode",
    "build_skeleton",
    "compare_models",
]
