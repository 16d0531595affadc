"""The real app in a real pty, against a hostile loopback SMTP server.

What reaches the terminal is the only thing that matters for CWE-150, so
this test reads the raw byte stream the app writes to its tty and checks
that none of the server's escape sequences got through (Rich and Textual
both pass ESC; RELIABILITY §4), while their escaped forms are visible.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 60.0  # seconds before we give up on a hung child; not a speed assertion

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


class HostileServer:
    """A scripted SMTP server whose every reply carries unique escape-laden markers."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:12]
        self.clip = base64.b64encode(f"CLIP-{self.tag}".encode()).decode()
        t, clip = self.tag, self.clip
        self.replies = {
            "banner": f"220 mx.test ESMTP \x1b]0;PWNED-{t}\x07 [bold]B-{t}[/bold]\r\n",
            "EHLO": (f"250-mx.test \x1b]52;c;{clip}\x07\r\n"
                     f"250-\x1b]8;;http://evil.example/{t}\x1b\\LINK-{t}\x1b]8;;\x1b\\\r\n"
                     f"250-[@click=app.quit]C-{t}[/]\r\n"
                     f"250 \x1b[2JCLR-{t}\r\n"),
            "HELP": f"214 \x1b]0;HELP-{t}\x07 [/] [link=http://evil.example]L[/link]\r\n",
            "MAIL": "250 2.1.0 Ok\r\n",
            "RCPT": "250 2.1.5 Ok\r\n",
            "QUIT": f"221 2.0.0 Bye-{t}\r\n",
        }
        self.port = 0
        self.commands: list[str] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(self.replies["banner"].encode())
            await writer.drain()
            while line := await reader.readline():
                command = line.decode("ascii", "replace").strip()
                self.commands.append(command)
                verb = command.split(" ")[0].upper()
                writer.write(self.replies.get(verb, "502 5.5.1 Not implemented\r\n").encode())
                await writer.drain()
                if verb == "QUIT":
                    break
        except ConnectionError:
            pass
        finally:
            writer.close()


def _read_until(fd: int, needle: bytes, sink: bytearray, guard: float) -> bool:
    """Append tty output to `sink` until `needle` shows up (or the guard expires)."""
    end = time.monotonic() + guard
    while needle not in sink and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the tty
                break
            if not chunk:
                break
            sink.extend(chunk)
    return needle in sink


@contextlib.contextmanager
def spawn_in_pty(argv: list[str], cols: int = 200, rows: int = 50) -> Iterator[tuple[int, int]]:
    """Run argv with a pty as its controlling terminal; yield (pid, master fd)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "NO_COLOR"))}
    env.update(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows), PYTHONPATH=str(ROOT))
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ,
                        struct.pack("HHHH", rows, cols, 0, 0))
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    try:
        yield pid, fd
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(fd)


def _wait_exit(pid: int, fd: int, sink: bytearray, guard: float) -> int | None:
    end = time.monotonic() + guard
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        _read_until(fd, b"\0never\0", sink, 0.2)
    return None


def test_no_server_escape_reaches_the_tty() -> None:
    with HostileServer() as server:
        t = server.tag
        argv = [sys.executable, "-m", "probe", "--tui", "--mx", f"127.0.0.1:{server.port}",
                "--timeout", "10", "--helo", "probe.test"]
        out = bytearray()
        with spawn_in_pty(argv) as (pid, fd):
            # The escaped banner marker on screen means the banner was rendered.
            assert _read_until(fd, f"PWNED-{t}".encode(), out, HANG_GUARD), bytes(out[-2000:])
            # Wait for the end of the session (QUIT reply shown) so every marker was drawn.
            assert _read_until(fd, f"Bye-{t}".encode(), out, HANG_GUARD), bytes(out[-2000:])
            _read_until(fd, f"HELP-{t}".encode(), out, 5)
            os.write(fd, b"q")
            code = _wait_exit(pid, fd, out, HANG_GUARD)

    stream = bytes(out)
    # The session really happened and ended cleanly.
    assert "EHLO probe.test" in server.commands and "QUIT" in server.commands
    assert code == 0, stream[-2000:]

    # No server-made sequence reached the terminal ...
    forbidden = [
        f"\x1b]0;PWNED-{t}", f"\x1b]0;HELP-{t}",          # OSC 0: window title
        f"\x1b]52;c;{server.clip}",                        # OSC 52: clipboard
        f"\x1b]8;;http://evil.example/{t}",                # OSC 8: hyperlink
        f"\x1b[2JCLR-{t}",                                 # CSI: clear screen
        f"\x1b\\LINK-{t}",                                 # ST of the smuggled link
    ]
    for sequence in forbidden:
        assert sequence.encode() not in stream, sequence
    # ... no hyperlink was made from markup, and the marker payloads never follow ESC.
    assert not re.search(rb"\x1b\]8;[^\x07\x1b]*evil\.example", stream)
    for payload in (f"PWNED-{t}", f"HELP-{t}", server.clip, f"LINK-{t}", f"CLR-{t}"):
        index = stream.find(payload.encode())
        while index != -1:
            assert stream[index - 1:index] != b"\x1b", payload
            index = stream.find(payload.encode(), index + 1)

    # ... while the escaped forms are visible as text, markup shown literally.
    for visible in (f"\\x1b]0;PWNED-{t}\\x07", f"[bold]B-{t}[/bold]", f"[@click=app.quit]C-{t}[/]",
                    f"\\x1b[2JCLR-{t}", f"\\x1b]52;c;{server.clip}\\x07"):
        assert visible.encode() in stream, visible
