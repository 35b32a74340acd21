"""Untrusted `.onnx` files: the safe load pipeline, regression files, terminal-safe text.

Every hostile file is built here in `tmp_path` (onnx.helper, raw bytes, mkfifo, symlinks,
hard links), so the tests document exactly what each attack looks like.
"""

from __future__ import annotations

import inspect
import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from rich.console import Console
from rich.text import Text

from cfexplore.errors import GraphError
from cfexplore.graph.external import check_external_data
from cfexplore.graph.items import GraphItem, NodeItem
from cfexplore.graph.safeload import DEFAULT_MAX_BYTES, load_model_safely
from cfexplore.graph.summary import summary_line
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.graph_text import render_tree
from cfexplore.render.labels import item_label
from cfexplore.termtext import safe_tail, safe_text
from tests.builders import tv
from tests.conftest import ROOT

F = TensorProto.FLOAT
OPSET = [helper.make_opsetid("", 18)]
RAW_BAD = ("\x1b", "\x07", "\u202e")


def relu_model(**graph_kwargs: object) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        "g",
        [tv("x", shape=[2])],
        [tv("y", shape=[2])],
        **graph_kwargs,  # type: ignore[arg-type]
    )
    return helper.make_model(graph, opset_imports=OPSET)


def check_message(exc: GraphError) -> str:
    """The one-line contract: <= 160 chars, no newline, no traceback, details kept."""
    msg = str(exc)
    assert "\n" not in msg and len(msg) <= 160, msg
    assert "Traceback" not in msg
    assert exc.details
    return msg


def open_error(path: Path, **kwargs: object) -> str:
    with pytest.raises(GraphError) as info:
        OnnxTree.open(path, **kwargs)  # type: ignore[arg-type]
    return check_message(info.value)


# --------------------------------------------------------------------------- not a file


def test_default_limit_is_two_gib() -> None:
    assert DEFAULT_MAX_BYTES == 2 * 1024**3
    assert inspect.signature(load_model_safely).parameters["max_bytes"].default == 2 * 1024**3
    assert inspect.signature(OnnxTree.open).parameters["max_bytes"].default == 2 * 1024**3


def test_folder_and_missing(tmp_path: Path) -> None:
    assert open_error(tmp_path).endswith("is a directory, not an ONNX file")
    missing = tmp_path / "nope.onnx"
    msg = open_error(missing)
    assert msg == f"{missing}: no such file"


def test_fifo_answers_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    result: list[BaseException | object] = []

    def run() -> None:
        try:
            result.append(OnnxTree.open(fifo))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(1.0)
    if thread.is_alive():  # unblock the reader so the daemon thread can end
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("opening a FIFO blocked")
    assert len(result) == 1 and isinstance(result[0], GraphError)
    assert check_message(result[0]).endswith("is a FIFO (named pipe), not an ONNX file")


def test_socket_and_device(tmp_path: Path) -> None:
    sock_path = tmp_path / "s.onnx"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(sock_path))
        assert open_error(sock_path).endswith("is a socket, not an ONNX file")
    finally:
        sock.close()
    if os.path.exists("/dev/null"):
        assert open_error(Path("/dev/null")).endswith("is a character device, not an ONNX file")


