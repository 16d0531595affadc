"""The process exit codes: the one place they are written down."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0  # every probed host accepted every step it was asked
    TRANSIENT = 1  # something temporary: 4xx, timeout, refused, SERVFAIL...
    PERMANENT = 2  # something permanent: 5xx at banner/MAIL/RCPT, NXDOMAIN, null MX
    MISCONFIGURED = 3  # --strict: mail flows, but a health check failed
    USAGE = 64  # bad usage or input; nothing was sent
    INTERNAL = 70  # a bug in probe
    INTERRUPTED = 130  # Ctrl-C, or the TUI quit before any probe finished
