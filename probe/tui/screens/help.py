"""The help screen (`?`): every key, and what the panels show."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from probe.present.words import say

KEYS: tuple[tuple[str, str], ...] = (
    ("r", "help_rerun"),
    ("e", "help_edit"),
    ("n / p", "help_move"),
    ("f / F", "help_problem"),
    ("← ↑ → ↓", "help_arrows"),
    ("t", "help_timing"),
    ("c", "help_copy"),
    ("s", "help_save"),
    ("/", "help_codes"),
    ("ctrl+p", "help_palette"),
    ("tab", "help_tab"),
    ("?", "help_help"),
    ("q", "help_quit"),
)
"""Each key and the word (in `views.toml`) that says what it does."""


def help_content(lang: str = "en") -> Content:
    rows = [Content.styled(say(lang, "help_title"), "bold"), Content("")]
    width = max(len(k) for k, _ in KEYS)
    rows += [Content.assemble((k.ljust(width + 2), "bold $text-primary"), say(lang, word))
             for k, word in KEYS]
    rows += [Content(""), Content(say(lang, "help_about")), Content(""),
             Content.styled(say(lang, "help_close"), "$text-muted")]
    return Content("\n").join(rows)


class HelpScreen(ModalScreen[None]):
    """Keys and a legend; any of Escape, q, ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, lang: str = "en") -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_content(self.lang), markup=False, id="help-text")
