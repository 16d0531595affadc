"""`probe batch`: many targets, one JSON document per line.

Every line is validated before anything is sent. Targets then run in one
event loop and share one `Limits`, so at most one connection at a time goes
to any destination address across the whole batch (many domains share a
provider's MX). Each document is written whole by the `jsonl` view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TextIO

from .core.exit_status import ExitStatus
from .core.plan import InputError, Plan
from .sanitize import to_display
from .views.jsonl import JsonLinesView


def read_targets(source: str, stdin: TextIO) -> list[str]:
    """Target lines of FILE (or stdin for "-"), without comments and blank lines."""
    if source == "-":
        lines = stdin.read().splitlines()
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            raise InputError(f"cannot read {to_display(source)}: {exc.strerror}") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


async def _run(plans: Sequence[Plan], out: TextIO) -> int:
    from .core.limits import Limits
    from .core.runner import run_probe

    limits = Limits()
    worst: int = ExitStatus.OK
    for plan in plans:
        view = JsonLinesView(out, plan)
        code = await view.consume(run_probe(plan, limits=limits))
        worst = max(worst, code)
    return worst


def run_batch(plans: Sequence[Plan], out: TextIO) -> int:
    """Probe every plan; the exit code is the worst one seen."""
    return asyncio.run(_run(plans, out))
