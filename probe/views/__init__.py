"""Output formats, one module each: plain, json, jsonl, tui.

A format's name is its module's name, so `--format NAME` is validated
without importing anything and a new format is one new module here that
defines `VIEW`, a subclass of `base.View`. Only the chosen module is
imported (the plain and JSON paths never load Textual).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # base loads asyncio and the core: only the chosen view needs them
    from .base import View

__all__ = ["get", "names"]


@cache
def names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"))


def get(name: str) -> type[View]:
    """The view class of format `name` (one of `names()`)."""
    view: type[View] = importlib.import_module(f"{__name__}.{name}").VIEW
    return view
