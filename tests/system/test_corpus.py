"""Corrupt-file corpus: thousands of mutated control-flow models, opened headless and in the app.

A seeded mutator turns onnx's backend If/Loop/Scan/SequenceMap models (and a few built here:
an If nested in a Loop, a local function holding an If) into `CORPUS_SIZE` files: byte
flips, truncation, random bytes, inserted/deleted byte runs, and proto mutations made with
the onnx protobuf API (op types, dropped/duplicated inputs, absurd dims, missing branches,
wrong attribute types, empty names, huge ints, wrong opsets, duplicate outputs, hostile
strings, external data, recursive functions, deep nesting).

Every file must open or be refused with the project's own `GraphError`: one line of at most
160 characters, no traceback, the full text in `details`; never another exception, never
more than `MAX_SECONDS`. `CFEXPLORE_CORPUS=N` changes the size (default 3,000).
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import random
import subprocess
import sys
import time
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import onnx
import pytest
from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, helper

from tests.backend_cases import all_cases
from tests.builders import tv

CORPUS_SIZE = int(os.environ.get("CFEXPLORE_CORPUS", "3000"))
SEED = 20_240_607
MAX_SECONDS = 30.0
"""A file that takes longer than this to open (headless or in the app) counts as a hang."""
MAX_MESSAGE = 160
CLI_SAMPLE = 50
CONTROL_FLOW_CASES = ("test_if", "test_loop", "test_scan", "test_sequence_map")
MAX_DETAIL_ITEMS = 400
"""Items per file whose detail pane text is rendered headless."""

F = TensorProto.FLOAT
I64 = TensorProto.INT64
B = TensorProto.BOOL

HOSTILE = [
    "[/x]",
    "[link=https://evil]x[/link]",
    "\x1b]0;PWNED-TITLE\x07",
    "\x1b[2J",
    "\x1b[31mREDTEXT",
    "\x07",
    "\u202e",
    "line1\nline2\r\nline3",
    "two\nlines",
    "\ufeff\u200b\u2028",
    "x" * 3000,
]
OPS = [
    "If",
    "Loop",
    "Scan",
    "SequenceMap",
    "",
    "NotAnOp",
    "Conv",
    "Add",
    "Identity",
    "Constant",
    "Split",
    "local_fn",
    *HOSTILE,
]
HUGE_INTS = [2**63 - 1, -(2**63), -1, 0, 2**40, -(2**31), 2**31]


# --------------------------------------------------------------------------- base models


def if_in_loop_model() -> ModelProto:
    """A Loop whose body holds an If with a nested If in its then_branch."""
    inner_then = helper.make_graph(
        [helper.make_node("Neg", ["v_in"], ["it_out"], name="inner_neg")], "it", [], [tv("it_out")]
    )
    inner_else = helper.make_graph(
        [helper.make_node("Identity", ["v_in"], ["ie_out"], name="inner_id")],
        "ie",
        [],
        [tv("ie_out")],
    )
    then = helper.make_graph(
        [
            helper.make_node(
                "If",
                ["cond_in"],
                ["t_out"],
                name="inner_if",
                then_branch=inner_then,
                else_branch=inner_else,
            )
        ],
        "then",
        [],
        [tv("t_out")],
    )
    other = helper.make_graph(
        [helper.make_node("Add", ["v_in", "x"], ["e_out"], name="else_add")],
        "else",
        [],
        [tv("e_out")],
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going"),
            helper.make_node(
                "If", ["cond_in"], ["v_out"], name="body_if", then_branch=then, else_branch=other
            ),
        ],
        "body",
        [tv("i", I64, []), tv("cond_in", B, []), tv("v_in", F, [2, 3])],
        [tv("cond_out", B, []), tv("v_out", F, [2, 3])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "c", "x"], ["y"], name="outer_loop", body=body)],
        "if_in_loop",
        [tv("M", I64, []), tv("c", B, []), tv("x", F, [2, 3])],
        [tv("y", F, [2, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.metadata_props.add(key="origin", value="cfexplore corpus")
    return model


def function_model() -> ModelProto:
    """The main graph calls a local function whose body holds an If."""
    then = helper.make_graph(
        [helper.make_node("Relu", ["a"], ["t"], name="fn_relu")], "then", [], [tv("t")]
    )
    other = helper.make_graph(
        [helper.make_node("Neg", ["a"], ["e"], name="fn_neg")], "else", [], [tv("e")]
    )
    fn = helper.make_function(
        "local",
        "local_fn",
        ["a", "c"],
        ["out"],
        [helper.make_node("If", ["c"], ["out"], name="fn_if", then_branch=then, else_branch=other)],
        [helper.make_opsetid("", 18)],
    )
    graph = helper.make_graph(
        [
            helper.make_node("local_fn", ["x", "c"], ["y"], name="call", domain="local"),
            helper.make_node("Add", ["y", "x"], ["z"], name="after"),
        ],
        "with_function",
        [tv("x", F, [4]), tv("c", B, [])],
        [tv("z", F, [4])],
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("local", 1)],
        functions=[fn],
    )


def base_models() -> dict[str, ModelProto]:
    """onnx's backend control-flow test models plus the two built here."""
    models = {
        name: case.model
        for name, case in all_cases().items()
        if name.startswith(CONTROL_FLOW_CASES) and isinstance(case.model, ModelProto)
    }
    models["if_in_loop"] = if_in_loop_model()
    models["function_if"] = function_model()
    return models


