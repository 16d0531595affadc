"""The probe TUI: a live view over the core's event stream.

The app owns no protocol logic. One exclusive worker iterates the injected
runner (`run_probe` in production, a scripted stream in tests) and posts
each event as a message; the handler folds it into a `Report` and updates
only the widgets that event touches (the transcript appends one entry, it is
never rebuilt per event).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Tree

from knowledge import known_codes
from knowledge import labels as knowledge_labels
from probe.core.events import (
    CheckDone,
    Event,
    Finding,
    FindingRaised,
    HostDone,
    HostKey,
    ProbeDone,
    StepStarted,
    TlsEstablished,
)
from probe.core.exit_status import ExitStatus
from probe.core.plan import Plan
from probe.core.transcript import Report

from .content import explanation_content, findings_content, host_name, safe
from .messages import ProbeEvent, ProbeFailed
from .screens.help import HelpScreen
from .screens.knowledge import KnowledgeScreen
from .screens.save import SaveScreen, write_report
from .widgets.host_tree import HostTree
from .widgets.panels import Panel
from .widgets.target_bar import TargetBar
from .widgets.transcript import TranscriptView

Runner = Callable[[Plan], AsyncIterator[Event]]


class CodeCommands(Provider):
    """Command palette entries `explain 550`, `explain 5.7.1`, …: open the browser."""

    async def startup(self) -> None:
        self.codes = known_codes()

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app = self.app
        assert isinstance(app, ProbeApp)
        for code in self.codes:
            label = f"explain {code}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(app.action_browse, code),
                          help="Look up this reply code in the knowledge base")


class ProbeApp(App[int]):
    """Target bar, host tree, transcript, explanation, findings, footer."""

    CSS_PATH = "app.tcss"
    TITLE = "probe"
    COMMANDS = App.COMMANDS | {CodeCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rerun", "Re-run"),
        Binding("e", "edit", "Edit"),
        Binding("n", "next_reply", "Next"),
        Binding("p", "previous_reply", "Prev", show=False),
        Binding("f", "first_problem", "Problem"),
        Binding("c", "copy_transcript", "Copy"),
        Binding("s", "save", "Save"),
        Binding("slash", "browse", "Codes"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave_input", show=False),
    ]

    def __init__(
        self,
        plan: Plan,
        *,
        runner: Runner,
        lang: str = "en",
        clock: Callable[[], float] = time.monotonic,
        animate: bool = True,
        save_dir: Path | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        """`clock` and `animate=False` freeze the spinner/timer for snapshots;
        `labels` pins the field labels (snapshots must not change when the
        knowledge team rewords one)."""
        super().__init__()
        self.plan = plan
        self.runner = runner
        self.lang = lang
        self.clock = clock
        self.live_timers = animate
        self.save_dir = save_dir or Path.cwd()
        self.labels = labels if labels is not None else knowledge_labels(lang)
        self.report = Report()
        self.run_id = 0
        self.selected: HostKey | None = None
        self.last_exit_code: int | None = None
        self.failure: str | None = None
        self._since: dict[HostKey, float] = {}
        self._frame = 0
        self._refresh_scheduled = False
        self._findings_dirty = False

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        # Kept as attributes, not queried: on quit the widgets are removed while
        # probe events and highlight messages may still be queued, and a query
        # would then raise NoMatches (seen in bench runs).
        self.target_bar = TargetBar(self.plan, id="target-bar")
        self.host_tree = HostTree(id="hosts")
        self.transcript = TranscriptView(id="transcript")
        self.findings_panel = Panel("Findings", id="findings")
        self.explain_panel = Panel("Explanation", id="explain")
        yield self.target_bar
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.host_tree
                yield self.findings_panel
            with Vertical(id="right"):
                yield self.transcript
                yield self.explain_panel
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.host_tree.border_title = Content("Hosts")
        self.transcript.border_title = Content("Transcript")
        if self.live_timers:
            self.set_interval(0.1, self._tick)
        self.transcript.focus()
        self.start_probe(self.plan)

    # ------------------------------------------------------------------ probe
    def start_probe(self, plan: Plan) -> None:
        """Forget the last run's picture and start a new one (cancels a running probe)."""
        self.plan = plan
        self.run_id += 1
        self.report = Report()
        self.selected = None
        self.failure = None
        self._since.clear()
        transcript = self.transcript
        transcript.border_title = Content("Transcript")
        transcript.show_host(None)
        self.host_tree.update_from(self.report, plan.port)
        self._show_findings()
        self._show_explanation()
        self._probe(plan, self.run_id)

    @work(exclusive=True, group="probe", exit_on_error=False)
    async def _probe(self, plan: Plan, run: int) -> None:
        """Iterate the runner; every event becomes a message, in order."""
        stream = self.runner(plan)
        try:
            async for event in stream:
                self.post_message(ProbeEvent(run, event))
        except Exception as exc:  # a core bug must not take the UI down with it
            self.post_message(ProbeFailed(run, f"{type(exc).__name__}: {exc}"))
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    def on_probe_failed(self, message: ProbeFailed) -> None:
        if message.run == self.run_id:
            self.failure = message.error
            self._show_findings()

    def on_probe_event(self, message: ProbeEvent) -> None:
        if message.run != self.run_id:
            return  # from a run the user replaced
        event = message.event
        self.report.feed(event)
        match event:
            case StepStarted(key=key):
                self._since[key] = self.clock()
            case HostDone(key=key):
                self._since.pop(key, None)
            case TlsEstablished() | FindingRaised() | CheckDone():
                self._findings_dirty = True
            case ProbeDone(exit_code=code):
                self.last_exit_code = code
        if not self._refresh_scheduled:
            # Queued behind any events already waiting: a burst is drawn once.
            self._refresh_scheduled = True
            self.call_later(self._refresh_views)

    def _refresh_views(self) -> None:
        """Bring tree, transcript and findings up to date with the report."""
        self._refresh_scheduled = False
        tree = self.host_tree
        tree.update_from(self.report, self.plan.port)
        if self.selected is None and (first := tree.first_key()) is not None:
            self.select_host(first)  # redraws everything for that host
            return
        if self.selected is not None and self.selected in self.report.hosts:
            key = self.selected
            elapsed = self.clock() - self._since[key] if key in self._since else 0.0
            self.transcript.sync(self.report.hosts[key], elapsed, self._frame)
        if self._findings_dirty:
            self._show_findings()
        if self.report.done is not None and self.selected is None:
            self._show_explanation()

    def _tick(self) -> None:
        """Advance the spinner and timer of the selected host's step in flight."""
        self._frame += 1
        key = self.selected
        if key is not None and key in self._since:
            self.transcript.tick(self.clock() - self._since[key], self._frame)

    # -------------------------------------------------------------- selection
    def select_host(self, key: HostKey) -> None:
        """Show this session's transcript, findings and TLS details."""
        self.selected = key
        transcript = self.transcript
        transcript.border_title = Content.assemble("Transcript · ", host_name(key))
        transcript.show_host(self.report.hosts.get(key))
        if transcript.pending is not None and key in self._since:
            transcript.tick(self.clock() - self._since[key], self._frame)
        self.host_tree.select_key(key)
        self._show_explanation()
        self._show_findings()

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        # Only the user's own moves (the tree has focus) switch hosts: the tree
        # also moves its cursor when it is rebuilt under a live probe.
        key = event.node.data
        if isinstance(key, HostKey) and key != self.selected and event.control.has_focus:
            self.select_host(key)

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        key = event.node.data
        if isinstance(key, HostKey) and key != self.selected:
            self.select_host(key)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.control is self.transcript:
            self._show_explanation()

    def _show_explanation(self) -> None:
        step = self.transcript.selected_step
        panel = self.explain_panel
        if step is None and self.report.done is not None and not self.report.hosts:
            panel.show(Content.styled("No mail host was probed: see Findings for why.",
                                      "$text-warning"))
            return
        panel.show(explanation_content(step, self.labels, self.lang))

    def _show_findings(self) -> None:
        self._findings_dirty = False
        pairs: list[tuple[Finding, HostKey | None]] = [(f, None) for f in self.report.findings]
        tls = None
        for host in self.report.ordered_hosts():
            pairs += [(f, host.key) for f in host.findings]
            if host.key == self.selected:
                tls = host.tls
        self.findings_panel.show(findings_content(pairs, tls, self.failure, self.lang,
                                                  self.report.all_checks()))

    # ---------------------------------------------------------------- actions
    def action_rerun(self) -> None:
        """Probe the same plan again (the running probe, if any, is cancelled)."""
        self.start_probe(self.plan)

    def action_edit(self) -> None:
        self.target_bar.focus_target()

    def action_leave_input(self) -> None:
        self.transcript.focus()

    def on_target_bar_submitted(self, message: TargetBar.Submitted) -> None:
        self.transcript.focus()
        self.start_probe(message.plan)

    def action_next_reply(self) -> None:
        self.transcript.action_next_reply()

    def action_previous_reply(self) -> None:
        self.transcript.action_previous_reply()

    def action_first_problem(self) -> None:
        """Select the first host (in preference order) with a problem, and that step."""
        for host in self.report.ordered_hosts():
            index = next(iter(host.problems()), None)
            if index is not None:
                if host.key != self.selected:
                    self.select_host(host.key)
                transcript = self.transcript
                transcript.highlighted = index
                transcript.focus()
                return
        self.notify("No problem found so far.", markup=False)

    def transcript_text(self) -> str:
        """What `c` copies: the selected host's transcript, escaped as on screen."""
        if self.selected is None:
            return ""
        body = self.transcript.plain_text()
        return f"# {host_name(self.selected)}\n{body}\n"

    def action_copy_transcript(self) -> None:
        text = self.transcript_text()
        if not text:
            self.notify("Nothing to copy yet.", markup=False)
            return
        self.copy_to_clipboard(text)  # OSC 52 carries it base64-encoded
        self.notify(f"Copied {text.count(chr(10))} lines to the clipboard.", markup=False)

    def default_save_base(self) -> str:
        name = self.plan.domain or self.plan.target or "probe"
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return str(self.save_dir / f"probe-{safe(name)}-{stamp}")

    def action_save(self) -> None:
        self.push_screen(SaveScreen(self.default_save_base()), self._save_to)

    def _save_to(self, base: Path | None) -> None:
        if base is None:
            return
        try:
            text_path, json_path = write_report(self.report, base, self.lang)
        except (OSError, ImportError) as exc:
            self.notify(f"Could not save: {safe(str(exc))}", severity="error", markup=False)
            return
        self.notify(f"Saved {safe(str(text_path))} and {safe(json_path.name)}", markup=False)

    def action_browse(self, query: str = "") -> None:
        self.push_screen(KnowledgeScreen(self.labels, self.lang, query))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit with the last finished probe's exit code (130 if none finished)."""
        self.exit(self.last_exit_code if self.last_exit_code is not None
                  else ExitStatus.INTERRUPTED)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Re-run probe", "Probe the same target again", self.action_rerun)
        yield SystemCommand("First problem", "Jump to the first 4xx/5xx or failure",
                            self.action_first_problem)
        yield SystemCommand("Copy transcript", "Copy the selected host's transcript",
                            self.action_copy_transcript)
        yield SystemCommand("Save report", "Write the report as text and JSON", self.action_save)
        yield SystemCommand("Knowledge browser", "Look up any reply code", self.action_browse)
