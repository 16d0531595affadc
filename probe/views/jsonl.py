"""`--format jsonl`: the same document as `--json` on one line, for batch output.

One line per target, written whole or not at all, so a stream of them (a
batch, or runs appended to one file) is always valid JSON lines.
"""

from __future__ import annotations

import json

from ..present.json_report import to_json
from .base import View


class JsonLinesView(View):
    def finish(self) -> None:
        if self.report.done is None:
            return  # interrupted: nothing half-written
        line = json.dumps(to_json(self.report, self.plan.lang, self.compact),
                          separators=(",", ":"))
        self.out.write(line + "\n")
        self.out.flush()


VIEW = JsonLinesView
