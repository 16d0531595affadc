"""The knowledge browser (`/`): look up any code, same data as `probe explain`.

Typing filters the list of known codes; Enter explains whatever was typed
(a code, `5.1.1`, or a whole pasted reply line). Pasted text is the user's,
but it is shown escaped like server text because logs carry escapes too.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from knowledge import explain_text, known_codes
from probe.present.words import say

from ..content import explained_content, safe
from ..widgets.panels import Panel


class KnowledgeScreen(ModalScreen[None]):
    """Code list on the left, explanation on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, labels: dict[str, str], lang: str, query: str = "") -> None:
        super().__init__()
        self.labels = labels
        self.lang = lang
        self.query_text = query
        self.all_codes: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="kb-box"):
            yield Label(say(self.lang, "kb_hint"), markup=False, classes="hint")
            yield Input(self.query_text, id="kb-query", placeholder="550 5.1.1 User unknown")
            with Horizontal(id="kb-main"):
                yield OptionList(id="kb-codes", markup=False)
                yield Panel(say(self.lang, "panel_explanation"), id="kb-explain")

    def on_mount(self) -> None:
        self.all_codes = known_codes()
        self._filter(self.query_text)
        self.query_one(Input).focus()
        if self.query_text:
            self.lookup(self.query_text)

    def _filter(self, text: str) -> None:
        needle = text.strip().split(" ")[0] if text.strip() else ""
        shown = [c for c in self.all_codes if c.startswith(needle)] if needle else self.all_codes
        self.query_one("#kb-codes", OptionList).set_options(
            [Option(Content(code), id=f"code-{code}") for code in shown])

    def lookup(self, text: str) -> None:
        """Explain `text` in the right-hand panel."""
        panel = self.query_one(Panel)
        if not text.strip():
            return
        try:
            found = explain_text(text, self.lang)
        except ValueError as exc:
            panel.show(Content.styled(safe(str(exc)), "$text-error"))
            return
        panel.show(explained_content(found, self.lang))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.lookup(event.value)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id:
            self.lookup(event.option.id.removeprefix("code-"))
