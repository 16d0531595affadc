"""The target bar: target, MAIL FROM, RCPT list — read-only until `e`.

The fields cannot take focus (Tab and clicks pass them by) until the user
presses `e`: a probe sends mail commands to someone's server, so it must
never start because a key landed in the wrong place. Enter validates
through `build_plan` and keeps the new plan (posting `Kept`); a bad value is
shown under the bar and nothing is kept. Only `r` then probes. Escape
restores what the fields said before. The error text quotes user input
(escaped by `plan._show`), so it is shown with `markup=False`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label

from probe.core.plan import Plan, default_rcpt
from probe.present.words import say

from ..content import safe
from ..plan_edit import InputError, editable_rcpts, replan

FIELDS = ("#target", "#mail-from", "#rcpts")


class TargetBar(Vertical):
    """Shows the current plan; after `e` and Enter posts `TargetBar.Kept` with a new one."""

    class Kept(Message):
        """The user edited the fields into this valid plan (it runs on `r`)."""

        def __init__(self, plan: Plan) -> None:
            super().__init__()
            self.plan = plan

    def __init__(self, plan: Plan, lang: str = "en", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.plan = plan
        self.lang = lang
        self.editing = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="fields"):
            yield Label(say(self.lang, "field_target"), classes="field-label", markup=False)
            yield Input(self.plan.target, id="target",
                        placeholder=say(self.lang, "target_placeholder"))
            yield Label(say(self.lang, "field_from"), classes="field-label", markup=False)
            yield Input(self.plan.mail_from, id="mail-from", placeholder="<>")
            yield Label(say(self.lang, "field_rcpt"), classes="field-label", markup=False)
            yield Input(" ".join(editable_rcpts(self.plan)), id="rcpts")
        yield Label("", id="target-error", markup=False)

    def on_mount(self) -> None:
        self._show_plan(self.plan)
        self._set_editable(False)

    def _inputs(self) -> list[Input]:
        return [self.query_one(selector, Input) for selector in FIELDS]

    def _set_editable(self, editable: bool) -> None:
        self.editing = editable
        for field in self._inputs():
            field.can_focus = editable
        self.set_class(editable, "editing")

    def _show_plan(self, plan: Plan) -> None:
        target, mail_from, rcpts = self._inputs()
        target.value = plan.target
        mail_from.value = plan.mail_from
        rcpts.value = " ".join(editable_rcpts(plan))
        default = default_rcpt(plan.domain, plan.mx_override)
        rcpts.placeholder = say(self.lang, "rcpt_placeholder", rcpt=safe(default))
        for field in (target, mail_from, rcpts):
            field.cursor_position = 0  # read from the start, not scrolled to the end

    def show_message(self, message: str, error: bool = False) -> None:
        label = self.query_one("#target-error", Label)
        label.update(message)
        label.set_class(bool(message), "visible")
        label.set_class(error, "error")

    def begin_edit(self) -> None:
        self._set_editable(True)
        self.show_message(say(self.lang, "edit_hint"))
        self.query_one("#target", Input).focus()

    def cancel_edit(self) -> None:
        """Escape: the fields say again what the kept plan says."""
        self._show_plan(self.plan)
        self._set_editable(False)
        self.show_message("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.editing:
            return
        target, mail_from, rcpts = self._inputs()
        try:
            plan = replan(self.plan, target.value, mail_from.value, rcpts.value)
        except InputError as exc:
            self.show_message(say(self.lang, "edit_error", error=safe(str(exc))), error=True)
            return
        self.plan = plan
        self._show_plan(plan)
        self._set_editable(False)
        self.show_message(say(self.lang, "edit_kept", target=safe(plan.target)))
        self.post_message(self.Kept(plan))
