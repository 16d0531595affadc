"""A real, private Postfix instance on loopback, for integration tests.

Why real Postfix and not another fake: Postfix is what admins point this tool
at, and its replies are the ones the knowledge base must recognise verbatim --
`550 5.1.1 <x@postfix.test>: Recipient address rejected: User unknown in local
recipient table`, `554 5.7.1 <x@elsewhere.test>: Relay access denied`, a
`500 5.5.2` to HELP, the exact STARTTLS dance and the post-TLS EHLO. A fake
replays what its author believed; this is the server itself.

Shape:

* One instance per test session (starting Postfix costs about a second), run
  as `postfix -c DIR start` from a throw-away directory: its own `main.cf`,
  `master.cf`, `queue_directory`, `data_directory` and log file. The system's
  `/etc/postfix` and any system instance are never touched; `multi_instance`
  is not needed because `-c` names the configuration directly.
* `master.cf` has a single smtpd listener on 127.0.0.1:<free port> plus only
  the internal services smtpd talks to (cleanup, trivial-rewrite, anvil,
  tlsmgr, ...). Nothing is chrooted, nothing listens on port 25.
* Behaviour (see `PostfixInstance` for the addresses):
  known local users -> 250; unknown local users -> 550 5.1.1 (User unknown in
  local recipient table); other domains -> 554 5.7.1 Relay access denied (the
  loopback client is deliberately *not* in `mynetworks`); recipient access
  entries produce greylisting (450 4.2.0), a temporary lookup failure
  (451 4.3.0), a full mailbox (452 4.2.2) and "user not local" (551 5.1.6); a
  sender access entry rejects one sender (554 5.7.1, at RCPT time because
  `smtpd_delay_reject = yes` as on nearly every real server); STARTTLS with a
  `trustme` certificate for mx.postfix.test (and 127.0.0.1); HELO required;
  VRFY disabled; HELP gets Postfix's own `500 5.5.2 Error: command not
  recognized`.
* Postfix logs to a file (`maillog_file` through postlogd) with client ports,
  so tests can check what the server saw -- e.g. that every session ended
  with QUIT and that DATA never arrived (smtpd's `disconnect from ...` line
  counts every command it received).
* Reverse DNS of the client is off (`smtpd_peername_lookup = no`): tests
  touch loopback only, and a PTR query must not leave the machine.

Without Postfix (or without root, which `postfix start` needs) the fixture
skips with the reason -- unless `CI=true`, where it fails: CI must exercise it
(`.ci/run` installs the package).

Use the session fixture: `from tests import postfix` then
`postfix_server = postfix.postfix_server` in the test module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from tests import real_mta
from tests.loopback import free_port, wait_listening

__all__ = [
    "PostfixError",
    "PostfixInstance",
    "find_postfix",
    "postfix_server",
    "require_postfix",
    "start_postfix",
    "stop_postfix",
]

HOST = "127.0.0.1"
MYHOSTNAME = "mx.postfix.test"
MYDOMAIN = "postfix.test"

# Local users that exist: RCPT TO any of these @postfix.test is accepted.
LOCAL_USERS = ("postmaster", "alice", "bob", "abuse")

# check_recipient_access entries: address -> action, exactly as an admin
# writes them. Postfix renders them as "<CODE> <DSN> <addr>: Recipient address
# rejected: <text>" -- the format real Postfix sites send.
RECIPIENT_ACCESS = {
    f"grey@{MYDOMAIN}": (
        f"450 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/{MYDOMAIN}.html"
    ),
    f"tempfail@{MYDOMAIN}": "451 4.3.0 Temporary lookup failure",
    f"full@{MYDOMAIN}": "452 4.2.2 Mailbox full",
    f"moved@{MYDOMAIN}": "551 5.1.6 User not local; please try <alice@elsewhere.test>",
}

# check_sender_access entries. REJECT uses access_map_reject_code (554) and
# DSN 5.7.1, as on a stock server.
SENDER_ACCESS = {
    "spammer@bad.test": "REJECT Sender blocked by local policy",
}

# Postfix's own answer to HELP (it does not implement the command).
HELP_REPLY = "500 5.5.2 Error: command not recognized"

# A relaying instance (start_postfix(relay_port=...)) accepts mail for
# RELAY_DOMAIN, delivers it to a loopback server, and sends bounces to
# senders in SINK_DOMAIN through the same server.
RELAY_DOMAIN = "remote.test"
SINK_DOMAIN = "sink.test"

# TEST-NET-1: a network no test client ever comes from, so 127.0.0.1 is an
# outsider and relay restrictions apply to it like to any Internet client.
_MYNETWORKS = "192.0.2.1/32"

_START_ATTEMPTS = 4
_STOP_TIMEOUT = 60.0


class PostfixError(RuntimeError):
    """Postfix could not be configured, started or stopped; the message says why."""



def find_postfix() -> str | None:
    """Path of the `postfix` command, also when /usr/sbin is not on PATH."""
    found = shutil.which("postfix")
    if found:
        return found
    for candidate in ("/usr/sbin/postfix", "/usr/local/sbin/postfix"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class PostfixInstance:
    """A running private Postfix: where it listens, its files, and its log."""

    postfix: str
    root: Path
    port: int
    ca_pem: Path
    host: str = HOST
    hostname: str = MYHOSTNAME
    domain: str = MYDOMAIN
    local_users: tuple[str, ...] = LOCAL_USERS
    recipient_access: dict[str, str] = field(default_factory=lambda: dict(RECIPIENT_ACCESS))
    sender_access: dict[str, str] = field(default_factory=lambda: dict(SENDER_ACCESS))

    @property
    def config_dir(self) -> Path:
        """The directory given to `postfix -c` (main.cf, master.cf, maps, TLS files)."""
        return self.root / "etc"

    @property
    def maillog(self) -> Path:
        """Postfix's log file (written by postlogd)."""
        return self.root / "maillog"

    @property
    def mx_arg(self) -> str:
        """`127.0.0.1:PORT`: the shape of the CLI's `--mx` option."""
        return f"{self.host}:{self.port}"

    def log_text(self) -> str:
        """The whole log so far ("" before the first line)."""
        try:
            return self.maillog.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_offset(self) -> int:
        """A mark in the log; pass it to `sessions_since` to see only later lines."""
        try:
            return self.maillog.stat().st_size
        except FileNotFoundError:
            return 0

    def quiet_offset(self, wait: float = 30.0) -> int:
        """Like `log_offset`, but first wait until every session so far has been logged as over.

        A client that closed its socket a moment ago may not have its
        `disconnect from` line in the log yet; marking the log before it
        lands would put an earlier test's session into the next window.
        """
        deadline = time.monotonic() + wait
        while True:
            try:
                data = self.maillog.read_bytes()
            except FileNotFoundError:
                data = b""
            offset = len(data)
            text = data.decode("utf-8", errors="replace")
            connects = len(re.findall(r"postfix/smtpd\[\d+\]: connect from ", text))
            disconnects = len(re.findall(r"postfix/smtpd\[\d+\]: disconnect from ", text))
            if connects <= disconnects or time.monotonic() > deadline:
                return offset
            time.sleep(0.05)

    def log_since(self, offset: int) -> str:
        """Log text written after `offset` (from `log_offset`)."""
        try:
            with self.maillog.open("rb") as fh:
                fh.seek(offset)
                return fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def sessions_since(self, offset: int, *, expect: int = 1, wait: float = 30.0) -> list[str]:
        """smtpd's `disconnect from ...` lines logged after `offset`.

        smtpd writes that line only once the client has gone, which can be a
        moment after the client process exited, and postlogd writes it
        asynchronously; so this polls until every `connect from` after the mark
        has its `disconnect from` and there are at least `expect` of them, or
        until `wait` seconds pass (then it returns what it has and the caller's
        assertion reports the difference). Waiting here also keeps one test's
        late log lines from leaking into the next test's window.
        """
        deadline = time.monotonic() + wait
        while True:
            text = self.log_since(offset)
            connects = re.findall(r"postfix/smtpd\[\d+\]: connect from ", text)
            disconnects = [
                line
                for line in text.splitlines()
                if re.search(r"postfix/smtpd\[\d+\]: disconnect from ", line)
            ]
            if len(disconnects) >= max(expect, len(connects)) or time.monotonic() > deadline:
                return disconnects
            time.sleep(0.05)

    def postconf(self, *args: str) -> str:
        """Run `postconf -c DIR ARGS...` and return its output (for diagnostics)."""
        postconf = str(Path(self.postfix).with_name("postconf"))
        proc = subprocess.run(
            [postconf, "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return proc.stdout + proc.stderr


def _write_tls(tls_dir: Path) -> Path:
    """Create a CA and a server certificate for mx.postfix.test; return the CA's PEM path.

    trustme is used because it makes a proper CA-signed chain (not a
    self-signed leaf), so the probe's certificate verification can succeed when
    it trusts the CA and fail in an explainable way when it does not. The
    leaf also names 127.0.0.1 so a probe given only `--mx 127.0.0.1:PORT`
    can still verify it.
    """
    import trustme

    tls_dir.mkdir(mode=0o755)
    ca = trustme.CA(organization_name="Probe Test CA", organization_unit_name="postfix fixture")
    leaf = ca.issue_cert(
        MYHOSTNAME,
        HOST,
        common_name=MYHOSTNAME,
        organization_name="Probe Test MX",
    )
    ca_pem = tls_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    # Postfix reads keys while still root, so the key can stay private.
    key = tls_dir / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    chain = tls_dir / "chain.pem"
    with chain.open("wb") as fh:
        for blob in leaf.cert_chain_pems:
            fh.write(blob.bytes())
    return ca_pem


def _main_cf(root: Path, conf: Path) -> str:
    """main.cf for the private instance; every line is there for a reason (see comments)."""
    return f"""\
# Private test instance written by tests/postfix.py -- not a system config.
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop

# Logging to a file through postlogd: the container may have no syslog, and
# tests read this file. Postfix only writes logs under an allowed prefix.
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtpd_client_port_logging = yes
smtpd_tls_loglevel = 1

# Identity and address classes.
myhostname = {MYHOSTNAME}
mydomain = {MYDOMAIN}
myorigin = $mydomain
mydestination = $mydomain, $myhostname
relay_domains =
mynetworks = {_MYNETWORKS}
inet_interfaces = {HOST}
inet_protocols = ipv4
append_dot_mydomain = no
biff = no
alias_maps =
alias_database =
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)

# Who exists: texthash needs no postmap step.
local_recipient_maps = texthash:{conf}/local_recipients
unknown_local_recipient_reject_code = 550

# Restrictions as on a typical Internet-facing MX.
smtpd_helo_required = yes
disable_vrfy_command = yes
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:{conf}/recipient_access
smtpd_sender_restrictions = check_sender_access texthash:{conf}/sender_access

# Opportunistic STARTTLS with a certificate from a test CA.
smtpd_tls_security_level = may
smtpd_tls_cert_file = {conf}/tls/chain.pem
smtpd_tls_key_file = {conf}/tls/key.pem

# Loopback only: no reverse DNS of the client, no DNS anywhere.
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
"""


def _relay_cf(conf: Path) -> str:
    """main.cf additions of a relaying instance: it delivers, and bounces what fails.

    Mail for RELAY_DOMAIN and SINK_DOMAIN goes to one loopback SMTP server
    (transport map, no DNS); whatever that server rejects, Postfix's bounce
    daemon turns into a real delivery status notification to the sender -
    a temporary refusal too, after the one try.
    """
    return f"""relay_domains = {RELAY_DOMAIN}
transport_maps = texthash:{conf}/transport
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tls_security_level = none
smtp_connect_timeout = 10s
# One try: a deferred recipient is bounced at once, as after days of retries,
# so a test sees the DSN a temporary refusal ends in without waiting.
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
"""


def _master_cf(port: int) -> str:
    """master.cf: one smtpd listener plus the internal services it uses, none chrooted."""
    return f"""\
# service type  private unpriv  chroot  wakeup  maxproc command
{HOST}:{port} inet  n  -  n  -  -  smtpd
cleanup   unix  n  -  n  -  0  cleanup
qmgr      unix  n  -  n  300  1  qmgr
tlsmgr    unix  -  -  n  1000?  1  tlsmgr
rewrite   unix  -  -  n  -  -  trivial-rewrite
bounce    unix  -  -  n  -  0  bounce
defer     unix  -  -  n  -  0  bounce
trace     unix  -  -  n  -  0  bounce
verify    unix  -  -  n  -  1  verify
proxymap  unix  -  -  n  -  -  proxymap
anvil     unix  -  -  n  -  1  anvil
scache    unix  -  -  n  -  1  scache
postlog   unix-dgram  n  -  n  -  1  postlogd
"""


# master.cf services a relaying instance needs on top: the SMTP client and
# the delivery agents qmgr hands failures and retries to.
_RELAY_SERVICES = """smtp      unix  -  -  n  -  -  smtp
relay     unix  -  -  n  -  -  smtp
error     unix  -  -  n  -  -  error
retry     unix  -  -  n  -  -  error
discard   unix  -  -  n  -  -  discard
"""


def _write_config(root: Path, port: int, relay_port: int | None = None) -> Path:
    """Write main.cf, master.cf, the lookup tables and TLS files; return the CA PEM path."""
    conf = root / "etc"
    conf.mkdir(mode=0o755)
    ca_pem = _write_tls(conf / "tls")
    main_cf, master_cf = _main_cf(root, conf), _master_cf(port)
    if relay_port is not None:
        main_cf = main_cf.replace("relay_domains =\n", "") + _relay_cf(conf)
        master_cf += _RELAY_SERVICES
        (conf / "transport").write_text("".join(
            f"{domain}\tsmtp:[{HOST}]:{relay_port}\n" for domain in (RELAY_DOMAIN, SINK_DOMAIN)))
    (conf / "main.cf").write_text(main_cf)
    (conf / "master.cf").write_text(master_cf)
    (conf / "local_recipients").write_text("".join(f"{u}\tOK\n" for u in LOCAL_USERS))
    (conf / "recipient_access").write_text(
        "".join(f"{k}\t{v}\n" for k, v in RECIPIENT_ACCESS.items())
    )
    (conf / "sender_access").write_text("".join(f"{k}\t{v}\n" for k, v in SENDER_ACCESS.items()))
    return ca_pem


def _run(
    postfix: str, conf: Path, *args: str, timeout: float = 120.0
) -> subprocess.CompletedProcess:
    """Run `postfix -c CONF ARGS...`, capturing output; never raises on exit status."""
    return subprocess.run(
        [postfix, "-c", str(conf), *args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _master_running(postfix: str, conf: Path) -> bool:
    """True while this instance's master process is alive (`postfix status`)."""
    return _run(postfix, conf, "status").returncode == 0


def _stop(instance_postfix: str, conf: Path) -> None:
    """Stop the instance and wait until its master has gone.

    `postfix stop` already waits a few seconds and then kills with force; the
    extra wait covers a slow machine, so the directory can be removed safely.
    """
    if not _master_running(instance_postfix, conf):
        return
    _run(instance_postfix, conf, "stop")
    deadline = time.monotonic() + _STOP_TIMEOUT
    while _master_running(instance_postfix, conf):
        if time.monotonic() > deadline:
            _run(instance_postfix, conf, "abort")
            break
        time.sleep(0.1)


def start_postfix(postfix: str, relay_port: int | None = None) -> PostfixInstance:
    """Configure and start a private instance; raise PostfixError with the log on failure.

    With `relay_port`, the instance also relays RELAY_DOMAIN and delivers
    SINK_DOMAIN to the SMTP server on 127.0.0.1:relay_port, and bounces what
    that server rejects (see `_relay_cf`). The caller owns the instance and
    must call `stop_postfix` (the fixtures do, also when tests fail).
    """
    errors: list[str] = []
    for _attempt in range(_START_ATTEMPTS):
        # mkdtemp makes a 0700 directory; Postfix daemons run as the unprivileged
        # mail_owner and must be able to reach the queue below it, so open it to
        # 0755 (nothing secret lives there but the TLS key, which is 0600).
        root = Path(tempfile.mkdtemp(prefix="probe-postfix-")).resolve()
        root.chmod(0o755)
        port = free_port()
        try:
            ca_pem = _write_config(root, port, relay_port)
            conf = root / "etc"
            # The queue directory itself must exist (root-owned, not group or
            # world writable) before postfix will chdir into it; set-permissions
            # then creates data_directory and the queue subdirectories with the
            # owners and modes postfix-files prescribes.
            (root / "queue").mkdir(mode=0o755)
            for step in ("set-permissions", "check"):
                done = _run(postfix, conf, step)
                if done.returncode != 0:
                    log = (
                        (root / "maillog").read_text(errors="replace")
                        if (root / "maillog").exists()
                        else ""
                    )
                    raise PostfixError(
                        f"postfix {step} failed (exit {done.returncode}):\n"
                        f"{done.stdout}{done.stderr}\n--- maillog ---\n{log}"
                    )
            started = _run(postfix, conf, "start")
            instance = PostfixInstance(postfix=postfix, root=root, port=port, ca_pem=ca_pem)
            alive = partial(_master_running, postfix, conf)
            if started.returncode == 0 and wait_listening(port, alive):
                # Let smtpd log the readiness check's disconnect now, so it does
                # not land in the first test's log window.
                instance.sessions_since(0, expect=1)
                return instance
            errors.append(
                f"attempt on port {port}: postfix start exited {started.returncode}\n"
                f"{started.stdout}{started.stderr}\n--- maillog ---\n{instance.log_text()}"
            )
        except PostfixError as exc:
            _stop(postfix, root / "etc")
            shutil.rmtree(root, ignore_errors=True)
            raise PostfixError(f"{exc}\n(directory {root})") from exc
        except BaseException:
            _stop(postfix, root / "etc")
            shutil.rmtree(root, ignore_errors=True)
            raise
        # Start failed (most likely the port was taken in the meantime): clean
        # up and try again on another port.
        _stop(postfix, root / "etc")
        shutil.rmtree(root, ignore_errors=True)
    raise PostfixError("could not start a private Postfix:\n" + "\n".join(errors))


def stop_postfix(instance: PostfixInstance) -> None:
    """Stop the instance and remove its directory."""
    try:
        _stop(instance.postfix, instance.config_dir)
    finally:
        shutil.rmtree(instance.root, ignore_errors=True)


def require_postfix() -> str:
    """The postfix command, or skip (fail under CI) when it cannot be started here."""
    postfix = find_postfix()
    if postfix is None:
        _unavailable("postfix is not installed (apt-get install postfix)")
    if os.geteuid() != 0:
        _unavailable("starting a private postfix needs root")
    return postfix  # type: ignore[return-value]


def _unavailable(reason: str) -> None:
    real_mta.unavailable(reason, "installed postfix")


@pytest.fixture(scope="session")
def postfix_server() -> Iterator[PostfixInstance]:
    """A private Postfix for the whole session, stopped at the end even after failures."""
    postfix = require_postfix()
    try:
        instance = start_postfix(postfix)
    except PostfixError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield instance
    finally:
        stop_postfix(instance)
