"""What the Open box accepts: a target followed by the CLI's target options.

`transformers:BertModel --init config={"vocab_size":100} --input input_ids=1x8:int64:0..100`
or `model.py:Net --values n=1,3`. Words split as a shell would (shlex), except that a
bracketed value such as `config={"a": 1, "b": 2}` is kept verbatim, quotes and spaces
included, so a config can be typed without shell quoting. A bad option is a CfxError (one
line), never argparse's SystemExit.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from cfexplore.errors import CfxError

REPEATABLE = ("--init", "--input", "--values", "--dim")
"""Options that may be given more than once (their values accumulate, as on the CLI)."""
SINGLE = ("--weights",)
"""Options given at most once."""
OPTIONS = REPEATABLE + SINGLE

_CLOSE = {"(": ")", "[": "]", "{": "}"}


@dataclass
class OpenArgs:
    """The Open box's text, split into the target and its options (the CLI's names)."""

    target: str
    init: list[str] = field(default_factory=list)
    input: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    weights: str | None = None
    dim: list[str] = field(default_factory=list)
    """`--dim SYMBOL=N`: an .onnx file's symbolic dims."""

    @property
    def has_options(self) -> bool:
        return bool(self.init or self.input or self.values or self.weights or self.dim)

    @property
    def model_options(self) -> bool:
        """Options only a Python model takes (an .onnx file takes --input and --dim)."""
        return bool(self.init or self.values or self.weights)


def _protect_brackets(text: str) -> str:
    """Single-quote every top-level bracketed run (outside shell quotes) for shlex, so its
    quotes, commas and spaces reach the option parser as typed."""
    out: list[str] = []
    i = 0
    quote = ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(text):
                out.append(text[i : i + 2])
                i += 2
                continue
            quote = "" if ch == quote else quote
        elif ch == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        elif ch in "'\"":
            quote = ch
        elif ch in _CLOSE:
            end = _bracket_end(text, i)
            out.append("'" + text[i:end].replace("'", "'\"'\"'") + "'")
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _bracket_end(text: str, start: int) -> int:
    """Index just past the bracket that closes `text[start]` (quotes inside respected)."""
    stack: list[str] = []
    quote = ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _CLOSE:
            stack.append(_CLOSE[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                raise CfxError(f"unbalanced {ch!r} in {text[start : i + 1]!r}")
            if not stack:
                return i + 1
    raise CfxError(f"unclosed {text[start]!r} in {text[start:]!r}")


def parse_open(text: str) -> OpenArgs:
    """Split the Open box's text into the target and its options; CfxError if malformed."""
    try:
        words = shlex.split(_protect_brackets(text.strip()))
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise CfxError(f"cannot split the text: {str(exc).lower()}") from None
    targets: list[str] = []
    found: dict[str, list[str]] = {name: [] for name in OPTIONS}
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--"):
            targets.append(word)
            continue
        name, eq, value = word.partition("=")
        if name not in OPTIONS:
            raise CfxError(f"unknown option {name} (the Open box takes {', '.join(OPTIONS)})")
        if not eq:
            if i >= len(words) or words[i].startswith("--"):
                raise CfxError(f"{name} needs a value")
            value = words[i]
            i += 1
        if name in SINGLE and found[name]:
            raise CfxError(f"{name} given twice")
        found[name].append(value)
    if not targets:
        raise CfxError("no target: type a variant, file.py:Class, pkg.module:fn or .onnx file")
    if len(targets) > 1:
        raise CfxError(f"one target only, got {targets[0]!r} and {targets[1]!r}")
    return OpenArgs(
        target=targets[0],
        init=found["--init"],
        input=found["--input"],
        values=found["--values"],
        weights=found["--weights"][0] if found["--weights"] else None,
        dim=found["--dim"],
    )