# --------------------------------------------------------------------------- mutator


def _graphs(model: ModelProto) -> list[GraphProto]:
    """Every graph of the model: main, subgraphs (any depth), function-body subgraphs."""
    out: list[GraphProto] = []
    stack = [model.graph] if model.HasField("graph") else []
    for f in model.functions:
        stack.extend(a.g for n in f.node for a in n.attribute if a.HasField("g"))
    while stack:
        g = stack.pop()
        out.append(g)
        for n in g.node:
            for a in n.attribute:
                if a.HasField("g"):
                    stack.append(a.g)
                stack.extend(a.graphs)
    return out


def _nodes(model: ModelProto) -> list[NodeProto]:
    nodes = [n for g in _graphs(model) for n in g.node]
    nodes.extend(n for f in model.functions for n in f.node)
    return nodes


class Mutator:
    """Seeded byte-level and proto-level mutations of serialized models."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # -- bytes

    def flip(self, data: bytes) -> bytes:
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(len(buf))
            buf[i] ^= 1 << self.rng.randrange(8)
        return bytes(buf)

    def truncate(self, data: bytes) -> bytes:
        return data[: self.rng.randrange(len(data))]

    def random_bytes(self, data: bytes) -> bytes:
        return self.rng.randbytes(self.rng.choice([1, 7, 64, len(data), 4096]))

    def insert_run(self, data: bytes) -> bytes:
        i = self.rng.randrange(len(data) + 1)
        run = self.rng.choice(
            [self.rng.randbytes(self.rng.randint(1, 40)), b"\xff" * 12, b"\x00" * 9, data[:30]]
        )
        return data[:i] + run + data[i:]

    def delete_run(self, data: bytes) -> bytes:
        i = self.rng.randrange(len(data))
        return data[:i] + data[i + self.rng.randint(1, 40) :]

    def byte_mutation(self, data: bytes) -> tuple[str, bytes]:
        kinds: list[Callable[[bytes], bytes]] = [
            self.flip,
            self.flip,
            self.truncate,
            self.random_bytes,
            self.insert_run,
            self.delete_run,
        ]
        fn = self.rng.choice(kinds)
        return fn.__name__, fn(data) if data else data

    # -- proto

    def _node(self, model: ModelProto, control_flow: bool = False) -> NodeProto | None:
        nodes = _nodes(model)
        if control_flow:
            nodes = [n for n in nodes if any(a.HasField("g") or a.graphs for a in n.attribute)]
        return self.rng.choice(nodes) if nodes else None

    def _value_infos(self, model: ModelProto) -> list[onnx.ValueInfoProto]:
        return [vi for g in _graphs(model) for vi in (*g.input, *g.output, *g.value_info)]

    def op_type(self, model: ModelProto) -> None:
        node = self._node(model)
        if node is not None:
            node.op_type = self.rng.choice(OPS)
            if node.op_type == "local_fn" and self.rng.random() < 0.5:
                node.domain = "local"

    def domain(self, model: ModelProto) -> None:
        node = self._node(model)
        if node is not None:
            node.domain = self.rng.choice(["", "ai.onnx", "com.microsoft", "local", *HOSTILE[:7]])

    def drop_input(self, model: ModelProto) -> None:
        node = self._node(model)
        if node is not None and node.input:
            del node.input[self.rng.randrange(len(node.input))]

    def duplicate_input(self, model: ModelProto) -> None:
        node = self._node(model)
        if node is not None:
            extra = self.rng.choice([*node.input, "", "nowhere"]) if node.input else "nowhere"
            for _ in range(self.rng.choice([1, 1, 3, 500])):
                node.input.append(extra)

    def absurd_dims(self, model: ModelProto) -> None:
        vis = [vi for vi in self._value_infos(model) if vi.type.HasField("tensor_type")]
        if not vis:
            return
        vi = self.rng.choice(vis)
        shape = vi.type.tensor_type.shape
        for _ in range(self.rng.choice([1, 2, 40])):
            d = shape.dim.add()
            if self.rng.random() < 0.7:
                d.dim_value = self.rng.choice(HUGE_INTS)
            else:
                d.dim_param = self.rng.choice(HOSTILE)
        if self.rng.random() < 0.3:
            vi.type.tensor_type.elem_type = self.rng.choice([0, 99, 2**31 - 1, -5])

    def remove_branch(self, model: ModelProto) -> None:
        node = self._node(model, control_flow=True)
        if node is None:
            return
        keys = [i for i, a in enumerate(node.attribute) if a.HasField("g") or a.graphs]
        del node.attribute[self.rng.choice(keys)]

    def duplicate_branch(self, model: ModelProto) -> None:
        """A graph attribute twice under one name (or both branches named alike)."""
        node = self._node(model, control_flow=True)
        if node is None:
            return
        graphs = [a for a in node.attribute if a.HasField("g") or a.graphs]
        a = self.rng.choice(graphs)
        if self.rng.random() < 0.5:
            node.attribute.add().CopyFrom(a)
        else:
            for other in node.attribute:
                other.name = a.name

    def attribute_type(self, model: ModelProto) -> None:
        nodes = [n for n in _nodes(model) if n.attribute]
        if not nodes:
            return
        a = self.rng.choice(self.rng.choice(nodes).attribute)
        a.type = self.rng.choice([v for _, v in AttributeProto.AttributeType.items()])
        if self.rng.random() < 0.3 and a.HasField("g"):  # graph moved to a GRAPHS list
            a.graphs.add().CopyFrom(a.g)
            a.ClearField("g")
        if self.rng.random() < 0.2:
            a.ref_attr_name = self.rng.choice(["then_branch", "", "x" * 200])

    def empty_names(self, model: ModelProto) -> None:
        for n in _nodes(model):
            if self.rng.random() < 0.5:
                n.name = ""
            for i in range(len(n.output)):
                if self.rng.random() < 0.3:
                    n.output[i] = ""
        g = self.rng.choice(_graphs(model))
        g.name = ""
        for vi in (*g.input, *g.output):
            if self.rng.random() < 0.3:
                vi.name = ""

    def huge_ints(self, model: ModelProto) -> None:
        choice = self.rng.randrange(4)
        if choice == 0:
            model.ir_version = self.rng.choice(HUGE_INTS)
        elif choice == 1:
            model.model_version = self.rng.choice(HUGE_INTS)
        else:
            node = self._node(model)
            if node is None:
                return
            a = node.attribute.add(name=self.rng.choice(["axis", "to", "dtype", "then_branch"]))
            if choice == 2:
                a.type, a.i = AttributeProto.INT, self.rng.choice(HUGE_INTS)
            else:
                a.type = AttributeProto.INTS
                a.ints.extend(self.rng.choice(HUGE_INTS) for _ in range(self.rng.choice([3, 900])))

    def wrong_opset(self, model: ModelProto) -> None:
        choice = self.rng.randrange(3)
        if choice == 0:
            del model.opset_import[:]
        elif model.opset_import:
            op = self.rng.choice(model.opset_import)
            op.version = self.rng.choice([0, 1, 7, 9999, -5, 2**62])
        if choice == 2:
            model.opset_import.add(domain=self.rng.choice(["", "ai.onnx", HOSTILE[2]]), version=3)

    def duplicate_outputs(self, model: ModelProto) -> None:
        g = self.rng.choice(_graphs(model))
        if not g.node:
            return
        node = self.rng.choice(g.node)
        if self.rng.random() < 0.5:
            g.node.add().CopyFrom(node)  # a second node writing the same names
        elif node.output:
            node.output.append(node.output[0])

    def hostile_strings(self, model: ModelProto) -> None:
        text = self.rng.choice(HOSTILE)
        where = self.rng.randrange(5)
        node = self._node(model)
        if where == 0 and node is not None:
            node.name = text
        elif where == 1 and node is not None:
            node.doc_string = text
        elif where == 2:
            self.rng.choice(_graphs(model)).name = text
        elif where == 3:
            model.metadata_props.add(key=text, value=text)
        elif node is not None:
            node.output.append(text)
            node.input.append(text)

    def bad_tensor(self, model: ModelProto) -> None:
        g = self.rng.choice(_graphs(model))
        t = g.initializer.add(name=self.rng.choice(["w", "x", *HOSTILE[:3]]))
        t.data_type = self.rng.choice([F, I64, 0, 8, 40, 99])
        t.dims.extend(self.rng.choice(HUGE_INTS + [2, 3]) for _ in range(self.rng.randint(0, 3)))
        t.raw_data = self.rng.randbytes(self.rng.choice([0, 3, 8, 64]))
        node = self._node(model)
        if node is not None and self.rng.random() < 0.5:  # also as a Constant-like attribute
            a = node.attribute.add(name="value", type=AttributeProto.TENSOR)
            a.t.CopyFrom(t)

    def external_data(self, model: ModelProto) -> None:
        g = self.rng.choice(_graphs(model))
        t = g.initializer.add(name="ext", data_type=F, dims=[4])
        t.data_location = TensorProto.EXTERNAL
        location = self.rng.choice(["../../etc/passwd", "/etc/passwd", "missing.bin", "", "a\x00b"])
        t.external_data.add(key="location", value=location)
        if self.rng.random() < 0.5:
            t.external_data.add(key="offset", value=self.rng.choice(["-1", "x", "99999999999"]))

    def recursive_function(self, model: ModelProto) -> None:
        fn = model.functions.add(name="local_fn", domain="local")
        fn.input.extend(["a"])
        fn.output.extend(["b"])
        fn.node.add(op_type="local_fn", domain="local", input=["a"], output=["b"], name="again")
        fn.opset_import.add(domain="", version=18)
        node = self._node(model)
        if node is not None:
            node.op_type, node.domain = "local_fn", "local"

    def nest(self, model: ModelProto) -> None:
        """Wrap the main graph in `levels` Ifs (each then_branch holds the next)."""
        levels = self.rng.choice([2, 10, 60, 120])
        inner = GraphProto()
        inner.CopyFrom(model.graph)
        for i in range(levels):
            outer = GraphProto(name=f"level{i}")
            node = outer.node.add(op_type="If", name=f"nest{i}", input=["c"], output=["y"])
            node.attribute.add(name="then_branch", type=AttributeProto.GRAPH).g.CopyFrom(inner)
            other = node.attribute.add(name="else_branch", type=AttributeProto.GRAPH).g
            other.node.add(op_type="Identity", input=["x"], output=["y"])
            other.output.add(name="y")
            outer.output.add(name="y")
            inner = outer
        model.graph.CopyFrom(inner)

    def swap_type(self, model: ModelProto) -> None:
        vis = self._value_infos(model)
        if not vis:
            return
        tp = self.rng.choice(vis).type
        kind = self.rng.randrange(4)
        if kind == 0:
            deep = tp
            for _ in range(self.rng.choice([3, 50])):
                deep = deep.sequence_type.elem_type
            deep.tensor_type.elem_type = F
        elif kind == 1:
            tp.map_type.key_type = self.rng.choice([0, 99, 1])
            tp.map_type.value_type.optional_type.elem_type.tensor_type.elem_type = 1
        elif kind == 2:
            tp.sparse_tensor_type.elem_type = 99
            tp.sparse_tensor_type.shape.dim.add().dim_value = -3
        else:
            tp.Clear()

    def clear_graph(self, model: ModelProto) -> None:
        g = self.rng.choice(_graphs(model))
        if self.rng.random() < 0.5:
            del g.node[:]
        else:
            g.Clear()

    def proto_mutation(self, model: ModelProto) -> str:
        kinds: list[Callable[[ModelProto], None]] = [
            self.op_type,
            self.domain,
            self.drop_input,
            self.duplicate_input,
            self.absurd_dims,
            self.remove_branch,
            self.remove_branch,
            self.duplicate_branch,
            self.attribute_type,
            self.attribute_type,
            self.empty_names,
            self.huge_ints,
            self.wrong_opset,
            self.duplicate_outputs,
            self.hostile_strings,
            self.bad_tensor,
            self.external_data,
            self.recursive_function,
            self.nest,
            self.swap_type,
            self.clear_graph,
        ]
        fn = self.rng.choice(kinds)
        fn(model)
        return fn.__name__


def build_corpus(folder: Path, count: int = CORPUS_SIZE, seed: int = SEED) -> list[Path]:
    """Write `count` mutated models to `folder`; names say the base and the mutations."""
    bases = base_models()
    blobs = {name: m.SerializeToString() for name, m in bases.items()}
    names = sorted(bases)
    mut = Mutator(seed)
    rng = mut.rng
    paths: list[Path] = []
    for i in range(count):
        base = rng.choice(names)
        roll = rng.random()
        kinds: list[str] = []
        if roll < 0.70:
            model = ModelProto()
            model.CopyFrom(bases[base])
            for _ in range(rng.choice([1, 1, 2, 3, 5])):
                kinds.append(mut.proto_mutation(model))
            data = model.SerializeToString()
            if roll > 0.55:
                kind, data = mut.byte_mutation(data)
                kinds.append(kind)
        else:
            kind, data = mut.byte_mutation(blobs[base])
            kinds.append(kind)
        path = folder / f"{i:05d}-{base}-{'+'.join(kinds)}.onnx"
        path.write_bytes(data)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return build_corpus(folder)


# --------------------------------------------------------------------------- headless


@dataclass
class Outcome:
    """What opening one file did."""

    path: str
    ok: bool
    seconds: float
    message: str = ""
    """The GraphError's line (refused), or the crash's first line."""
    details: str = ""
    crash: str = ""
    """Traceback of an exception other than GraphError (a bug)."""
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Rendered text that leaked control characters, and such."""


