"""`--json`: one document for the whole run, written when it ends.

Pure ASCII (`ensure_ascii`), so bidi overrides and C1 controls in server text
stay escaped even when the document goes to a terminal.
"""

from __future__ import annotations

import json

from ..present.json_report import to_json
from .base import View


class JsonView(View):
    def finish(self) -> None:
        if self.report.done is None:
            return  # interrupted: no half document
        json.dump(to_json(self.report, self.plan.lang, self.compact), self.out, indent=2)
        self.out.write("\n")


VIEW = JsonView
