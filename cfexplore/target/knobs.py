"""Find a model's knobs across its whole module tree.

- forward() parameters typed `bool`, `int`, `Optional[bool]` / `bool | None`, or with a
  bool/int default, or given a Python bool/int by the example inputs;
- bool/int attributes of every submodule (instance or class attributes) read by an
  `if`/`while`/`for`/conditional expression in the source of that submodule's class or
  any of its base classes, wherever the source lives; named by their dotted path from the
  root (`block.use_skip`).

Runs in the worker process (imports torch).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from cfexplore.spec import Construct, Knob
from cfexplore.target.source import self_reads, tensor_tests

INT_SWEEP_EXTRA = (0, 1, 2)


def sweep_values(default: Any, optional: bool = False) -> tuple[Any, ...]:
    """Bools: (False, True), Optional[bool]: (None, False, True). Ints: {0, 1, 2, v, v+1}
    sorted (v is the export value); `--values` overrides either."""
    if optional:
        return (None, False, True)
    if isinstance(default, bool):
        return (False, True)
    return tuple(sorted({*INT_SWEEP_EXTRA, int(default), int(default) + 1}))


def annotation_kind(ann: Any) -> str | None:
    """`bool`, `int` or `optbool` (Optional[bool], bool | None) for an annotation."""
    if ann is bool or ann == "bool":
        return "bool"
    if ann is int or ann == "int":
        return "int"
    if isinstance(ann, str):
        text = ann.replace(" ", "").replace("typing.", "")
        if text in {"Optional[bool]", "bool|None", "None|bool", "Union[bool,None]", "bool?"}:
            return "optbool"
        return None
    origin = typing.get_origin(ann)
    if origin is typing.Union or origin is types.UnionType:
        args = set(typing.get_args(ann))
        if args == {bool, type(None)}:
            return "optbool"
    return None


def _hints(fn: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return {}


def forward_knobs(module: Any, sig: inspect.Signature, given: dict[str, Any]) -> list[Knob]:
    """Knobs among forward()'s parameters; `given` are the bound example values."""
    import torch

    hints = {} if isinstance(module, torch.jit.ScriptModule) else _hints(type(module).forward)
    constructs = _forward_constructs(module)
    knobs: list[Knob] = []
    for name, p in sig.parameters.items():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        kind = annotation_kind(hints.get(name, p.annotation))
        has_default = p.default is not inspect.Parameter.empty
        value = given.get(name, p.default if has_default else None)
        if name in given and not isinstance(value, bool | int | type(None)):
            continue  # a tensor (or anything else) was given: not a knob
        if isinstance(value, torch.Tensor):
            continue
        if kind is None and isinstance(value, bool | int) and value is not None:
            kind = "bool" if isinstance(value, bool) else "int"
        if kind is None:
            continue
        if kind == "optbool":
            default = value if isinstance(value, bool) or value is None else None
            knobs.append(
                Knob(
                    name,
                    "forward-arg",
                    sweep_values(None, True),
                    default,
                    constructs.get(name, "If"),
                )
            )
            continue
        if not isinstance(value, bool | int) or (kind == "int" and isinstance(value, bool)):
            value = False if kind == "bool" else 1
        if kind == "bool":
            value = bool(value)
        construct: Construct = constructs.get(name) or ("If" if kind == "bool" else "Loop")
        knobs.append(Knob(name, "forward-arg", sweep_values(value), value, construct))
    for name, value in given.items():  # keywords taken by **kwargs (output_attentions=True)
        if name in sig.parameters or not isinstance(value, bool | int):
            continue
        construct = constructs.get(name) or ("If" if isinstance(value, bool) else "Loop")
        knobs.append(Knob(name, "forward-arg", sweep_values(value), value, construct))
    return knobs


def _forward_constructs(module: Any) -> dict[str, Construct]:
    """Name -> "If"/"Loop" for names read by if-tests or loop headers in the class."""
    from cfexplore.target.source import knob_constructs

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(type(module))))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return {}
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    return knob_constructs(node) if node is not None else {}


@dataclass
class ClassReads:
    """What one class's source reads in control flow: chain -> (construct, line, file)."""

    reads: dict[tuple[str, ...], tuple[str, int, str | None]] = field(default_factory=dict)


def _class_reads(klass: type, cache: dict[type, ClassReads]) -> ClassReads:
    """`self.<chain>` reads in the control flow of `klass`'s own source (cached)."""
    if klass in cache:
        return cache[klass]
    found = ClassReads()
    cache[klass] = found
    try:
        lines, start = inspect.getsourcelines(klass)
        file = inspect.getsourcefile(klass)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return found
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
    if node is None:
        return found
    for chain, (construct, line) in self_reads(node).items():
        found.reads[chain] = (construct, start + line - 1, file)
    return found