_UNSAFE = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


def _raw_controls(text: str) -> list[str]:
    """Characters a terminal would act on (newline and tab are layout, not payload)."""
    return sorted(
        {repr(ch) for ch in text if ch not in "\n\t" and unicodedata.category(ch) in _UNSAFE}
    )


def _walk(item, budget: list[int]) -> Iterator:  # type: ignore[no-untyped-def]
    """Every item under `item` (depth-first), at most `budget[0]` of them."""
    stack = [item]
    while stack and budget[0] > 0:
        it = stack.pop()
        budget[0] -= 1
        yield it
        stack.extend(reversed(list(it.children())))


def open_one(path: str) -> Outcome:
    """`cfexplore tree FILE` in-process: open, warnings, the rendered tree, plus details."""
    from rich.console import Console

    from cfexplore.errors import GraphError
    from cfexplore.graph.summary import summary_line
    from cfexplore.graph.tree import OnnxTree
    from cfexplore.render.graph_text import render_tree
    from cfexplore.render.labels import item_label
    from cfexplore.tui.widgets.node_detail import render_shown
    from cfexplore.tui.widgets.onnx_tree import find_matches

    start = time.perf_counter()
    try:
        tree = OnnxTree.open(path)
        out = io.StringIO()
        Console(file=out, width=120, color_system=None, soft_wrap=False).print(render_tree(tree))
        text = out.getvalue() + "\n" + summary_line(tree)
        for item in _walk(tree.root, [MAX_DETAIL_ITEMS]):
            doc = render_shown(item)
            text += "\n" + (doc.plain if doc is not None else "")
            text += "\n" + item_label(item).plain
            assert tree.node_by_path(item.path) is item
        for node in tree.iter_control_flow():  # what `n` and `e` walk in the app
            assert tree.node_by_path(node.path) is node
        find_matches(tree, "i")  # the filter (`/`)
    except GraphError as exc:
        return Outcome(path, False, time.perf_counter() - start, str(exc), exc.details)
    except BaseException as exc:  # any other exception is the bug this test looks for
        first = f"{type(exc).__name__}: {exc}"
        return Outcome(
            path, False, time.perf_counter() - start, first, crash=traceback.format_exc()
        )
    leaked = _raw_controls(text)
    problems = (f"raw control characters in the output: {leaked}",) if leaked else ()
    return Outcome(
        path, True, time.perf_counter() - start, warnings=tuple(tree.warnings), problems=problems
    )


