"""Showing untrusted text (model names, user paths, error messages) in a terminal.

`safe_text` turns any string into something a terminal shows literally: control, bidi and
other invisible characters are written as escapes (`\\x1b`, `\\u202e`), and long strings
are cut with `…`. `shown_path` does the same for a path, cutting its middle. Nothing here
imports onnx: the CLI's error line and the app's messages use it before onnx is loaded.
"""

from __future__ import annotations

import os
import re
import unicodedata

MAX_MESSAGE_CHARS = 160
"""Longest one-line error message."""

_CANDIDATE = re.compile(r"[^\x20-\x7e]")
"""Characters that might need escaping (everything but printable ASCII)."""
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi, zero-width), surrogate, private-use, unassigned, line/para sep."""
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_ESCAPE_AT_END = re.compile(r"\\(?:x[0-9a-f]{0,2}|u[0-9a-f]{0,4}|U[0-9a-f]{0,8}|[ntr]?)$")
_FULL_ESCAPE = re.compile(r"\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[ntr])")


def _escape_char(ch: str, multiline: bool) -> str:
    if multiline and ch in "\n\t":
        return ch
    if ch in _NAMED:
        return _NAMED[ch]
    if unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(s: str | bytes, limit: int | None = None, *, multiline: bool = False) -> str:
    """`s` with every control/bidi/invisible character escaped, cut to `limit` characters.

    ESC shows as `\\x1b`, BEL as `\\x07`, U+202E as `\\u202e`, a newline as `\\n` (kept as a
    line break when `multiline`). Rich markup needs no escaping because callers build
    `rich.text.Text`, never markup. Idempotent: escaping escaped text changes nothing.
    """
    if isinstance(s, bytes):
        s = s.decode("utf-8", errors="backslashreplace")
    s = str(s)  # typed str, but callers hand over ints and protobuf strings too
    if s.isascii() and s.isprintable() and (limit is None or len(s) <= limit):
        return s  # the common case, in C: nothing to escape, nothing to cut
    if multiline:
        s = s.replace("\r\n", "\n")
    raw = s if limit is None else s[: limit + 1]
    out = _CANDIDATE.sub(lambda m: _escape_char(m.group(), multiline), raw)
    if limit is None or (len(out) <= limit and len(s) <= limit):
        return out
    cut = out[: max(limit - 1, 0)]
    partial = _ESCAPE_AT_END.search(cut[-9:])
    if partial is not None:  # never leave half an escape (`\\u20`) before the ellipsis
        start = len(cut) - len(partial.group())
        full = _FULL_ESCAPE.match(out, start)
        if full is not None and full.end() > len(cut):
            cut = cut[:start]
    return cut + "…"


def safe_tail(s: str, limit: int) -> str:
    """Like `safe_text`, but keeps the end of a long string (`…layers.3/If`)."""
    if len(s) <= limit and s.isascii() and s.isprintable():
        return s
    text = safe_text(s)
    if len(text) <= limit:
        return text
    raw = s[-limit:]
    text = safe_text(raw)
    while len(text) > limit - 1 and raw:
        raw = raw[1:]
        text = safe_text(raw)
    return "…" + text


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The first non-blank line of `text`, escaped and cut to `limit` characters."""
    for line in str(text).splitlines():
        if line.strip():
            return safe_text(line.strip(), limit)
    return ""


def format_size(n: int) -> str:
    """`3.1 GiB`, `512 KiB`, `17 bytes`."""
    if n < 1024:
        return f"{n} byte{'s' if n != 1 else ''}"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    raise AssertionError("unreachable")


def shown_path(path: str | os.PathLike[str], room: int = 100) -> str:
    """The path escaped, its middle cut out when longer than `room` (at least 30)."""
    text = safe_text(os.fspath(path))
    room = max(room, 30)
    if len(text) <= room:
        return text
    head = (room - 1) // 3
    return text[:head] + "…" + text[-(room - 1 - head) :]


def with_path(path: str | os.PathLike[str], verb: str, what: str, sep: str = ": ") -> str:
    """`[<verb> ]<path><sep><what>`, the path shortened so the reason fits in one line."""
    lead = f"{verb} " if verb else ""
    room = MAX_MESSAGE_CHARS - len(lead) - len(sep) - len(what)
    return f"{lead}{shown_path(path, min(room, 100))}{sep}{what}"