def test_oversize_refused_from_its_size(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(relu_model(), path)
    size = path.stat().st_size
    msg = open_error(path, max_bytes=64)
    assert msg == f"{path} is {size} bytes: over the 64 bytes limit"
    assert OnnxTree.open(path, max_bytes=size).root.node_count == 1


# --------------------------------------------------------------------------- regression files


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    assert open_error(path) == f"cannot parse {path}: empty file: 0 bytes, not an ONNX model"


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(random.Random(0).randbytes(4096))
    msg = open_error(path)
    assert msg.startswith(f"cannot parse {path}: not an ONNX model")


def test_truncated_model(tmp_path: Path) -> None:
    data = relu_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    msg = open_error(path)
    assert msg.startswith(f"cannot parse {path}: truncated model: graph at byte")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("hello \x1b[2J world\nthis is a text file\n")
    msg = open_error(path)
    assert msg.startswith(f"cannot parse {path}: a text file, not a binary ONNX model")
    assert "\x1b" not in msg and "\\x1b" in msg


def test_binary_model_named_json_opens_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(relu_model().SerializeToString())
    tree = OnnxTree.open(path)
    assert tree.root.node_count == 1
    assert "model.json holds a binary ONNX model: opened as binary" in tree.warnings


def test_json_model_and_json_junk(tmp_path: Path) -> None:
    from google.protobuf import json_format

    path = tmp_path / "model.json"
    path.write_text(json_format.MessageToJson(relu_model()))
    tree = OnnxTree.open(path)
    assert tree.root.node_count == 1 and any("JSON-format" in w for w in tree.warnings)
    junk = tmp_path / "junk.json"
    junk.write_text('{"not": "onnx"}')
    assert "JSON text, not an ONNX model" in open_error(junk)


def test_dangling_input_opens_with_warning(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "ghost"], ["y"], name="add")],
        "g",
        [tv("x", shape=[2])],
        [tv("y", shape=[2])],
    )
    path = tmp_path / "dangling.onnx"
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    tree = OnnxTree.open(path)
    assert "node add reads 'ghost', which nothing defines" in tree.warnings
    assert any(w.startswith("onnx checker: ") for w in tree.warnings)


def test_unknown_op_opens_and_says_so(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("FooBar", ["x"], ["y"], name="foo")], "g", [tv("x", shape=[2])], [tv("y")]
    )
    path = tmp_path / "unknown.onnx"
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    tree = OnnxTree.open(path)
    assert any(w.startswith("unknown op FooBar") for w in tree.warnings)
    detail = tree.root.child(0).detail()
    assert detail.notes and detail.notes[0].startswith("unknown op FooBar")
    from tui.widgets.node_detail import render_node_detail

    assert "note: unknown op FooBar" in render_node_detail(detail).plain


def test_opset_99_opens_with_warning(tmp_path: Path) -> None:
    model = relu_model()
    model.opset_import[0].version = 99
    path = tmp_path / "opset99.onnx"
    onnx.save(model, path)
    tree = OnnxTree.open(path)
    assert tree.root.node_count == 1
    assert any(w.startswith("opset 99 is newer than onnx 1.23 knows") for w in tree.warnings)


def if_node(name: str, then_outs: int, else_outs: int) -> onnx.NodeProto:
    def branch(tag: str, n: int) -> onnx.GraphProto:
        nodes = [helper.make_node("Identity", ["x"], [f"{tag}{i}"]) for i in range(n)]
        return helper.make_graph(nodes, tag, [], [tv(f"{tag}{i}") for i in range(n)])

    return helper.make_node(
        "If",
        ["c"],
        ["y"],
        name=name,
        then_branch=branch("t", then_outs),
        else_branch=branch("e", else_outs),
    )


def test_if_branches_with_different_output_counts(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [if_node("odd_if", 2, 1)],
        "g",
        [tv("x", shape=[2]), tv("c", TensorProto.BOOL, [])],
        [tv("y")],
    )
    path = tmp_path / "if21.onnx"
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    tree = OnnxTree.open(path)
    assert any(
        w.startswith("If odd_if in main graph: then_branch has 2 outputs, else_branch 1")
        for w in tree.warnings
    )
    assert tree.root.child(0).child_count == 2


def test_thirty_nested_ifs_browse_fully(tmp_path: Path) -> None:
    inner = helper.make_graph([helper.make_node("Relu", ["x"], ["r"])], "leaf", [], [tv("r")])
    for level in range(30):
        other = helper.make_graph(
            [helper.make_node("Identity", ["x"], [f"e{level}"])], "other", [], [tv(f"e{level}")]
        )
        node = helper.make_node(
            "If", ["c"], [f"o{level}"], name=f"if{level}", then_branch=inner, else_branch=other
        )
        inner = helper.make_graph([node], f"level{level}", [], [tv(f"o{level}")])
    graph = helper.make_graph(
        list(inner.node), "g", [tv("x", shape=[2]), tv("c", TensorProto.BOOL, [])], [tv("o29")]
    )
    path = tmp_path / "nested.onnx"
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    tree = OnnxTree.open(path)
    item: GraphItem | NodeItem = tree.root
    depth = 0
    while item.has_children:
        item = next(iter(item.children()))
        depth += 1
    assert isinstance(item, NodeItem) and item.op_type == "Relu"
    assert depth == 61  # 30 x (If, then_branch) + Relu
    assert tree.total_counts["If"] == 30
    text = export_text(render_tree(tree), width=400)
    assert text.count("◆ If") == 30 and "Relu" in text