def _message_problems(message: str) -> list[str]:
    out = []
    if "\n" in message or "\r" in message:
        out.append("more than one line")
    if len(message) > MAX_MESSAGE:
        out.append(f"{len(message)} characters")
    if "Traceback" in message or 'File "' in message:
        out.append("traceback text")
    if not message.strip():
        out.append("empty")
    if _raw_controls(message):
        out.append("raw control characters")
    return out


def failure_kind(message: str) -> str:
    """A short family name for a refusal message (for the summary)."""
    reason = message.split(".onnx", 1)[-1]
    for key in (
        "truncated model",
        "not an ONNX model",
        "corrupt protobuf",
        "no graph in file",
        "text file",
        "JSON",
        "empty file",
        "external data",
    ):
        if key in reason:
            return key
    return reason.strip(": ")[:50]


def _open_all(paths: list[Path]) -> tuple[list[Outcome], list[str]]:
    """Open every file in 2 spawned processes; (outcomes, paths that never reported)."""
    ctx = multiprocessing.get_context("spawn")
    pending = {str(p) for p in paths}
    results: list[Outcome] = []
    with ctx.Pool(2) as pool:
        it = pool.imap_unordered(open_one, sorted(pending))
        try:
            for _ in range(len(paths)):
                outcome = it.next(timeout=MAX_SECONDS * 4)
                pending.discard(outcome.path)
                results.append(outcome)
        except multiprocessing.TimeoutError:
            pool.terminate()
    return results, sorted(pending)


