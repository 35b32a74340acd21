"""What the app skips to keep a screen's first visit short, and that skipping loses nothing:
the footer rebuilds only when its keys change, and a theme change still restyles screens
built before it (the whole-stylesheet re-parse runs only when the CSS variables change)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from cfexplore.tui.app import CfxApp
from cfexplore.tui.widgets.footer import CfxFooter

SIZE = (100, 30)


class _KeysScreen(Screen[None]):
    BINDINGS = [Binding("a", "one", "One"), Binding("b", "two", "Two")]

    def __init__(self) -> None:
        super().__init__()
        self.cfx_two: bool | None = True  # True shown, None disabled, False hidden

    def compose(self) -> ComposeResult:
        yield CfxFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.cfx_two if action == "two" else True

    def action_one(self) -> None: ...

    def action_two(self) -> None: ...


class _KeysApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(_KeysScreen())


def _keys(app: App[None]) -> list[FooterKey]:
    footer = app.screen.query_one(CfxFooter)
    return [k for k in footer.children if isinstance(k, FooterKey)]


async def test_footer_rebuilds_only_when_its_keys_change() -> None:
    app = _KeysApp()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, _KeysScreen)
        first = _keys(app)
        assert [k.description for k in first if k.action == "two"] == ["Two"]
        for _ in range(3):  # the same keys: nothing rebuilt
            screen.refresh_bindings()
            await pilot.pause()
        assert _keys(app) == first
        screen.cfx_two = None  # disabled: rebuilt, the key dimmed
        screen.refresh_bindings()
        await pilot.pause(0.1)
        two = [k for k in _keys(app) if k.action == "two"]
        assert two and two[0] not in first and two[0].has_class("-disabled")
        screen.cfx_two = False  # hidden: rebuilt without it
        screen.refresh_bindings()
        await pilot.pause(0.1)
        assert [k.action for k in _keys(app) if k.action == "two"] == []
        keys = _keys(app)
        assert all(not k.has_class("-compact") for k in keys if k.action != "command_palette")


async def test_footer_forgets_removed_keys() -> None:
    """Every rebuild of the footer drops the removed keys' watchers (textual#6666 left one
    per removed key: long sessions slowed down)."""
    app = _KeysApp()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, _KeysScreen)
        for i in range(30):
            screen.cfx_two = not i % 2
            screen.refresh_bindings()
            await pilot.pause()
        footer = screen.query_one(CfxFooter)
        watched = getattr(footer, "__watchers", {}).get("compact", [])
        assert len(watched) <= len(footer.children) + 2, (len(watched), len(footer.children))


async def test_theme_change_restyles_screens_built_before_it() -> None:
    app = CfxApp()
    async with app.run_test(size=SIZE) as pilot:
        for key in "23":
            await pilot.press(key)
            await pilot.pause(0.3)
        await pilot.press("2")
        await pilot.pause(0.2)
        export = app.screen
        dark = export.styles.background
        app.theme = "textual-light"
        await pilot.pause(0.2)
        assert export.styles.background != dark  # the screen on show, at once
        await pilot.press("3")  # built under the old theme, off-screen meanwhile
        await pilot.pause(0.3)
        assert app.current_mode == "graph"
        assert app.screen.styles.background == export.styles.background
        await pilot.press("4")  # built after the change
        await pilot.pause(0.5)
        assert app.current_mode == "diff"
        assert app.screen.styles.background == export.styles.background
