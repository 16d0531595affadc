"""The real `probe` binary in a real 80x24 pty: the issue's "done when".

`probe good.test --rcpt alice@good.test --rcpt nobody@good.test` against the
loopback DNS server and two aiosmtpd servers (nobody@ unknown on mx1, alice@
greylisted on mx2). The bytes the app writes are fed to pyte, a VT emulator,
so the assertions are about the screen an admin would see: without a key
pressed, which recipient failed on which host, why, and how to fix it. Then
`f` reaches the other host's problem, Enter in the target bar sends nothing,
and `q` exits with the run's code.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from tests.test_cli_dns import dns_server, smtp_farm  # noqa: F401 (fixtures)
from tests.test_glance import REJECTS, ZONE

from .test_pty import HANG_GUARD, _wait_exit, spawn_in_pty

pyte = pytest.importorskip("pyte")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

COLS, ROWS = 80, 24


class Terminal:
    """A pty master read into a pyte screen of COLS x ROWS."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def pump(self, seconds: float) -> None:
        import select

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.raw.extend(chunk)
            self.stream.feed(chunk)

    def wait_for(self, *needles: str, guard: float = HANG_GUARD) -> str:
        """Read until every needle is on the screen at once (or fail with the screen)."""
        end = time.monotonic() + guard
        while time.monotonic() < end:
            self.pump(0.2)
            screen = self.text()
            if all(needle in screen for needle in needles):
                return screen
        raise AssertionError(f"never saw {needles} on screen:\n{self.text()}")

    def press(self, keys: bytes) -> None:
        os.write(self.fd, keys)


def _column(screen: str, start: int) -> str:
    """The text of the right-hand column (rows from `start`), borders and scrollbars
    dropped and wrapped lines joined, so sentences can be matched whole."""
    frame = "│╭╮╰╯─▁▂▃▄▅▆▇█"
    rows = [line[start:].strip(frame).strip() for line in screen.splitlines()[7:-1]]
    return " ".join(row for row in rows if row)


def _binary() -> list[str]:
    script = shutil.which("probe", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "probe"]


def test_at_80x24_the_admin_sees_who_failed_where_why_and_the_fix(dns_server,  # noqa: F811
                                                                 smtp_farm):  # noqa: F811
    farm = smtp_farm(["127.0.0.2", "127.0.0.3"], per_address=REJECTS)
    dns = dns_server(ZONE)
    argv = [*_binary(), "good.test", "--nameserver", dns.nameserver_arg, "--port",
            str(farm.port), "--helo", "probe.test", "--timeout", "5", "--no-checks",
            "--rcpt", "alice@good.test", "--rcpt", "nobody@good.test", "--tui"]
    with spawn_in_pty(argv, cols=COLS, rows=ROWS) as (pid, fd):
        term = Terminal(fd)
        screen = term.wait_for("problem 1 of 2", "permanent · exit 2")
        # The matrix: each recipient on each host.
        assert "alice@good.test" in screen and "nobody@good.test" in screen
        assert "mx1.good.test" in screen and "mx2.good.test" in screen
        row = next(line for line in screen.splitlines() if "nobody@good.test  " in line)
        assert "550 user_unknown" in row and "250 ok" in row
        row = next(line for line in screen.splitlines() if "alice@good.test  " in line)
        assert "450 greylisted" in row
        # Why and how to fix, for the first problem, with no key pressed.
        assert "Transcript · mx1.good.test" in screen
        assert "user_unknown" in screen and "550 5.1.1" in screen
        right = _column(screen, 28)
        assert ("How to fix (for the sender): The mailbox does not exist: check the address "
                "for typos and confirm it with the recipient.") in right
        assert ("How to fix (for the receiving admin): If the user should exist, add it to "
                "the table named in the reply and run postmap on it; for 'relay recipient "
                "table', update relay_recipient_maps from the backend server.") in right

        term.press(b"f")
        screen = term.wait_for("problem 2 of 2")
        assert "Transcript · mx2.good.test" in screen and "450 4.2.0" in screen
        assert ("How to fix: Nothing to do: a standard MTA retries and gets through. Make sure "
                "your MTA retries from the same IP range.") in _column(screen, 28)

        before = dict(farm.connections)
        term.press(b"\t\t\t\r")  # Tab cannot reach the target fields; Enter probes nothing
        term.press(b"e")
        term.wait_for("Editing: Enter keeps the new target")
        term.press(b"\r")
        term.wait_for("press r to probe good.test")
        term.pump(1.0)
        assert farm.connections == before

        term.press(b"q")
        code = _wait_exit(pid, fd, term.raw, HANG_GUARD)
    assert code == 2
