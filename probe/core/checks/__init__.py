"""The health-check registry: every module here (but `base`) is one check.

A check's name is its module's name, so `--checks spf,ptr` can be validated
without importing anything, and adding a check is adding a file. Modules are
imported only when a probe runs the check.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing base loads dnspython: not needed to list the names
    from .base import Check


@cache
def names() -> tuple[str, ...]:
    """Every check, by name, sorted."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)
                        if m.name != "base" and not m.name.startswith("_")))


def load(selected: Iterable[str]) -> list[Check]:
    """The Check objects for `selected` names (all of them known: plan validated them)."""
    checks = []
    for name in selected:
        module = importlib.import_module(f"{__name__}.{name}")
        check: Check = module.CHECK
        if check.name != name:
            raise RuntimeError(f"check module {name} declares the name {check.name!r}")
        checks.append(check)
    return checks
