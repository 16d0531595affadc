"""Running the real CLI (`python -m probe`) against a real MTA, and reading its JSON.

Shared by the integration tests of every real MTA (Postfix, Exim): the run
itself, the parsed document and a description for failed assertions, the
step helpers, and the contract's fixed JSON shape. What each MTA's log says
about the run (the server-side witness) is the MTA module's business; `Run`
carries it as `sessions`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.contract import CATEGORIES, SEVERITIES, STAGES

REPO = Path(__file__).resolve().parent.parent

FULL_DIALOG = [
    "connect", "banner", "ehlo", "help", "starttls", "tls", "ehlo", "mail", "rcpt", "quit",
]  # fmt: skip

# A usage error (64) or a crash (70) may have connected to nothing: a caller
# collecting server sessions should not wait for one after these.
NO_SESSION_EXITS = (64, 70)


@dataclass
class Run:
    """One CLI run: what it printed, how it exited, and what the server logged."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    sessions: list[Any]  # the server's record of this run's sessions

    @property
    def doc(self) -> dict[str, Any]:
        """stdout parsed as the one JSON document `--json` promises."""
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            pytest.fail(
                f"stdout is not one JSON document ({exc}).\nargs: {self.args}\n"
                f"exit: {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
            )

    def describe(self) -> str:
        """Everything needed to understand a failed assertion, in one string."""
        return (
            f"args: {self.args}\nexit: {self.returncode}\nstdout:\n{self.stdout}\n"
            f"stderr:\n{self.stderr}\nserver sessions: {self.sessions}"
        )


def run_probe(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m probe ARGS` in a subprocess: no colour, 80 columns, UTF-8, no stdin."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "LANG": "C.UTF-8"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "probe", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )


class SessionLog(Protocol):
    """What an MTA fixture offers to tell which sessions a run made (see tests/postfix.py)."""

    def quiet_offset(self) -> int: ...

    def sessions_since(self, offset: int, *, expect: int = 1) -> list[Any]: ...


def run_cli(server: SessionLog, *args: str) -> Run:
    """Run `python -m probe ARGS` and collect the server's record of the sessions it made.

    The log window is marked once earlier sessions have ended, and closed once
    every session the server saw in it has ended, so each run's server-side
    record is complete and cannot leak into the next test.
    """
    offset = server.quiet_offset()
    proc = run_probe(*args)
    # Every run in these tests probes one address, so one session (none after
    # a usage error or a crash; sessions the server did log are still awaited).
    expect = 0 if proc.returncode in NO_SESSION_EXITS else 1
    sessions = server.sessions_since(offset, expect=expect)
    return Run(list(args), proc.returncode, proc.stdout, proc.stderr, sessions)


def only_host(run: Run) -> dict[str, Any]:
    doc = run.doc
    assert len(doc["hosts"]) == 1, run.describe()
    return doc["hosts"][0]


def stages(host: dict[str, Any]) -> list[str]:
    return [step["stage"] for step in host["steps"]]


def steps_of(host: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    return [step for step in host["steps"] if step["stage"] == stage]


def one_step(host: dict[str, Any], stage: str) -> dict[str, Any]:
    found = steps_of(host, stage)
    assert len(found) == 1, f"expected one {stage} step, got {stages(host)}"
    return found[0]


def words_in_order(text: str, output: str) -> bool:
    """True if the words of `text` appear in `output` in order (other words may sit between)."""
    words = iter(output.split())
    return all(any(word == seen for seen in words) for word in text.split())


def assert_well_formed(run: Run) -> None:
    """The fixed JSON keys and value domains of CONTRACT.md, for any run."""
    doc = run.doc
    for key in (
        "target",
        "domain",
        "domain_unicode",
        "mx",
        "hosts",
        "findings",
        "outcome",
        "exit_code",
    ):
        assert key in doc, f"missing top-level key {key!r}\n{run.describe()}"
    assert doc["exit_code"] == run.returncode
    assert doc["outcome"] in {"ok", "transient", "permanent"}
    assert {"source", "records"} <= doc["mx"].keys()
    for finding in doc["findings"]:
        assert finding["severity"] in {"warning", "error", "info"}
        assert isinstance(finding["message"], str) and finding["message"]
    for host in doc["hosts"]:
        for key in ("host", "address", "port", "preference", "tls", "steps", "outcome", "findings"):
            assert key in host, f"missing host key {key!r}"
        assert host["outcome"] in {"ok", "transient", "permanent"}
        for finding in host["findings"]:
            assert finding["severity"] in {"warning", "error", "info"}
        for step in host["steps"]:
            for key in ("stage", "command", "reply", "elapsed_ms", "annotation", "error"):
                assert key in step, f"missing step key {key!r} in {step}"
            assert step["stage"] in STAGES
            assert isinstance(step["elapsed_ms"], int | float) and step["elapsed_ms"] >= 0
            reply = step["reply"]
            if reply is None:
                continue
            assert {"code", "enhanced", "lines"} <= reply.keys()
            annotation = step["annotation"]
            assert annotation is not None, f"reply without annotation: {step}"
            assert annotation["category"] in CATEGORIES, annotation
            assert annotation["severity"] in SEVERITIES, annotation
            for key in ("title", "meaning", "when", "fix", "source"):
                assert key in annotation, f"annotation lacks {key!r}: {annotation}"
