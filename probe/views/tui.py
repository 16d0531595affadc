"""`--tui`: the interactive Textual view; it owns the event loop, so it overrides `run`."""

from __future__ import annotations

from .base import Runner, View, default_runner


class TuiView(View):
    def run(self, runner: Runner = default_runner) -> int:
        from ..tui import run_tui  # lazy: only this format loads Textual

        return run_tui(self.plan, lang=self.plan.lang, runner=runner)


VIEW = TuiView
