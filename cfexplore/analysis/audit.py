"""Structural audit of an ONNX model: control flow that cannot change at run time.

A graph can contain an `If` or `Loop` and still not carry the Python `if`/`for` it came from:
the condition may be a constant baked in at export time, or the loop may have been unrolled
into a straight run of copies. `audit_model` finds three such patterns in the main graph,
every nested subgraph (`then_branch`, `else_branch`, `body`, `GRAPHS` lists, any depth) and
every inlined model-local function body:

- `constant-if`: an `If` whose condition folds to a constant (an initializer, a `Constant`,
  or a short chain of standard ops over constants, e.g. `Constant -> Cast -> Not`), so one
  branch always runs.
- `constant-loop`: a `Loop` with a constant trip count `M`, a constant (or absent) initial
  condition and a body condition that is the condition input passed through (or a
  constant), so it always runs the same number of times (`M`, or 0 when the initial
  condition is false). A Loop without `M` is bounded only by its condition: never flagged.
- `unrolled-loop`: the same op sequence (period 1..8; identical attributes and inferred
  input and output types per position, a `Constant`'s value compared by dtype and shape only, since
  `x = x + i` bakes a different constant per iteration) repeated 3+ times back to back, each
  repeat reading an output of the one before (a loop-carried value), as `trace`/`script`/
  `dynamo` leave a Python `for` over a constant range. Parallel repeats (three `Unsqueeze`s
  of shape arithmetic feeding one `Concat`) are not flagged; blocks of only `Constant`s
  neither.

Flags carry the `OnnxTree` item path of their node (for a run, its first node), so a UI can
badge tree rows with `AuditReport.by_path()`.

JSON (`cfexplore audit FILE.onnx --json`, `AuditReport.to_json_dict()`):

```json
{
  "flags": [
    {
      "kind": "constant-if",
      "path": [2],
      "path_str": "2",
      "node_name": "/If",
      "op_type": "If",
      "message": "If '/If' always takes then_branch: its condition is the constant True ...",
      "details": {"cond": "/Constant_output_0", "value": true, "branch": "then_branch",
                  "source": "constant", "origin": "Constant '/Constant'",
                  "chain": [{"op_type": "Constant", "name": "/Constant"}]}
    },
    {
      "kind": "constant-loop", "path": [1, "body", 0], "path_str": "1/body/0",
      "node_name": "/Loop", "op_type": "Loop", "message": "...",
      "details": {"trip_count": 3, "iterations": 3, "trip_count_origin": "Constant '/M'",
                  "initial_cond": true, "initial_cond_origin": "Constant '/T'",
                  "body_cond": "pass-through"}
    },
    {
      "kind": "unrolled-loop", "path": [0], "path_str": "0",
      "node_name": "/Constant", "op_type": "Constant", "message": "...",
      "details": {"ops": ["Constant", "Add"], "period": 2, "repeats": 3,
                  "first_index": 0, "last_index": 5, "first_path": [0], "last_path": [5],
                  "graph": "/"}
    }
  ],
  "summary": {"constant-if": 1, "constant-loop": 1, "unrolled-loop": 1},
  "counts": {"If": 1, "Loop": 1, "Scan": 0, "SequenceMap": 0},
  "optimize": {"before": {"If": 1, "Loop": 0, "Scan": 0, "SequenceMap": 0},
               "after": {"If": 0, "Loop": 0, "Scan": 0, "SequenceMap": 0},
               "folded": ["If: 1 -> 0"]}
}
```

- `message`: one sentence, e.g. `If '/If' always takes then_branch: its condition is the
  constant True (from Constant '/Constant')`, `Loop '/Loop' always runs exactly 3 times: its
  trip count is the constant 3 (from Constant '/M') and its condition can never turn false`,
  `[Constant, Add] repeats 3 times back to back (nodes 0-5): likely a Python loop unrolled
  at export`.
- `path`: the `OnnxTree` item path (ints index nodes, strings name subgraphs or
  `@function`); `path_str` is `graph.path_to_str(path)`.
- `constant-if` `details.source`: `initializer`, `constant` (a `Constant` node) or `folded`
  (computed by a chain of nodes, listed in `chain` in evaluation order; a `Shape`/`Size` of a
  statically shaped value counts as a constant); `origin` is the readable form: the
  initializer or node, or a nested expression such as `Not(Cast(Constant '/c'))` (op types
  only when names would make it long).
- `constant-loop` `details`: `initial_cond` is `null` when the Loop has no condition input;
  `body_cond` is `pass-through`, `constant true` or `constant false`; `iterations` is how
  many times the body always runs.
- `unrolled-loop` `details`: `ops` is one repeat; `graph` is the enclosing graph's path.
- `counts`: control-flow ops over the whole inlined tree; `optimize` is `null` unless the
  caller compared a dynamo export before and after `optimize()`.

The audit lives in `audit_report` (the dataclasses above), `audit_scope` (where each name
comes from), `audit_fold` (constant folding), `audit_runs` (repeated op sequences) and
`audit_walk` (the walk and its checks); `cfexplore.render.audit_text` draws a report and
`cfexplore.cli.audit_cmd` is the command.
"""

