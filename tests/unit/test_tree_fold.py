"""`cfexplore tree` rows folded to a width (`render.tree_rows`): guides kept on every
continuation line, every character printed once, unlimited to a pipe unless `--width`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from rich.cells import cell_len

from cfexplore.cli.main import run
from cfexplore.graph.items import NodeItem
from cfexplore.graph.tree import OnnxTree
from cfexplore.render.graph_text import tree_lines
from cfexplore.render.tree_rows import (
    BRANCH,
    MIN_ROOM,
    PIPE,
    SPACE,
    fold_points,
    leaf_label,
)
from tests.builders import tv
from tests.conftest import ROOT

OPSET = [helper.make_opsetid("", 18)]
B, I64 = TensorProto.BOOL, TensorProto.INT64
LONG = "/encoder/layers.0/self_attn/q_proj/MatMul_output_0"
GUIDE = re.compile(r"((?:│   |    )*)(├── |└── )?")


# --------------------------------------------------------------------------- models


def _branch(tag: str, n: int) -> onnx.GraphProto:
    nodes = [
        helper.make_node("Identity", [LONG if i == 0 else f"{tag}{i - 1}"], [f"{tag}{i}"])
        for i in range(n)
    ]
    nodes[-1].name = f"/decoder/rnn/{tag}_branch_with_a_rather_long_node_name/Identity"
    return helper.make_graph(nodes, tag, [], [tv(f"{tag}{n - 1}")])


def loop_if_model(path: Path, hostile: bool = False) -> Path:
    """Long-named nodes around a Loop whose body holds an If (then: 3 nodes, else: 2)."""
    cond = helper.make_node(
        "Identity", ["cond_in"], ["cond_out"], name="/loop/body/condition/Identity"
    )
    inner_if = helper.make_node(
        "If",
        ["cond_in"],
        ["v_out"],
        name="/loop/body/if_that_picks_a_branch_by_the_flag",
        then_branch=_branch("then", 3),
        else_branch=_branch("else", 2),
    )
    body = helper.make_graph(
        [cond, inner_if],
        "body",
        [tv("iter", I64, []), tv("cond_in", B, []), tv("v_in")],
        [tv("cond_out", B, []), tv("v_out")],
    )
    name = "evil\x1b[31m\u202e_name_that_is_long_enough_to_fold_twice_over" if hostile else "mm"
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], [LONG], name=name),
            helper.make_node(
                "Loop", ["trips", "", LONG], ["y"], name="/model/top_loop/Loop", body=body
            ),
            helper.make_node("Relu", ["y"], ["z"], name="/model/final/relu_after_the_loop"),
        ],
        "loop_if",
        [tv("x"), tv("w"), tv("trips", I64, [])],
        [tv("z")],
    )
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    return path


# --------------------------------------------------------------------------- checks


def assert_folded(unfolded: list[str], folded: list[str], width: int) -> None:
    """`folded` is `unfolded` with each row cut into pieces: the first line keeps the row's
    guide, each continuation line its continuation guide; no character lost or doubled;
    a line is wider than `width` only where the guides leave less than `MIN_ROOM`."""
    lines = iter(folded)
    guides = []
    for row in unfolded:
        m = GUIDE.match(row)
        assert m is not None
        guides.append((m.group(1), m.group(2) or ""))
    for k, row in enumerate(unfolded):
        prefix, branch = guides[k]
        guide = prefix + branch
        nxt = guides[k + 1] if k + 1 < len(guides) else ("", "")
        kids = len(nxt[0] + nxt[1]) == len(guide) + 4 and bool(nxt[1])
        # the ancestors' bars, a bar under the row's branch when siblings follow, one
        # under its label when children follow (written out here, not taken from the code)
        own = {"├── ": "│   ", "└── ": "    ", "": ""}[branch]
        cont = prefix + own + ("│   " if kids else "    ")
        label = row[len(guide) :]
        first = next(lines)
        assert first.startswith(guide), (first, guide)
        got = [first[len(guide) :]]
        while len("".join(got)) < len(label):
            line = next(lines)
            assert line.startswith(cont), (line, cont, row)
            got.append(line[len(cont) :])
        assert "".join(got) == label, (got, label)
        assert all(got), got  # every line carries part of the label
        for head, piece in zip([guide] + [cont] * (len(got) - 1), got, strict=True):
            room = max(width - len(head), MIN_ROOM)
            assert cell_len(piece) <= room, (head, piece, width)
    assert next(lines, None) is None


def rows(tree: OnnxTree, width: int | None) -> list[str]:
    return [str(line) for line in tree_lines(tree, plain=True, width=width)]


# --------------------------------------------------------------------------- tests


def test_fold_points_cut_after_spaces_else_inside_a_long_token() -> None:
    text = "Concat  node_name  a, b, c -> out"
    cuts = fold_points(text, 20, 20)
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert "".join(pieces) == text
    assert pieces == ["Concat  node_name  ", "a, b, c -> out"]
    assert fold_points("aaaa, bbbb, cccc, dddd", 12, 12) == [12]  # after ", ", not in a name
    token = "x" * 25
    assert fold_points(f"ab {token}", MIN_ROOM, MIN_ROOM) == [3, 13, 23]  # hard cut only there
    assert fold_points("short", 80, 80) == []
    assert fold_points("中" * 12, 10, 10) == [5, 10]  # wide characters count two cells


@pytest.mark.parametrize("width", [20, 40, 60, 80])
def test_folded_rows_keep_guides_and_every_character(tmp_path: Path, width: int) -> None:
    tree = OnnxTree.open(loop_if_model(tmp_path / "m.onnx"), infer=False)
    unfolded, folded = rows(tree, None), rows(tree, width)
    assert max(len(line) for line in unfolded) > 80
    assert len(folded) > len(unfolded)
    assert_folded(unfolded, folded, width)
    if width >= 40:  # these guides leave room: nothing is wider than asked
        assert max(cell_len(line) for line in folded) <= width


def test_nested_if_inside_a_loop_folds_with_the_bars_of_every_level(tmp_path: Path) -> None:
    tree = OnnxTree.open(loop_if_model(tmp_path / "m.onnx"), infer=False)
    folded = rows(tree, 50)
    at = next(i for i, line in enumerate(folded) if "◆ If" in line)
    # If row: Loop not last (bar), body last (space), If last in body, has branches
    assert folded[at].startswith(PIPE + SPACE + "└── ◆ If  ")
    assert folded[at + 1].startswith(PIPE + SPACE + SPACE + PIPE)
    then = next(i for i, line in enumerate(folded) if "then_branch" in line)
    inner = PIPE + SPACE + SPACE + PIPE  # Loop's bar, body and If last, else_branch follows
    last_then = next(i for i in range(then, len(folded)) if folded[i].startswith(inner + "└── "))
    assert "Identity" in folded[last_then]
    assert folded[last_then + 1].startswith(inner + SPACE + SPACE)
    assert_folded(rows(tree, None), folded, 50)


@pytest.mark.parametrize("width", [1, 5, 12])
def test_width_smaller_than_the_guides_still_ends_and_keeps_everything(
    tmp_path: Path, width: int
) -> None:
    tree = OnnxTree.open(loop_if_model(tmp_path / "m.onnx"), infer=False)
    unfolded, folded = rows(tree, None), rows(tree, width)
    assert_folded(unfolded, folded, width)
    assert len(folded) < 40 * len(unfolded)  # at least MIN_ROOM characters a line


def test_styled_lines_fold_like_the_plain_ones(tmp_path: Path) -> None:
    tree = OnnxTree.open(loop_if_model(tmp_path / "m.onnx"), infer=False)
    styled = [line.plain for line in tree_lines(tree, width=40)]  # type: ignore[union-attr]
    assert styled == rows(tree, 40)


def test_hostile_names_stay_escaped_when_folded(tmp_path: Path) -> None:
    tree = OnnxTree.open(loop_if_model(tmp_path / "m.onnx", hostile=True), infer=False)
    unfolded, folded = rows(tree, None), rows(tree, 30)
    text = "\n".join(folded)
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[31m\\u202e" in "".join(unfolded)
    assert_folded(unfolded, folded, 30)


def test_leaf_labels_match_the_items_labels() -> None:
    """The fast labels of plain rows are the node items' labels, hostile names included."""
    names = ["", "a", "x" * 29, "…" * 40, "\x1b[2J", "\u202eevil", "中文" * 20, "tail\n"]
    nodes = [
        helper.make_node("Add", [names[i % 8], names[(i + 3) % 8]], [names[(i + 5) % 8] or "o"])
        for i in range(8)
    ]
    nodes += [
        helper.make_node("Concat", ["a", "", "b", "c", "d", ""], ["o1", "o2"], name="n" * 90),
        helper.make_node("Foo\x07" + "p" * 50, [], ["o3"], domain="com.\x1b" + "d" * 45),
        helper.make_node("If", ["c"], [""], name="bad_if_without_branches"),
        helper.make_node("Relu", ["", ""], []),
    ]
    graph = helper.make_graph(nodes, "g", [], [])
    tree = OnnxTree.from_model(helper.make_model(graph, opset_imports=OPSET))
    for i, node in enumerate(tree.root.children()):
        assert isinstance(node, NodeItem) and not node.has_children
        assert leaf_label(node.proto, i) == node.plain_label(), i
    styled = [line.plain for line in tree_lines(tree)]  # type: ignore[union-attr]
    assert styled == rows(tree, None)


