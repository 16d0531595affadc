"""The transcript of one host: one selectable entry per step.

Built on OptionList because it renders lazily (only visible lines) and
extends its line cache incrementally, so appending step 2,000 costs the same
as appending step 2 (see bench/tui_bench.py). Entries are `Content` built in
`probe.tui.content` and `markup=False`, so a str could never be parsed either.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from probe.core.events import Step, StepStarted
from probe.core.transcript import HostReport

from ..content import pending_content, step_content

# The component classes OptionList.render_line styles an entry with.
_ROW_STATES: tuple[tuple[str, ...], ...] = (
    (), ("option-list--option-disabled",), ("option-list--option-highlighted",),
    ("option-list--option-hover",),
)


class TranscriptView(OptionList):
    """Steps of the selected host, plus a live row for the step in flight."""

    def __init__(self, lang: str = "en", **kwargs: object) -> None:
        super().__init__(markup=False, **kwargs)  # type: ignore[arg-type]
        self.lang = lang
        self.steps: list[Step] = []
        self.pending: StepStarted | None = None

    def show_host(self, host: HostReport | None) -> None:
        """Replace the whole list: only when the user picks another host."""
        self.steps = list(host.steps) if host else []
        self.pending = host.active if host else None
        options = [Option(step_content(step, self.lang)) for step in self.steps]
        if self.pending is not None:
            options.append(Option(pending_content(self.pending, 0.0, 0, self.lang), disabled=True))
        self.set_options(options)
        if self.steps:
            self.highlighted = len(self.steps) - 1

    def on_resize(self, _event: events.Resize) -> None:
        """Keep the selected step in view when the pane changes height (the
        explanation below it grows and shrinks with what it explains)."""
        if self.highlighted is not None:
            self.call_after_refresh(self.reveal_highlight)

    def reveal_highlight(self) -> None:
        """Show the selected step with as much of what followed it as fits.

        Scrolling only as far as needed would leave the view wherever the live
        row had pulled it, so the same selection could look different depending
        on how the events were batched; starting from the end gives one view."""
        if self.highlighted is None or not self.is_mounted:
            return
        self._update_lines()
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.scroll_to_highlight()

    def _following(self) -> bool:
        """True when the newest step is selected, so new steps should take over."""
        return self.highlighted is None or self.highlighted >= len(self.steps) - 1

    def _replace_last(self, prompt: Content, *, disabled: bool) -> None:
        """Swap the prompt of the last entry (the live row) in place.

        OptionList's own replace/remove clear every cache and re-measure all
        entries; with 2,000 steps and a spinner that is O(n) per frame. The
        live row is always last, so dropping only its cached lines is enough.
        """
        index = self.option_count - 1
        option = self.get_option_at_index(index)
        option._set_prompt(prompt)
        option.disabled = disabled
        cache = self._line_cache
        if cache.lines and cache.lines[-1][0] == index:
            del cache.lines[cache.index_to_line.pop(index):]
            cache.heights.pop(index, None)
        # Rendered strips are cached per (option, style, padding): drop only this
        # option's entries, so the other visible entries are not re-rendered.
        padding = self.get_component_styles("option-list--option").padding
        for component in _ROW_STATES:
            style = self.get_visual_style("option-list--option", *component)
            self._option_render_cache.discard((option, style, padding))
        self._update_lines()
        self.refresh()

    def sync(self, host: HostReport, elapsed_s: float = 0.0, frame: int = 0) -> None:
        """Catch up with the report: append the steps not shown yet, fix the live row.

        Called once per batch of events, so a burst of N steps costs one
        add_options and one highlight move instead of N of each.
        """
        new = host.steps[len(self.steps):]
        if new:
            follow = self._following()
            self.steps.extend(new)
            if self.pending is not None:
                self.pending = None
                self._replace_last(step_content(new[0], self.lang), disabled=False)
                new = new[1:]
            if new:
                self.add_options([Option(step_content(step, self.lang)) for step in new])
            if follow:
                self.highlighted = len(self.steps) - 1
        if host.active is not None and host.active is not self.pending:
            self.start_step(host.active, elapsed_s, frame)
        elif host.active is None and self.pending is not None:
            self.end_host()

    def start_step(self, started: StepStarted, elapsed_s: float = 0.0, frame: int = 0) -> None:
        """Show the step that is waiting for its reply."""
        prompt = pending_content(started, elapsed_s, frame, self.lang)
        if self.pending is not None:
            self._replace_last(prompt, disabled=True)
        else:
            self.add_option(Option(prompt, disabled=True))
            if self._following():  # the step in flight is what a follower wants to see
                self.call_after_refresh(self._follow_live_row)
        self.pending = started

    def _follow_live_row(self) -> None:
        """Scroll to the live row, unless it is gone or the selection moved on since
        (the run ended and its first problem was selected before this ran)."""
        if self.pending is not None and self._following():
            self.scroll_end(animate=False)

    def end_host(self) -> None:
        """The session is over: no live row any more."""
        if self.pending is not None:
            self.pending = None
            self.remove_option_at_index(self.option_count - 1)

    def tick(self, elapsed_s: float, frame: int) -> None:
        """Redraw only the live row (spinner and timer)."""
        if self.pending is not None:
            self._replace_last(pending_content(self.pending, elapsed_s, frame, self.lang),
                               disabled=True)

    @property
    def selected_step(self) -> Step | None:
        """The step under the cursor, if any."""
        index = self.highlighted
        if index is None or index >= len(self.steps):
            return None
        return self.steps[index]

    def plain_text(self) -> str:
        """The transcript as display-safe plain text (what `copy` puts on the clipboard)."""
        return "\n".join(step_content(step, self.lang).plain for step in self.steps)
