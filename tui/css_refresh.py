"""Skip Textual's whole-stylesheet re-parse when a newly built screen has nothing new.

Textual's `App.switch_mode` calls `refresh_css` for every mode screen it builds (twice: from
`_init_mode` and again for the new current screen). `refresh_css` re-parses every CSS source
and re-applies the rules to the screen on show: 40-100 ms of a blocked UI per first visit
(the 4th screen's took 150 ms), although nothing it recomputes changed — the screens' CSS is
all in the app's `CSS_PATH`, parsed once at start, and a new screen's widgets are styled
from the rules in force as they mount.

The override keeps Textual's refresh for what needs it, a change of the CSS variables (a
theme change). A screen shown later restyles itself: Textual's `ScreenResume` re-applies
the stylesheet to the whole screen on every switch. Only public API is used.
"""

from __future__ import annotations

from textual.app import App


class CssRefreshMixin(App[None]):
    """`refresh_css` that re-parses only when the CSS variables changed."""

    def __init__(self) -> None:
        super().__init__()
        self._cfx_css_variables: dict[str, str] | None = None

    def refresh_css(self, animate: bool = True) -> None:
        variables = self.get_css_variables()
        if variables == self._cfx_css_variables:
            return
        self._cfx_css_variables = variables
        super().refresh_css(animate)
