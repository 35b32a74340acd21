"""Turn long exporter exceptions into one readable line, keeping the full text apart."""

from __future__ import annotations

import re
import traceback

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CLASS_LINE = re.compile(r"^<class '(?:[\w.]*\.)?(\w+)'>: (.*)$")
FILE_LINE = re.compile(r'File "([^"]+)", line (\d+)')
MAX_SHORT = 160
"""One line of error, as the app's notifications and the CLI's stderr show it."""
BORING = ("Traceback", "The above exception", "During handling", "For more information")


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes that torch puts in some messages."""
    return ANSI.sub("", text)


def full_text(exc: BaseException) -> str:
    """The whole traceback chain as plain text, for a details view."""
    return strip_ansi("".join(traceback.format_exception(exc))).rstrip()


def _first_line(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(BORING):
            return line.rstrip(" :")
    return ""


def short_error(exc: BaseException) -> str:
    """`Type: first meaningful line (at file.py:N)`, at most MAX_SHORT characters.

    torch.export wraps the real cause under an "Exception summary" heading; TorchScript
    puts the source location under the message. Both are pulled out, the rest is dropped.
    """
    from cfexplore.termtext import safe_text  # an error may quote a hostile model's names

    text = safe_text(strip_ansi(str(exc)), multiline=True)
    etype = type(exc).__name__
    line = ""
    lines = text.splitlines()
    if "## Exception summary" in text:
        idx = next(i for i, ln in enumerate(lines) if ln.startswith("## Exception summary"))
        for ln in lines[idx + 1 :]:
            m = CLASS_LINE.match(ln.strip())
            if m:
                etype, line = m.group(1), m.group(2)
                break
    if not line:
        root = exc
        while root.__cause__ is not None and not _first_line(strip_ansi(str(root))):
            root = root.__cause__
        if root is not exc:
            etype = type(root).__name__
        line = _first_line(safe_text(strip_ansi(str(root)), multiline=True)) or "(no message)"
    where = ""
    for m in FILE_LINE.finditer(text):
        if "site-packages" not in m.group(1) and not m.group(1).startswith("<"):
            where = f" (at {m.group(1).rsplit('/', 1)[-1]}:{m.group(2)})"
            break
    out = f"{etype}: {line}"
    room = MAX_SHORT - len(where)
    if len(out) > room:
        out = out[: room - 1].rstrip() + "…"
    return out + where