def _classes(module: Any) -> list[type]:
    """The module's class and its nn.Module base classes, nn.Module itself excluded."""
    import torch

    return [
        k
        for k in type(module).__mro__
        if isinstance(k, type) and issubclass(k, torch.nn.Module) and k is not torch.nn.Module
    ]


def _where(owner: Any, attr: str) -> str | None:
    """`instance-attr` or `class-attr` for a bool/int attribute of `owner`, else None."""
    import torch

    if attr.startswith("_") or attr in _MODULE_ATTRS:
        return None
    if attr in vars(owner):
        value = vars(owner)[attr]
        return "instance-attr" if isinstance(value, bool | int) else None
    for klass in _classes(owner):
        if attr in vars(klass):
            value = vars(klass)[attr]
            ok = isinstance(value, bool | int) and not isinstance(value, torch.nn.Module)
            return "class-attr" if ok else None
    return None


_MODULE_ATTRS = frozenset({"training", "dump_patches", "call_super_init"})


def attribute_knobs(root: Any, taken: set[str]) -> tuple[list[Knob], int, int]:
    """Attribute knobs over the whole module tree; returns (knobs, modules, classes read)."""
    import torch

    if isinstance(root, torch.jit.ScriptModule):
        return [], 0, 0
    names = {id(m): n for n, m in reversed(list(root.named_modules(remove_duplicate=False)))}
    cache: dict[type, ClassReads] = {}
    knobs: list[Knob] = []
    seen: set[tuple[int, str]] = set()
    modules = 0
    for _path, sub in root.named_modules():
        if isinstance(sub, torch.jit.ScriptModule):
            continue
        modules += 1
        for klass in _classes(sub):
            for chain, (construct, line, file) in _class_reads(klass, cache).reads.items():
                owner = sub
                for step in chain[:-1]:
                    owner = getattr(owner, step, None)
                    if not isinstance(owner, torch.nn.Module):
                        break
                if not isinstance(owner, torch.nn.Module):
                    continue
                attr = chain[-1]
                key = (id(owner), attr)
                if key in seen:
                    continue
                where = _where(owner, attr)
                if where is None:
                    continue
                seen.add(key)
                prefix = names.get(id(owner), "")
                name = f"{prefix}.{attr}" if prefix else attr
                if name in taken:
                    continue
                value = getattr(owner, attr)
                knobs.append(
                    Knob(
                        name,
                        where,  # type: ignore[arg-type]
                        sweep_values(value),
                        value,
                        construct,  # type: ignore[arg-type]
                        line=line,
                        file=file,
                    )
                )
    return knobs, modules, len(cache)


def owner_and_attr(root: Any, name: str) -> tuple[Any, str]:
    """The module holding attribute knob `name` (`block.use_skip` -> (root.block,
    "use_skip"))."""
    path, _, attr = name.rpartition(".")
    return (root.get_submodule(path) if path else root), attr


def is_user_file(file: str | None) -> bool:
    """Source that is the user's own: not an installed package, not the standard library."""
    import sysconfig
    from pathlib import Path

    if not file:
        return False
    path = Path(file).resolve()
    if {"site-packages", "dist-packages"} & set(path.parts) or file.startswith("<"):
        return False
    own = Path(__file__).resolve().parent  # cfexplore itself (an editable install)
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    return not path.is_relative_to(stdlib) and not path.is_relative_to(own)


def data_knob(file: str, line: int, construct: str) -> Knob:
    """The `tensor-data` knob of the if/while at `file:line` (swept by driving inputs)."""
    from pathlib import Path

    from cfexplore.target.drive import AS_IS, DRIVES

    return Knob(
        f"data@{Path(file).name}:{line}",
        "tensor-data",
        DRIVES,
        AS_IS,
        construct,  # type: ignore[arg-type]
        mode="drive",
        line=line,
        file=file,
    )


def data_knobs(root: Any) -> list[Knob]:
    """`tensor-data` knobs: data-dependent if/while statements in the forward-time code
    of user classes anywhere in the module tree, as read in the source (swept by driving
    the inputs; `cfexplore.target.drive.bool_sites` finds the others at run time)."""
    import torch

    if isinstance(root, torch.jit.ScriptModule):
        return []
    knobs: list[Knob] = []
    seen: set[tuple[str, int]] = set()
    done: set[type] = set()
    for _path, sub in root.named_modules():
        for klass in _classes(sub):
            if klass in done:
                continue
            done.add(klass)
            try:
                file = inspect.getsourcefile(klass)
                if not is_user_file(file):
                    continue
                lines, start = inspect.getsourcelines(klass)
                tree = ast.parse(textwrap.dedent("".join(lines)))
            except (OSError, TypeError, SyntaxError, IndentationError):
                continue
            node = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
            if node is None or file is None:
                continue
            for line, construct, _body, _orelse in tensor_tests(node):
                at = start + line - 1
                if (file, at) in seen:
                    continue
                seen.add((file, at))
                knobs.append(data_knob(file, at, construct))
    return knobs