def test_cli_width_folds_and_a_pipe_is_unlimited_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = loop_if_model(tmp_path / "m.onnx")
    monkeypatch.setenv("COLUMNS", "40")  # a terminal's width, which a pipe ignores
    assert run(["tree", str(path)]) == 0
    unfolded = capsys.readouterr().out.splitlines()
    tree = OnnxTree.open(path, infer=False)
    assert unfolded == rows(tree, None)
    assert max(len(line) for line in unfolded) > 80
    assert run(["tree", str(path), "--width", "40"]) == 0
    folded = capsys.readouterr().out.splitlines()
    assert_folded(unfolded, folded, 40)
    assert max(cell_len(line) for line in folded) <= 40
    assert run(["tree", str(path), "--width", "0"]) == 0  # 0: never fold
    assert capsys.readouterr().out.splitlines() == unfolded
    assert run(["tree", str(path), "--width", "40", "--depth", "0", "--limit", "1"]) == 0
    shallow = capsys.readouterr().out.splitlines()
    assert_folded(rows_of(path, depth=0, limit=1), shallow, 40)
    assert any("more node" in line for line in shallow)


def rows_of(path: Path, depth: int, limit: int) -> list[str]:
    tree = OnnxTree.open(path, infer=False)
    return [str(line) for line in tree_lines(tree, depth, limit, plain=True)]


@pytest.mark.slow  # the CLI in a subprocess on a pseudo-terminal
def test_a_terminal_gets_rows_folded_to_its_width(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    path = loop_if_model(tmp_path / "m.onnx")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cfexplore", "tree", str(path)],
        stdout=slave,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
    )
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.decode()).replace("\r\n", "\n")
    assert "\x1b" not in text
    folded = text.splitlines()
    assert_folded(rows(OnnxTree.open(path, infer=False), None), folded, 50)
    assert max(cell_len(line) for line in folded) <= 50
    assert BRANCH in text