def test_corpus_is_large_and_varied(corpus: list[Path]) -> None:
    assert len(corpus) >= min(CORPUS_SIZE, 3000)
    bases = Counter(p.name.split("-", 1)[1].rsplit("-", 1)[0] for p in corpus)
    assert {"test_if", "test_loop11", "test_scan9_sum", "if_in_loop", "function_if"} <= set(bases)
    kinds = Counter(k for p in corpus for k in p.stem.rsplit("-", 1)[1].split("+"))
    assert len(kinds) >= 20, kinds


def test_corpus_headless(corpus: list[Path]) -> None:
    """Open, render and detail every file: GraphError or success, one-line messages, fast."""
    start = time.perf_counter()
    outcomes, silent = _open_all(corpus)
    elapsed = time.perf_counter() - start
    crashes = [o for o in outcomes if o.crash]
    refused = [o for o in outcomes if not o.ok and not o.crash]
    opened = [o for o in outcomes if o.ok]
    bad_messages = [(o.path, o.message, p) for o in refused for p in _message_problems(o.message)]
    bad_warnings = [
        (o.path, w, p) for o in opened for w in o.warnings for p in _message_problems(w)
    ]
    leaks = [(o.path, o.problems) for o in opened if o.problems]
    no_details = [o.path for o in refused if not o.details.strip()]
    slowest = max(outcomes, key=lambda o: o.seconds)
    kinds = Counter(failure_kind(o.message) for o in refused)
    print(
        f"\n{len(corpus)} files in {elapsed:.1f}s: {len(opened)} opened, {len(refused)} refused, "
        f"{len(crashes)} crashed, {len(silent)} silent; slowest {slowest.seconds:.2f}s "
        f"({Path(slowest.path).name})\nrefusals by kind: {dict(kinds.most_common())}"
    )
    assert not silent, f"no result (hang or hard crash) for {silent[:5]}"
    assert not crashes, "\n\n".join(f"{Path(o.path).name}\n{o.crash}" for o in crashes[:3])
    assert slowest.seconds < MAX_SECONDS, slowest
    assert not bad_messages, bad_messages[:5]
    assert not bad_warnings, bad_warnings[:5]
    assert not leaks, leaks[:5]
    assert not no_details, no_details[:5]
    assert opened and refused, "the corpus should hold both openable and refused files"