def test_invalid_utf8_names_open_escaped(tmp_path: Path) -> None:
    model = relu_model()
    model.graph.node[0].name = "AAname"
    data = model.SerializeToString().replace(b"AAname", b"\xff\xfename")
    path = tmp_path / "utf8.onnx"
    path.write_bytes(data)
    tree = OnnxTree.open(path)
    node = tree.root.child(0)
    assert node.name == "\\xff\\xfename"
    assert "\\xff\\xfename" in item_label(node).plain
    assert any("invalid UTF-8" in w for w in tree.warnings)
    export_text(render_tree(tree))


def test_graph_error_keeps_details(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x08\x07" + b"\x3a\xff\x01")  # ir_version, then a graph cut short
    with pytest.raises(GraphError) as info:
        OnnxTree.open(path)
    assert "truncated model" in str(info.value)
    assert str(path) in info.value.details and len(info.value.details) >= len(str(info.value))


# --------------------------------------------------------------------------- external data


def external_model(
    location: str, offset: int | None = 0, length: int | None = 16
) -> onnx.ModelProto:
    """A model whose initializer `w` (float32[4]) lives in external data at `location`."""
    w = onnx.TensorProto(name="w", data_type=F, dims=[4])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            entry = w.external_data.add()
            entry.key, entry.value = key, str(value)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [tv("x", shape=[4])],
        [tv("y", shape=[4])],
        [w],
    )
    return helper.make_model(graph, opset_imports=OPSET)


def write(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


DATA = bytes(range(16))


def test_sibling_external_data_loads(tmp_path: Path) -> None:
    (tmp_path / "w.data").write_bytes(DATA)
    path = write(external_model("w.data"), tmp_path / "m.onnx")
    tree = OnnxTree.open(path)
    assert tree.root.inputs[0].describe() == "x: float32[4]"
    assert check_external_data(tree.model, path) == 1
    model = load_model_safely(path, load_external=True)
    assert model.graph.initializer[0].raw_data == DATA
    assert not model.graph.initializer[0].external_data
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.data").write_bytes(DATA)
    OnnxTree.open(write(external_model("sub/w.data"), tmp_path / "m2.onnx"))


@pytest.mark.parametrize(
    ("name", "location", "reason"),
    [
        ("dotdot", "../x.data", "escapes the model folder"),
        ("absolute", "/etc/passwd", "is an absolute path"),
        ("symlink", "link.data", "is a symlink"),
        ("symdir", "linkdir/w.data", "goes through a symlinked folder"),
        ("hardlink", "hard.data", "is a hard link"),
        ("missing", "nothere.data", "is missing"),
        ("fifo", "pipe.data", "is not a regular file"),
    ],
)
def test_external_data_attacks_refused(
    tmp_path: Path, name: str, location: str, reason: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "w.data").write_bytes(DATA)
    (tmp_path / "x.data").write_bytes(DATA)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "real.data").write_bytes(DATA)
    os.symlink(outside / "w.data", model_dir / "link.data")
    os.symlink(outside, model_dir / "linkdir")
    os.link(outside / "w.data", model_dir / "hard.data")
    os.mkfifo(model_dir / "pipe.data")
    path = write(external_model(location), model_dir / f"{name}.onnx")
    msg = open_error(path)
    assert msg.startswith("cannot open ") and path.name in msg
    assert f": external data '{location}' of tensor 'w' {reason}" in msg


@pytest.mark.parametrize(
    ("offset", "length", "reason"),
    [
        (-4, 16, "has a negative offset (-4)"),
        (8, 16, "reads bytes 8..24, past the end of the file (16 bytes)"),
        (32, None, "past the end of the file"),
        (0, -1, "has a negative length"),
        ("x", 16, "non-integer offset"),
    ],
)
def test_external_data_bad_ranges(
    tmp_path: Path, offset: int | str, length: int | None, reason: str
) -> None:
    (tmp_path / "w.data").write_bytes(DATA)
    path = write(external_model("w.data", offset, length), tmp_path / "m.onnx")  # type: ignore[arg-type]
    msg = open_error(path)
    assert "external data 'w.data' of tensor 'w'" in msg and reason in msg


def test_external_data_in_if_branch_is_checked(tmp_path: Path) -> None:
    def branch(location: str) -> onnx.GraphProto:
        inner = external_model(location).graph
        return helper.make_graph(list(inner.node), "b", [], [tv("y")], list(inner.initializer))

    def model(then_loc: str) -> onnx.ModelProto:
        node = helper.make_node(
            "If", ["c"], ["y"], then_branch=branch(then_loc), else_branch=branch("w.data")
        )
        graph = helper.make_graph(
            [node], "g", [tv("x", shape=[4]), tv("c", TensorProto.BOOL, [])], [tv("y")]
        )
        return helper.make_model(graph, opset_imports=OPSET)

    (tmp_path / "w.data").write_bytes(DATA)
    assert OnnxTree.open(write(model("w.data"), tmp_path / "ok.onnx")).total_counts["If"] == 1
    msg = open_error(write(model("../../etc/passwd"), tmp_path / "bad.onnx"))
    assert "external data '../../etc/passwd' of tensor 'w' escapes the model folder" in msg


# --------------------------------------------------------------------------- terminal safety


HOSTILE = [
    "[/x]",
    "[link=https://evil.example]click[/link]",
    "\x1b]0;TITLE\x07",
    "\x1b[2J",
    "bell\x07",
    "abc\u202edef",
    "zero\u200bwidth\u2066iso",
    "nl\nline\rcr",
    "x" * 10_000,
]


def export_text(renderable: object, width: int = 120) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(renderable)
    return console.export_text()


def assert_clean(text: str) -> None:
    for ch in RAW_BAD:
        assert ch not in text, repr(text[:200])


def hostile_model() -> onnx.ModelProto:
    nodes = []
    prev = "x"
    for i, s in enumerate(HOSTILE):
        node = helper.make_node(
            "Relu" if i % 2 else s[:50],
            [prev],
            [f"v{i}{s[:30]}"],
            name=s,
            doc_string=s,
            domain="" if i % 2 else s[:20],
            label=s.encode(),
        )
        entry = node.metadata_props.add()
        entry.key, entry.value = s[:40], s
        nodes.append(node)
        prev = node.output[0]
    sub = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["t\x1b"], name="\u202einner")],
        "\x1b]0;G\x07",
        [],
        [tv("t\x1b")],
    )
    nodes.append(
        helper.make_node("If", ["c"], ["out"], name="if\x1b[2J", then_branch=sub, else_branch=sub)
    )
    graph = helper.make_graph(
        nodes,
        "\x1b]0;graph\x07",
        [tv("x", shape=["\x1b[31mbatch"]), tv("c", TensorProto.BOOL, [])],
        [tv(prev), tv("out")],
    )
    model = helper.make_model(graph, opset_imports=OPSET)
    model.producer_name = "evil\x1b]0;P\x07\u202e"
    model.producer_version = "1\x07"
    return model


def test_safe_text_escapes_and_truncates() -> None:
    assert safe_text("\x1b]0;TITLE\x07") == "\\x1b]0;TITLE\\x07"
    assert safe_text("a\u202eb") == "a\\u202eb"
    assert safe_text("a\nb") == "a\\nb" and safe_text("a\nb", multiline=True) == "a\nb"
    assert safe_text("[/x]") == "[/x]"  # markup is harmless in Text, kept literal
    assert safe_text("é日本") == "é日本"
    long = safe_text("y" * 10_000, 80)
    assert len(long) == 80 and long.endswith("…")
    assert safe_text("abcdef\x1bz", 9) == "abcdef…"  # no half escape before the ellipsis
    assert safe_text(safe_text("\x1b\u202e")) == safe_text("\x1b\u202e")
    assert safe_text(b"\xffok") == "\\xffok"
    assert safe_text("\udcff") == "\\udcff"  # a lone surrogate could not even be printed
    assert safe_tail("n" * 100 + "\x1b", 10) == "…nnnnn\\x1b"


