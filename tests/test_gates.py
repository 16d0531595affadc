"""Code gates that run with the suite (and so in CI): mypy and ruff must be clean.

They run as subprocesses of the same environment `uv run pytest` uses, so a
fresh clone checks exactly what a developer checks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_mypy_is_clean():
    result = _run("mypy", "probe", "knowledge")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = _run("ruff", "check", "probe", "knowledge", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr
