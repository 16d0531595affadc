"""The editable target bar: target, MAIL FROM, RCPT list.

Submitting (Enter in any field) validates through `build_plan`; a bad value
is shown under the bar and no probe starts. The error text quotes user input
(escaped by `plan._show`), so it is shown with `markup=False`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label

from probe.core.plan import Plan

from ..content import safe
from ..plan_edit import InputError, editable_rcpts, replan


class TargetBar(Vertical):
    """Shows the current plan; posts `TargetBar.Submitted` with a new valid one."""

    class Submitted(Message):
        """The user asked for a probe of this (validated) plan."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, plan: Plan, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Horizontal(id="fields"):
            yield Label("Target", classes="field-label", markup=False)
            yield Input(self.plan.target, id="target",
                        placeholder="example.com or user@example.com")
            yield Label("From", classes="field-label", markup=False)
            yield Input(self.plan.mail_from, id="mail-from", placeholder="<>")
            yield Label("RCPT", classes="field-label", markup=False)
            yield Input(" ".join(editable_rcpts(self.plan)), id="rcpts",
                        placeholder="postmaster@domain")
        yield Label("", id="target-error", markup=False)

    def show_error(self, message: str) -> None:
        label = self.query_one("#target-error", Label)
        label.update(message)
        label.set_class(bool(message), "visible")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            plan = replan(
                self.plan,
                self.query_one("#target", Input).value,
                self.query_one("#mail-from", Input).value,
                self.query_one("#rcpts", Input).value,
            )
        except InputError as exc:
            self.show_error(f"✖ {safe(str(exc))} — nothing was sent")
            return
        self.show_error("")
        self.plan = plan
        self.post_message(self.Submitted(plan))

    def focus_target(self) -> None:
        self.query_one("#target", Input).focus()
