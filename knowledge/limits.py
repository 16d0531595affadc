"""Size limits on what an admin pastes, in a module light enough for start-up."""

from __future__ import annotations

MAX_INPUT = 8 * 1024 * 1024  # bytes of input read; the rest is ignored (and said so)
