"""Scrollable text panels (explanation, findings) that only accept Content.

`Panel.show` takes a `Content`, never a str, and the inner Static has
`markup=False`: the panels print server and DNS text, so there must be no
path by which that text is parsed as markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static


class Panel(VerticalScroll):
    """A bordered, scrollable block of styled text."""

    def __init__(self, title: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = Content(title)
        self._body = Static("", markup=False, classes="panel-body")

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, content: Content) -> None:
        """Replace the text (a Content object: styles ours, text escaped)."""
        if not isinstance(content, Content):  # guard the one rule at runtime too
            raise TypeError("Panel.show takes Content, not a str")
        self._body.update(content)
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        """The plain text shown (for tests and copy)."""
        content = self._body.content
        return content.plain if isinstance(content, Content) else str(content)