from __future__ import annotations

import onnx

from cfexplore.analysis.audit_fold import MAX_FOLD_ELEMENTS, MAX_FOLD_NODES
from cfexplore.analysis.audit_report import (
    FLAG_KINDS,
    AuditFlag,
    AuditReport,
    FlagKind,
    OptimizeCounts,
)
from cfexplore.analysis.audit_runs import MAX_PERIOD, MIN_REPEATS, find_runs
from cfexplore.analysis.audit_walk import Auditor
from cfexplore.graph.summary import format_counts
from cfexplore.graph.tree import OnnxTree
from cfexplore.graph.values import CONTROL_FLOW_OPS


def audit_model(model: onnx.ModelProto, tree: OnnxTree | None = None) -> AuditReport:
    """Find constant Ifs, constant Loops and unrolled loops anywhere in `model`.

    Pass the `OnnxTree` already built for `model` to reuse its shape inference; its (inferred)
    copy of the model is what is walked, so flag paths match its items.
    """
    if tree is None:
        tree = OnnxTree.from_model(model)
    flags = Auditor(tree).run()
    return AuditReport(flags=flags, counts=tree.total_counts)


def count_control_flow(model: onnx.ModelProto) -> dict[str, int]:
    """If/Loop/Scan/SequenceMap totals over the inlined tree (no shape inference)."""
    return OnnxTree(model, infer=False).total_counts


def optimize_counts(model_before: onnx.ModelProto, model_after: onnx.ModelProto) -> OptimizeCounts:
    """Compare control-flow counts of an export before and after an optimisation pass.

    For dynamo: `torch.onnx.export(..., dynamo=True, optimize=False)`, copy
    `program.model_proto`, then `program.optimize()`; onnxscript's folder inlines Ifs whose
    condition is constant.
    """
    before = count_control_flow(model_before)
    after = count_control_flow(model_after)
    folded = [
        f"{op}: {before.get(op, 0)} -> {after.get(op, 0)}"
        for op in CONTROL_FLOW_OPS
        if before.get(op, 0) != after.get(op, 0)
    ]
    return OptimizeCounts(before=before, after=after, folded=folded)


# --------------------------------------------------------------------------- text


def kinds_text(report: AuditReport, sep: str = " · ") -> str:
    """The findings by kind: `unrolled-loop 2 · constant-if 1` (kinds found only)."""
    return sep.join(f"{k} {v}" for k, v in report.kind_counts().items() if v)


def summary_text(report: AuditReport) -> str:
    """One plain line: findings by kind, control-flow totals, optimize changes."""
    n = len(report.flags)
    head = "no findings" if n == 0 else f"{n} finding{'s' if n != 1 else ''}"
    parts = [head]
    if n:
        parts.append(kinds_text(report))
    parts.append(format_counts(report.counts))
    if report.optimize is not None:
        changes = ", ".join(report.optimize.folded) or "no change"
        parts.append(f"optimize: {changes}")
    return " · ".join(parts)


__all__ = [
    "FLAG_KINDS",
    "MAX_FOLD_ELEMENTS",
    "MAX_FOLD_NODES",
    "MAX_PERIOD",
    "MIN_REPEATS",
    "AuditFlag",
    "AuditReport",
    "FlagKind",
    "OptimizeCounts",
    "audit_model",
    "count_control_flow",
    "find_runs",
    "kinds_text",
    "optimize_counts",
    "summary_text",
]
