"""The Results panel: recipients by sessions, the answer at a glance.

It draws `probe.present.matrix`'s one structure (so it says what the plain
verdict block and the JSON `summary` say), live: cells go from waiting to the
stage in flight to the result. Moving the cell cursor (keys or mouse) posts
`Picked` with the session and the step that decided the cell; the app then
shows that host's transcript at that step. Cells are Rich `Text` built from
sanitised strings: a str cell would be parsed as markup by DataTable.
"""

from __future__ import annotations

from rich.style import Style as RichStyle
from rich.text import Text
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from probe.core.events import HostKey
from probe.present.matrix import Cell, Matrix

from ..content import safe
from ..status import OUTCOME_COLOURS, theme_style

MAX_RCPT_CELLS = 32
MAX_HOST_CELLS = 26


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class ResultsTable(DataTable[Text]):
    """One row per recipient, one column per session (MX address)."""

    class Picked(Message):
        """The cursor is on a cell: show `key`'s step `index` (None: no step decided it)."""

        def __init__(self, key: HostKey, rcpt: str, cell: Cell) -> None:
            super().__init__()
            self.key = key
            self.rcpt = rcpt
            self.cell = cell
            self.index = cell.index

    def __init__(self, lang: str = "en", *, id: str | None = None) -> None:
        super().__init__(cursor_type="cell", show_row_labels=True, id=id)
        self.lang = lang
        self.matrix: Matrix | None = None

    def on_mount(self) -> None:
        # Colours are resolved from the theme when a cell is built (see HostTree).
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, _theme: object) -> None:
        if self.matrix is not None:
            matrix, self.matrix = self.matrix, None
            self.update_from(matrix)

    def _text(self, cell: Cell) -> Text:
        colour = OUTCOME_COLOURS["ok" if cell.outcome == "ok" else cell.outcome]
        style = theme_style(self.app, colour)
        if cell.outcome in ("transient", "permanent"):
            style += RichStyle(bold=True)
        return Text(safe(cell.label(self.lang)), style=style)

    def _heading(self, key: HostKey) -> Text:
        address = safe(key.address) if key.address else "—"
        if key.host == key.address:
            return Text(address)
        return Text(f"{_clip(safe(key.host), MAX_HOST_CELLS)}\n{address}")

    def update_from(self, matrix: Matrix) -> None:
        """Rebuild when recipients or sessions changed, else repaint the changed cells."""
        old = self.matrix
        self.matrix = matrix
        if old is None or (old.rcpts, old.columns) != (matrix.rcpts, matrix.columns):
            cursor = self.cursor_coordinate
            self.clear(columns=True)
            self.header_height = 2 if any(k.host != k.address for k in matrix.columns) else 1
            for key in matrix.columns:
                self.add_column(self._heading(key))
            for rcpt, row in zip(matrix.rcpts, matrix.rows, strict=True):
                self.add_row(*(self._text(cell) for cell in row),
                             label=Text(_clip(safe(rcpt), MAX_RCPT_CELLS)))
            if matrix.rows and matrix.columns:
                self.cursor_coordinate = Coordinate(min(cursor.row, len(matrix.rows) - 1),
                                                    min(cursor.column, len(matrix.columns) - 1))
            return
        for r, (before, after) in enumerate(zip(old.rows, matrix.rows, strict=True)):
            for c, (was, now) in enumerate(zip(before, after, strict=True)):
                if was != now:
                    self.update_cell_at(Coordinate(r, c), self._text(now), update_width=True)

    def show(self, key: HostKey, index: int) -> None:
        """Put the cursor on the cell that shows this step, if one does."""
        if self.matrix is None:
            return
        where = self.matrix.locate(key, index)
        if where is not None and Coordinate(*where) != self.cursor_coordinate:
            self.cursor_coordinate = Coordinate(*where)

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        matrix = self.matrix
        if matrix is None or event.coordinate != self.cursor_coordinate:
            return  # stale: the table was rebuilt or moved again since
        row, column = event.coordinate
        if row < len(matrix.rows) and column < len(matrix.columns):
            self.post_message(self.Picked(matrix.columns[column], matrix.rcpts[row],
                                          matrix.rows[row][column]))
