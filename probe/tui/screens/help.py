"""The help screen (`?`): every key, and what the panels show."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, str], ...] = (
    ("r", "re-run the probe"),
    ("e", "edit target, MAIL FROM and recipients (Enter runs)"),
    ("n / p, ↓ / ↑", "next / previous reply in the transcript"),
    ("f", "jump to the first problem (4xx/5xx, timeout, refused…)"),
    ("c", "copy the selected host's transcript"),
    ("s", "save the report as text and JSON"),
    ("/", "knowledge browser: look up any reply code"),
    ("ctrl+p", "command palette (also finds reply codes)"),
    ("tab", "move between panels; the mouse works too"),
    ("?", "this help"),
    ("q", "quit"),
)

ABOUT = (
    "Hosts: every MX by preference, each address with its status "
    "(waiting, connecting, speaking, accepted, transient, permanent, error).\n"
    "Transcript: -> what probe sent, <- what the server replied, coloured by class "
    "(2xx green, 3xx blue, 4xx yellow, 5xx red), with the time each step took.\n"
    "Server text is shown escaped: control characters appear as \\x1b and are "
    "never sent to your terminal."
)


def help_content() -> Content:
    rows = [Content.styled("probe — keys", "bold"), Content("")]
    width = max(len(k) for k, _ in KEYS)
    rows += [Content.assemble((k.ljust(width + 2), "bold $text-primary"), text) for k, text in KEYS]
    rows += [Content(""), Content(ABOUT), Content(""),
             Content.styled("Press Escape, q or ? to close.", "$text-muted")]
    return Content("\n").join(rows)


class HelpScreen(ModalScreen[None]):
    """Keys and a legend; any of Escape, q, ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_content(), markup=False, id="help-text")
