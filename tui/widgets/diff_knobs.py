"""The knob bar: one edit widget per knob of the loaded target, and the values they hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Switch

from cfexplore.fmt import fmt_value
from cfexplore.spec import Knob

from .text_input import TextInput


class KnobBar(Horizontal):
    """A switch for a bool knob, an integer box for an int, a list to pick from otherwise
    (Optional[bool], a tensor-data drive). Widgets have ids by position (`knob-0`, ...):
    knob names hold dots and `@` (block.use_skip, data@m.py:3)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._cfx_key = ""
        """The knobs asked for last (names and target label)."""
        self._cfx_built = ""
        """The key of the widgets on screen (differs from _cfx_key while rebuilding)."""

    async def show_knobs(self, knobs: Sequence[Knob], label: str) -> None:
        """Rebuild the widgets for `knobs` of the target `label` (old ones removed first);
        nothing to do when they are the ones shown."""
        key = ",".join(k.name for k in knobs) + label
        if key == self._cfx_key:
            return
        self._cfx_key = key
        await self.remove_children()  # ids are reused (knob-0, ...): old ones must be gone
        widgets: list[Widget] = []
        for i, k in enumerate(knobs):
            widgets.append(Label(k.name, classes="knob-label"))
            if isinstance(k.default, bool) and set(k.values) <= {False, True}:
                widgets.append(Switch(value=k.default, id=f"knob-{i}", classes="knob"))
            elif isinstance(k.default, int) and not isinstance(k.default, bool):
                widgets.append(
                    TextInput(
                        str(k.default), id=f"knob-{i}", type="integer", classes="knob knob-int"
                    )
                )
            else:  # Optional[bool] (None/False/True), a tensor-data drive: pick a value
                options = [(fmt_value(v), str(j)) for j, v in enumerate(k.values)]
                start = str(k.values.index(k.default)) if k.default in k.values else "0"
                widgets.append(
                    Select(
                        options,
                        value=start,
                        allow_blank=False,
                        id=f"knob-{i}",
                        classes="knob knob-select",
                    )
                )
        if not widgets:
            widgets.append(Label("no knobs", classes="knob-label"))
        await self.mount_all(widgets)
        self._cfx_built = key

    def values(self, knobs: Sequence[Knob]) -> dict[str, Any]:
        """knob name -> the value its widget holds; empty while the widgets on screen are
        a previous target's (the export values apply)."""
        out: dict[str, Any] = {}
        if self._cfx_built != self._cfx_key:
            return out
        for i, k in enumerate(knobs):
            widgets = self.query(f"#knob-{i}")
            if not widgets:
                continue
            w = widgets.first()
            if isinstance(w, Switch):
                out[k.name] = w.value
            elif isinstance(w, Select):
                index = int(w.value) if isinstance(w.value, str) and w.value.isdigit() else 0
                out[k.name] = k.values[index] if index < len(k.values) else k.default
            elif isinstance(w, Input):
                try:
                    out[k.name] = int(w.value)
                except ValueError:
                    out[k.name] = k.default
        return out
