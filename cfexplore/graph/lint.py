"""Cheap structural warnings for a model that still opens (opsets, unknown ops, names
read but never defined, If branches that disagree)."""

from __future__ import annotations

import onnx
from onnx import GraphProto, ModelProto

from cfexplore.graph.walk import subgraph_items
from cfexplore.termtext import one_line, safe_text

MAX_LINT_WARNINGS = 12
"""Structural warnings `model_warnings` returns before `… N more`."""


# --------------------------------------------------------------------------- lint


def _onnx_version() -> str:
    return ".".join(onnx.__version__.split(".")[:2])


def unknown_op_note(op_type: str, domain: str) -> str | None:
    """`unknown op …` when a standard-domain op is not in this onnx's operator set."""
    if domain not in ("", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"):
        return None
    key = "" if domain == "ai.onnx" else domain
    try:
        known = onnx.defs.has(op_type, key)
    except Exception:
        known = False
    if known:
        return None
    where = domain or "ai.onnx"
    return f"unknown op {safe_text(op_type, 40)}: onnx {_onnx_version()} has no such op in {where}"


_BENIGN_CHECKER = ("Field 'shape' of 'type' is required but missing",)
"""Checker complaints that say nothing to a reader (a missing shape is shown as `?`)."""


def model_warnings(model: ModelProto) -> list[str]:
    """Cheap structural warnings for a model that still opens.

    Opsets newer than this onnx, unknown standard ops, names read but never defined, If
    nodes whose branches disagree on their output count, and the first line of
    `onnx.checker.check_model(full_check=False)`. At most `MAX_LINT_WARNINGS` lines.
    """
    out: list[str] = []
    newest = onnx.defs.onnx_opset_version()
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version > newest:
            out.append(
                f"opset {op.version} is newer than onnx {_onnx_version()} knows (up to {newest})"
            )
    functions = {(f.domain, f.name) for f in model.functions}
    unknown: dict[str, int] = {}
    known: dict[tuple[str, str], bool] = {}
    undefined: list[str] = []
    undefined_count = 0
    # (graph, the names each enclosing graph defines, innermost first, where): a subgraph
    # looks names up through the chain instead of copying its scope (20,000 sibling Ifs
    # would copy a 20,000-name scope 40,000 times)
    stack: list[tuple[GraphProto, tuple[set[str], ...], str]] = []
    if model.HasField("graph"):
        stack.append((model.graph, (), "main graph"))
    while stack:
        g, outer, where = stack.pop()
        local = {vi.name for vi in g.input}
        local.update(t.name for t in g.initializer)
        local.update(st.values.name for st in g.sparse_initializer)
        for node in g.node:
            local.update(node.output)
        scopes = (local, *outer)

        def visible(name: str, scopes: tuple[set[str], ...] = scopes) -> bool:
            return any(name in scope for scope in scopes)

        for i, node in enumerate(g.node):
            op = (node.domain, node.op_type)
            if op not in known:
                known[op] = op in functions or unknown_op_note(node.op_type, node.domain) is None
            if not known[op]:
                unknown[node.op_type] = unknown.get(node.op_type, 0) + 1
            for name in node.input:
                if name and name not in local and not visible(name):
                    undefined_count += 1
                    if len(undefined) < 3:
                        label = safe_text(node.name or f"{node.op_type}#{i}", 40)
                        undefined.append(
                            f"node {label} reads '{safe_text(name, 40)}', which nothing defines"
                        )
            subs = subgraph_items(node)
            if node.op_type == "If" and node.domain in ("", "ai.onnx"):
                branches = dict(subs)
                then, other = branches.get("then_branch"), branches.get("else_branch")
                if then is not None and other is not None:
                    counts = (len(then.output), len(other.output), len(node.output))
                    if len(set(counts)) > 1:
                        label = safe_text(node.name or f"{node.op_type}#{i}", 40)
                        out.append(
                            f"If {label} in {safe_text(where, 40)}: then_branch has "
                            f"{counts[0]} output{'s' if counts[0] != 1 else ''}, else_branch "
                            f"{counts[1]}, the node {counts[2]}"
                        )
            for key, sub in subs:
                stack.append((sub, scopes, f"{node.name or node.op_type}.{key}"))
        for vi in g.output:
            if vi.name and not visible(vi.name):
                undefined_count += 1
                if len(undefined) < 3:
                    undefined.append(
                        f"{safe_text(where, 40)} output '{safe_text(vi.name, 40)}' is never defined"
                    )
    for op_type, n in sorted(unknown.items()):
        suffix = f" ({n} nodes)" if n > 1 else ""
        out.append(
            f"unknown op {safe_text(op_type, 40)}{suffix}: onnx {_onnx_version()} does not know it"
        )
    out.extend(undefined)
    if undefined_count > len(undefined):
        out.append(f"… {undefined_count - len(undefined):,} more undefined names")
    try:
        onnx.checker.check_model(model, full_check=False)
    except Exception as exc:
        first = one_line(str(exc), 120) or type(exc).__name__
        if not any(benign in first for benign in _BENIGN_CHECKER):
            out.append(f"onnx checker: {first}")
    if len(out) > MAX_LINT_WARNINGS:
        out = [*out[: MAX_LINT_WARNINGS - 1], f"… {len(out) - MAX_LINT_WARNINGS + 1} more warnings"]
    return [one_line(w) for w in out]
