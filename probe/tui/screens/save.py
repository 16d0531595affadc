"""Save the report (`s`): one base path, written as .txt and .json.

The text comes from the plain renderer and the JSON from the JSON writer, so
a saved file is exactly what `probe --plain` / `--json` would print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from probe.core.transcript import Report
from probe.present.words import say


def write_report(report: Report, base: Path, lang: str = "en") -> tuple[Path, Path]:
    """Write `<base>.txt` and `<base>.json`; return both paths."""
    from probe.present.json_report import to_json
    from probe.present.text_report import Style, render_report

    text_path = base.with_name(base.name + ".txt")
    json_path = base.with_name(base.name + ".json")
    text_path.write_text(render_report(report, Style(lang=lang)), encoding="utf-8")
    json_path.write_text(json.dumps(to_json(report, lang), indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    return text_path, json_path


class SaveScreen(ModalScreen[Path | None]):
    """Asks for a base path; dismisses with it (or None on Escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, default: str, lang: str = "en") -> None:
        super().__init__()
        self.default = default
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            yield Label(say(self.lang, "save_prompt"), markup=False)
            yield Input(self.default, id="save-path")
            yield Label(say(self.lang, "save_hint"), markup=False, classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