def test_hostile_text_in_labels_detail_and_render(tmp_path: Path) -> None:
    from tui.widgets.node_detail import render_graph_item, render_node_detail

    path = tmp_path / "hostile\x1b.onnx"
    onnx.save(hostile_model(), path)
    tree = OnnxTree.open(path)
    rendered = export_text(render_tree(tree))
    assert_clean(rendered)
    assert "\\x1b]0;TITLE\\x07" in rendered and "abc\\u202edef" in rendered
    assert "[link=https://evil.example]click[/link]" in rendered
    assert_clean(summary_line(tree))
    for w in tree.warnings:
        assert_clean(w)
    stack: list[GraphItem | NodeItem] = [tree.root]
    while stack:
        item = stack.pop()
        label = item_label(item)
        assert isinstance(label, Text)
        assert_clean(label.plain)
        assert len(label.plain) < 400  # the 10,000-char name is cut in labels
        if isinstance(item, NodeItem):
            doc = render_node_detail(item.detail())
        else:
            doc = render_graph_item(item)
        assert_clean(doc.plain)
        stack.extend(item.children())
    node = tree.root.child(HOSTILE.index("x" * 10_000))
    assert "x" * 10_000 in render_node_detail(node.detail()).plain  # full text in the pane
    # the real terminal path: a console writing to a file, styles on
    console = Console(record=True, width=120, force_terminal=True, color_system="standard")
    with console.capture() as capture:
        console.print(render_tree(tree))
    out = capture.get()
    assert "\x07" not in out and "\u202e" not in out and "\x1b]" not in out
    assert "\x1b[2J" not in out


# --------------------------------------------------------------------------- CLI


def cli_files(tmp_path: Path) -> list[Path]:
    files: list[Path] = []

    def add(name: str, data: bytes) -> None:
        p = tmp_path / name
        p.write_bytes(data)
        files.append(p)

    add("empty.onnx", b"")
    add("random.onnx", random.Random(1).randbytes(2048))
    good = relu_model().SerializeToString()
    add("truncated.onnx", good[: len(good) // 2])
    add("text.onnx", b"\x1b]0;TITLE\x07 plain text\n")
    add("binary.json", good)
    add("hostile.onnx", hostile_model().SerializeToString())
    add("utf8.onnx", good.replace(b"relu", b"\xff\x1b\xfe\x07"))
    model99 = relu_model()
    model99.opset_import[0].version = 99
    add("opset99.onnx", model99.SerializeToString())
    (tmp_path / "w.data").write_bytes(DATA)
    add("escape.onnx", external_model("../w.data").SerializeToString())
    add("\x1b]0;name\x07.onnx", good)
    files.append(tmp_path)
    return files


@pytest.mark.slow  # the CLI in subprocesses
def test_cli_tree_on_hostile_files(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    for path in cli_files(tmp_path):
        proc = subprocess.run(
            [sys.executable, "-m", "cfexplore", "tree", os.fspath(path)],
            capture_output=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode in (0, 2), (path, err)
        assert "Traceback" not in err, err
        lines = err.strip().splitlines()
        if proc.returncode == 2:
            assert len(lines) == 1, err  # one clear error line
        else:  # an opened model may carry warnings, one line each
            assert all(line.startswith("cfexplore: warning: ") for line in lines), err
        assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout, path
        assert "\u202e".encode() not in proc.stdout
        assert b"\x1b" not in proc.stderr and b"\x07" not in proc.stderr, path


def test_utf8_check_in_c_agrees_with_the_walk() -> None:
    """The proto3 twin's parse rejects exactly the models the repair walk would change."""
    import onnx
    from onnx import helper

    from cfexplore.graph.safeload import repair_utf8, utf8_clean

    node = helper.make_node("Relu", ["x"], ["y"], name="AAAA", doc_string="BBBB")
    model = helper.make_model(helper.make_graph([node], "g", [], []))
    model.graph.initializer.append(
        helper.make_tensor("w", 1, [2], b"\xff\xfe\xfd\xfc\xff\xfe\xfd\xfc", raw=True)
    )
    clean = model.SerializeToString()
    assert utf8_clean(clean)  # binary tensor bytes are not strings
    for old, new in ((b"AAAA", b"A\xffAA"), (b"BBBB", b"B\xc3BB")):
        bad = clean.replace(old, new)
        assert not utf8_clean(bad)
        parsed = onnx.ModelProto()
        parsed.ParseFromString(bad)
        assert repair_utf8(parsed) == 1