def test_shape_inference_warning_fits_one_line(tmp_path: Path) -> None:
    """Regression: a long shape-inference error made a 180-character warning."""
    model = function_model()
    model.graph.node[1].domain = "d" * 150  # no opset import for this domain
    path = tmp_path / "long_domain.onnx"
    onnx.save(model, path)
    outcome = open_one(str(path))
    assert outcome.ok, outcome
    inference = [w for w in outcome.warnings if w.startswith("shape inference failed")]
    assert inference, outcome.warnings
    assert all(not _message_problems(w) for w in outcome.warnings), outcome.warnings


def _cli(path: Path) -> tuple[Path, int, str, str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "cfexplore", "tree", str(path)],
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS,
        env={**os.environ, "COLUMNS": "120", "TERM": "dumb"},
    )
    return path, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


def test_corpus_cli_sample(corpus: list[Path]) -> None:
    """The real `cfexplore tree FILE`: exit 2 and one stderr line, or exit 0."""
    rng = random.Random(SEED)
    sample = rng.sample(corpus, min(CLI_SAMPLE, len(corpus)))
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(_cli, sample))
    codes = Counter(code for _, code, _, _, _ in runs)
    assert set(codes) <= {0, 2}, [(p.name, c, e) for p, c, _, e, _ in runs if c not in (0, 2)]
    assert codes[0] and codes[2], codes
    for path, code, out, err, seconds in runs:
        assert seconds < MAX_SECONDS, path
        lines = err.splitlines()
        assert "Traceback" not in err and "internal error" not in err, (path.name, err)
        if code == 2:
            assert len(lines) == 1, (path.name, err)
            assert lines[0].startswith("cfexplore: "), (path.name, err)
            assert len(lines[0]) <= MAX_MESSAGE + len("cfexplore: "), (path.name, err)
            assert not out, (path.name, out)
        else:
            assert all(line.startswith("cfexplore: warning: ") for line in lines), err
            assert all(len(line) <= MAX_MESSAGE + 30 for line in lines), err
            assert out.strip(), path.name
        assert not _raw_controls(out + err), (path.name, _raw_controls(out + err))


