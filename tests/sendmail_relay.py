"""Bounces written by a real Sendmail: the third real MTA of the bounce round trip.

Why Sendmail: after Postfix and Exim it is the MTA whose notices admins paste
most often, and it words them its own way - "(reason: 550 ...)" with a long
reply cut in the middle ("... the r...r unnecessary spaces."), the whole
reply only in its transcript (">>> RCPT To:<x>" then "<<< 550-..."), a
Diagnostic-Code holding only the first line of a multiline reply, and a
Status it derives from the basic code (5.1.1 for any 550 to RCPT TO, 4.4.7
for any deferral that expired) whatever the server's words said.

Its Debian package conflicts with Postfix (each is "the" MTA), so `.ci/run`
unpacks `sendmail-bin` and `sendmail-cf` with `dpkg -x` into
`/opt/probe-test/sendmail` (`SENDMAIL_ROOTS`), as it does Exim, and installs
m4, which turns the `.mc` below into a configuration with the package's own
macros. No Sendmail service exists, nothing listens.

Each message is one `sendmail -C <cf> -odi` run that delivers at once through
a smart host, the loopback server of tests/remote_sink.py; the recipients it
refuses fail, and Sendmail mails its bounce to the sender, in sink.test,
through the same server. Queue runs with `Timeout.queuereturn=0s` then
bounce the temporary refusals, as after days of retries.

Sendmail sleeps a minute at start when the host's name has no dot and does
not resolve to one, so each run is given a name of its own in a UTS
namespace (`unshare --uts`, as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests import real_mta
from tests.loopback import HOST

SENDMAIL_ROOTS = (Path("/"), Path("/opt/probe-test/sendmail"))
_BINARY = "usr/libexec/sendmail/sendmail"
_CF_DIR = "usr/share/sendmail/cf"
HOSTNAME = "mx.sendmail.test"
_RUN_TIMEOUT = 120.0  # seconds for one run to deliver and bounce
_QUEUE_DEADLINE = 30.0  # seconds for the queue runs to bounce what was deferred
# Sendmail's exit codes are sysexits: a refused recipient is EX_NOUSER (67),
# a deferred one EX_TEMPFAIL (75). Anything else is a failure of the run.
_EXPECTED_EXITS = frozenset((0, *range(64, 79)))


def find_sendmail() -> tuple[Path, Path] | None:
    """(binary, directory of the cf macros): the system's, else what .ci/run unpacked."""
    for root in SENDMAIL_ROOTS:
        binary, cf_dir = root / _BINARY, root / _CF_DIR
        if os.access(binary, os.X_OK) and (cf_dir / "m4" / "cf.m4").is_file():
            return binary, cf_dir
    return None


def require_sendmail() -> tuple[Path, Path]:
    """The binary and macros, or skip (fail under CI) with the reason."""
    found = find_sendmail()
    if found is None:
        real_mta.unavailable("Sendmail is not available (see .ci/run: dpkg -x sendmail-bin "
                             "sendmail-cf)", "unpacked Sendmail")
    for tool in ("m4", "unshare"):
        if shutil.which(tool) is None:
            real_mta.unavailable(f"{tool} is not installed", "installed it")
    if os.geteuid() != 0:
        real_mta.unavailable("running a private Sendmail needs root (unshare --uts)",
                             "run as root")
    return found  # type: ignore[return-value]


def _mc(root: Path, port: int) -> str:
    """The configuration's source; each setting is there for a reason given beside it."""
    return f"""\
divert(-1)
# Private test configuration written by tests/sendmail_relay.py -- not a system config.
divert(0)dnl
OSTYPE(`linux')dnl
dnl The name the notices give; the run's host name is the same (module docstring).
define(`confDOMAIN_NAME', `{HOSTNAME}')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
dnl No DNS: host names come from this file only, and the smart host is an address.
define(`confSERVICE_SWITCH_FILE', `{root}/service.switch')dnl
define(`confHOSTS_FILE', `{root}/hosts')dnl
define(`QUEUE_DIR', `{root}/queue')dnl
define(`ALIAS_FILE', `')dnl
dnl Every message, and every bounce, goes to the loopback server.
define(`SMART_HOST', `esmtp:[{HOST}]')dnl
define(`ESMTP_MAILER_ARGS', `TCP $h {port}')dnl
define(`RELAY_MAILER_ARGS', `TCP $h {port}')dnl
FEATURE(`nocanonify')dnl
MAILER(`smtp')dnl
"""


def _prepare(root: Path, cf_dir: Path, port: int) -> Path:
    """Write the configuration, built with the package's m4 macros, and its files."""
    (root / "queue").mkdir(mode=0o700)
    (root / "service.switch").write_text("hosts files\naliases files\n")
    (root / "hosts").write_text(f"127.0.0.1 localhost {HOSTNAME}\n")
    built = subprocess.run(["m4", f"-D_CF_DIR_={cf_dir}/", str(cf_dir / "m4" / "cf.m4"), "-"],
                           input=_mc(root, port).encode(), capture_output=True, check=True,
                           timeout=30)
    config = root / "sendmail.cf"
    config.write_bytes(built.stdout)
    return config


def _run(binary: Path, config: Path, args: list[str], body: bytes = b"") -> None:
    """One sendmail run under the host name it needs; raise if it did not run."""
    command = f"hostname {HOSTNAME} && exec \"$0\" \"$@\""
    done = subprocess.run(["unshare", "--uts", "sh", "-c", command, str(binary), "-C",
                           str(config), *args], input=body, capture_output=True,
                          timeout=_RUN_TIMEOUT, check=False)
    if done.returncode not in _EXPECTED_EXITS:
        raise RuntimeError(f"sendmail {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stdout.decode(errors='replace')}"
                           f"{done.stderr.decode(errors='replace')}")


def _bounce_deferred(binary: Path, config: Path, queue: Path) -> None:
    """Run the queue until every deferred message has bounced. Sendmail returns
    a message once it is older than `Timeout.queuereturn` - strictly, so one
    queued this second waits for the next."""
    deadline = time.monotonic() + _QUEUE_DEADLINE
    while any(queue.glob("qf*")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"sendmail left {sorted(p.name for p in queue.glob('qf*'))}")
        time.sleep(1.0)
        _run(binary, config, ["-q", "-O", "Timeout.queuereturn=0s"])


def send_and_bounce(binary: Path, cf_dir: Path, port: int,
                    messages: list[tuple[str, list[str]]],
                    body: bytes = b"Subject: test\r\n\r\nhello\r\n") -> None:
    """Deliver each (sender, recipients) message through Sendmail, then bounce
    what was deferred. Returns when every run is done; the bounces are then
    on their way to the loopback server or there."""
    root = Path(tempfile.mkdtemp(prefix="probe-sendmail-relay-")).resolve()
    try:
        config = _prepare(root, cf_dir, port)
        # One run after another: in parallel they took longer here (80 runs:
        # 16 s one by one, 28 s four at a time).
        for sender, recipients in messages:
            _run(binary, config, ["-odi", "-oi", "-f", sender, *recipients], body)
        _bounce_deferred(binary, config, root / "queue")
    finally:
        shutil.rmtree(root, ignore_errors=True)
