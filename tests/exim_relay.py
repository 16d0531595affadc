"""Bounces written by a real Exim: one message relayed, what it refused bounced.

tests/exim.py runs Exim as a daemon that receives; this runs the same binary
once as a sender. `exim -odi` takes a message on stdin for the given
recipients and delivers it at once, through a manualroute router, to the
loopback server of tests/remote_sink.py. A recipient the server refuses
fails, and Exim writes its bounce (its own prose, "SMTP error from remote
mail server after RCPT TO:<x>:", and a message/delivery-status part) to the
sender, in sink.test, through the same server. A retry rule without times
makes a temporary refusal final after the one try, with the words Exim adds
when it gives up on an address ("...: retry timeout exceeded").

Nothing here listens: the run ends when the deliveries are done.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests import exim as daemon
from tests.loopback import HOST

RELAY_DOMAIN = "remote.test"
SINK_DOMAIN = "sink.test"
_RUN_TIMEOUT = 300.0  # seconds for one `exim -odi` run to deliver and bounce


def require_exim() -> Path:
    """The Exim binary, or skip (fail under CI) as tests/exim.py does."""
    binary = daemon.find_exim()
    if binary is None:
        daemon._unavailable("Exim is not available (see .ci/run: dpkg -x exim4-daemon-light)")
    try:
        pwd.getpwnam(daemon.EXIM_USER)
    except KeyError:
        daemon._unavailable(f"the {daemon.EXIM_USER} user does not exist (.ci/run creates it)")
    if os.geteuid() != 0:
        daemon._unavailable("running a private Exim needs root (to hand its files to Debian-exim)")
    return binary  # type: ignore[return-value]


def _config(root: Path, binary: Path, port: int) -> str:
    """A sending-only configuration; each setting is there for a reason given beside it."""
    return f"""\
# Private test configuration written by tests/exim_relay.py -- not a system config.
exim_path = {binary}
primary_hostname = mx.exim.test
qualify_domain = exim.test
spool_directory = {root}/spool
log_file_path = {root}/log/%slog
keep_environment =
# No DNS: the router names the host, and nothing is looked up.
host_lookup =
rfc1413_hosts =

begin routers

# Both the recipients' domain and the sender's (where the bounce goes) are
# served by the one loopback server; "self = send" lets Exim deliver to an
# address of its own host, which 127.0.0.1 is.
loopback:
  driver = manualroute
  domains = {RELAY_DOMAIN} : {SINK_DOMAIN}
  transport = loopback_smtp
  route_list = * {HOST}
  self = send

begin transports

loopback_smtp:
  driver = smtp
  port = {port}
  allow_localhost
  hosts_avoid_tls = *

begin retry

# No retry times: a temporary error is final after the first try.
*   *
"""


def send_and_bounce(binary: Path, port: int, sender: str, recipients: list[str],
                    body: bytes = b"Subject: test\n\nhello\n") -> None:
    """Deliver one message from `sender` to `recipients` through Exim, at once.

    Returns when Exim has delivered what it could and sent its bounce; raises
    with Exim's output and logs if the run failed.
    """
    root = Path(tempfile.mkdtemp(prefix="probe-exim-relay-")).resolve()
    try:
        daemon.prepare_root(root, _config(root, binary, port))
        config = root / "exim.conf"
        done = subprocess.run([str(binary), "-C", str(config), "-odi", "-f", sender, *recipients],
                              input=body, capture_output=True, timeout=_RUN_TIMEOUT, check=False)
        if done.returncode != 0:
            logs = "\n".join(f"--- {p.name} ---\n{p.read_text(errors='replace')}"
                             for p in sorted((root / "log").glob("*")))
            raise RuntimeError(f"exim -odi exited {done.returncode}:\n"
                               f"{done.stdout.decode(errors='replace')}"
                               f"{done.stderr.decode(errors='replace')}\n{logs}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