# --------------------------------------------------------------------------- in the app

APP_EVERY = int(os.environ.get("CFEXPLORE_CORPUS_APP_EVERY", "1"))
"""The app opens every this-many-th file (default: all 3,000, about 6 minutes on 2 cores;
`CFEXPLORE_CORPUS_APP_EVERY=4` opens 750 for a quicker local run).

Each open costs the app ~0.1 s (the open itself, a validation in a niced worker process,
the Footer rebuilt). Textual's Footer used to keep every removed key (textual#6666) and
slowed later opens down; `CfxFooter` prunes them."""
DETAILS_EVERY = 100
"""Every this many refused files, E opens the full details screen (checked, then closed)."""
VALIDATION_SECONDS = 130.0
"""The app validates an opened file in a worker (time limit 120 s); waiting beyond is a hang."""


async def _press(pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Like `pilot.press`, without its CPU-idle waits (which make 3,000 files take minutes)."""
    from textual import events

    app = pilot.app
    for key in keys:
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
        await pilot._wait_for_screen()


async def _until(check: Callable[[], bool], limit: float, what: str) -> None:
    start = time.perf_counter()
    while not check():
        await asyncio.sleep(0.001)
        assert time.perf_counter() - start < limit, f"hang: {what}"


async def test_corpus_in_app(corpus: list[Path]) -> None:
    """One app session opens every file, expands a little, and never stops running."""
    from textual.widgets import Static

    from cfexplore.tui.app import CfxApp
    from cfexplore.tui.screens.graph import GraphScreen
    from cfexplore.tui.screens.text import TextScreen
    from cfexplore.tui.widgets.node_detail import NodeDetailView
    from cfexplore.tui.widgets.onnx_tree import OnnxTreeView

    app = CfxApp()
    slowest, slowest_path = 0.0, ""
    opened = refused = details_shown = 0
    validation: Counter[str] = Counter()
    bad: list[tuple[str, str, str]] = []
    start = time.perf_counter()
    files = corpus[::APP_EVERY]
    async with app.run_test(size=(100, 30)) as pilot:
        for n, path in enumerate(files):
            t0 = time.perf_counter()
            app.last_error = None
            app.open_path(str(path))

            def asked(path: Path = path) -> bool:
                screen = app.screen
                ref = getattr(screen, "onnx_ref", None)
                return ref is not None and ref.path == str(path)

            await _until(asked, MAX_SECONDS, path.name)  # the first time, the screen mounts
            screen = app.screen
            assert isinstance(screen, GraphScreen), (path.name, screen)
            view = screen.query_one(OnnxTreeView)
            await _until(lambda view=view: not view.loading, MAX_SECONDS, path.name)
            if screen.model is not None:
                opened += 1
                keys = ["down", "right"] if n % 10 else ["e", "down", "down", "right", "n"]
                await _press(pilot, *keys)
                detail = screen.query_one(NodeDetailView)
                detail.item = view.highlighted_item  # render the pane now (no debounce wait)
                assert detail.plain_text, path.name
                # the app validates a file from elsewhere in a worker process: let it finish,
                # or the next open cancels it and kills (then restarts) that worker
                waited = time.perf_counter()
                await _until(
                    lambda s=screen: s.validation is not None, VALIDATION_SECONDS, path.name
                )
                validation["valid" if screen.validation.ok else "invalid"] += 1
                t0 += time.perf_counter() - waited  # timed separately (a background job)
            else:
                refused += 1
                empty = screen.query_one("#graph-empty", Static)
                assert empty.display and empty.has_class("error-text"), path.name
                detail = screen.query_one(NodeDetailView)
                assert detail.is_error and "Cannot open" in detail.plain_text, path.name
                assert app.last_error is not None, path.name
                assert app.last_error[2].strip(), f"{path.name}: no details"
                if refused % DETAILS_EVERY == 1:
                    await _press(pilot, "E")
                    await _until(lambda: isinstance(app.screen, TextScreen), 5, "E: details")
                    assert app.last_error[2] in app.screen._text  # type: ignore[attr-defined]
                    await _press(pilot, "escape")
                    await _until(lambda s=screen: app.screen is s, 5, "closing the details")
                    details_shown += 1
            seconds = time.perf_counter() - t0
            if seconds > slowest:
                slowest, slowest_path = seconds, path.name
            assert app.is_running and app._exception is None, path.name
            for note in app._notifications:
                for problem in _message_problems(note.message):
                    bad.append((path.name, note.message, problem))
                if len(note.title) > MAX_MESSAGE:
                    bad.append((path.name, note.title, "long title"))
            app.clear_notifications()
        assert app.is_running and app._exception is None
        await app.action_quit()
    total = time.perf_counter() - start
    print(
        f"\nin the app: {len(files)} files in {total:.1f}s ({opened} opened, {refused} refused, "
        f"{details_shown} details screens; validation {dict(validation)}); slowest open "
        f"{slowest:.2f}s ({slowest_path})"
    )
    by_problem = Counter((problem, note[:60]) for _, note, problem in bad)
    for (problem, note), count in by_problem.most_common(12):
        print(f"  {count:5d} x {problem}: {note!r}")
    assert app.return_code in (0, None)
    assert not bad, bad[:5]
    assert slowest < MAX_SECONDS
