"""MX hosts by preference, each with its addresses and a live status.

Labels are Rich `Text` built from `to_display`-ed names (Tree would parse a
str label as markup). Colours come from the current theme's variables so
light/dark themes and NO_COLOR both work.
"""

from __future__ import annotations

from rich.style import Style as RichStyle
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from probe.core.events import HostKey
from probe.core.transcript import Report
from probe.present.matrix import session_keys
from probe.present.words import say

from ..content import safe
from ..status import COLOURS, ICONS, host_status, theme_style

Shape = tuple[str | None, tuple[tuple[str, tuple[HostKey, ...]], ...]]


def _mx_groups(report: Report, port: int) -> list[tuple[str, int | None, list[HostKey]]]:
    """(MX name, preference, session keys) in display order.

    Every address of every MX record gets a row as soon as MX discovery is
    done, so sessions queued behind the concurrency limit show as "waiting"
    (`session_keys` keys them as the runner will).
    """
    groups: dict[str, tuple[int | None, list[HostKey]]] = {}
    for key in session_keys(report, port):
        groups.setdefault(key.host, (key.preference, []))[1].append(key)
    return [(name, pref, keys) for name, (pref, keys) in groups.items()]


class HostTree(Tree[HostKey | None]):
    """The host tree; `data` of an address node is its HostKey."""

    def __init__(self, lang: str = "en", **kwargs: object) -> None:
        super().__init__(Text("…"), **kwargs)  # type: ignore[arg-type]
        self.lang = lang
        self.show_root = True
        self.guide_depth = 2  # narrow guides: addresses must fit in 80 columns
        self._shape: Shape = (None, ())
        self._leaves: dict[HostKey, TreeNode[HostKey | None]] = {}
        self._report: Report | None = None
        self._port = 25

    def on_mount(self) -> None:
        # Label colours are resolved from the theme when a label is built, so a
        # theme switch (command palette, light/dark) must rebuild them.
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, _theme: object) -> None:
        if self._report is not None:
            self._shape = (None, ())
            self.update_from(self._report, self._port)

    def _style(self, status: str) -> RichStyle:
        return theme_style(self.app, COLOURS[status])

    def _root_label(self, report: Report) -> Text:
        started = report.started
        if started is None:
            return Text(say(self.lang, "tree_starting"))
        label = Text(safe(started.domain_unicode or started.target), style="bold")
        if started.domain and started.domain_unicode and started.domain != started.domain_unicode:
            label.append(f" ({safe(started.domain)})")
        if report.mx is None:
            label.append("  " + say(self.lang, "tree_resolving"), style="dim")
        if report.done is not None:
            status = {"ok": "accepted", "transient": "transient",
                      "permanent": "permanent"}[report.done.outcome]
            label.append(f"  {ICONS[status]} " + say(self.lang, "tree_exit",
                                                       code=report.done.exit_code),
                         style=self._style(status))
        return label

    def _leaf_label(self, report: Report, key: HostKey) -> Text:
        host = report.hosts.get(key)
        status = host_status(host) if host is not None else "waiting"
        address = safe(key.address) if key.address is not None else \
            say(self.lang, "no_address")
        if key.port != 25:
            address += f":{key.port}"
        label = Text(f"{address} ")
        label.append(f"{ICONS[status]} {say(self.lang, 'status_' + status)}",
                     style=self._style(status))
        return label

    def update_from(self, report: Report, port: int = 25) -> None:
        """Bring the tree up to date; rebuild only when the set of hosts changed."""
        self._report, self._port = report, port
        groups = _mx_groups(report, port)
        source = report.mx.source if report.mx is not None else None
        shape: Shape = (source, tuple((name, tuple(keys)) for name, _, keys in groups))
        root_label = self._root_label(report)
        if root_label != self.root.label:
            self.root.set_label(root_label)
        if shape != self._shape:
            self._rebuild(report, groups)
            self._shape = shape
            return
        for key, node in self._leaves.items():
            label = self._leaf_label(report, key)
            if label != node.label:  # an unchanged label would still repaint the tree
                node.set_label(label)

    def _rebuild(self, report: Report, groups: list[tuple[str, int | None, list[HostKey]]]) -> None:
        selected = self.cursor_node.data if self.cursor_node is not None else None
        self.root.remove_children()
        self._leaves.clear()
        for name, pref, keys in groups:
            label = Text(f"{pref} " if pref is not None else "", style="dim")
            label.append(safe(name), style="bold")
            mx_node = self.root.add(label, None, expand=True)
            for key in keys:
                self._leaves[key] = mx_node.add_leaf(self._leaf_label(report, key), key)
        if report.mx is not None and not groups:
            why = {"null": "tree_null_mx", "none": "tree_no_mx"}.get(report.mx.source,
                                                                     "tree_no_host")
            self.root.add_leaf(Text(say(self.lang, why), style="dim"), None)
        self.root.expand()
        if selected is not None and selected in self._leaves:
            self.move_cursor(self._leaves[selected])

    def select_key(self, key: HostKey) -> None:
        """Put the cursor on this session's row."""
        node = self._leaves.get(key)
        if node is not None:
            self.move_cursor(node)

    def first_key(self) -> HostKey | None:
        return next(iter(self._leaves), None)
