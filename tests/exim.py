"""A real, private Exim on loopback: the second real MTA of the integration tests.

Why Exim: it is the most widely deployed MTA on the Internet after Postfix,
and it words everything differently -- a `214` list to HELP where Postfix
says `500`, `550 Unrouteable address` for an unknown user, `550 relay not
permitted`, no enhanced status codes unless an admin writes them -- so it
tests that the knowledge base recognises more than one vendor's phrasing.
Debian's `exim4-daemon-light` has everything needed (GnuTLS, the plaintext and
cram_md5 authenticators, the `seen` ACL condition for real greylisting).
OpenSMTPD would need privilege-separation users and has no CRAM-MD5; Haraka
is a Node application fewer admins meet.

Exim conflicts with Postfix as a Debian package (both are "the" MTA), so
`.ci/run` does not install it: it unpacks the package with `dpkg -x` into
`/opt/probe-test/exim4` (`EXIM_ROOTS`), installs the one library Postfix does
not already pull in, and creates the `Debian-exim` system user the binary is
compiled to run as. No Exim service exists, nothing listens on port 25.

Shape:

* One daemon per test session, `exim -C CONF -bdf` in the foreground as a
  child of the test process, from a throw-away directory holding its
  configuration, spool, logs and TLS files. Untrusted `-C` makes Exim drop
  root at once, which suits a test server.
* Three listeners on free loopback ports, as a real site has them:
  `port` (MX style: STARTTLS, AUTH only after TLS), `plain_auth_port` (AUTH
  offered before TLS, for tests of a client that must refuse to send a
  password in clear) and `tls_port` (implicit TLS from the first byte, the
  port-465 style of RFC 8314).
* Behaviour (see `EximInstance` for the addresses): known users -> 250
  Accepted; an unknown user -> `550 Unrouteable address` (Exim's stock
  wording from `verify = recipient`); a foreign domain -> `550 relay not
  permitted` (the stock wording) unless the client authenticated; a blocked
  sender refused at MAIL FROM; `grey@` always deferred (451); `greylist@`
  greylisted for real -- deferred until the same client, sender and
  recipient come back after `greylist_delay` seconds, then accepted (for retry
  tests: use a fresh sender per test, see `fresh_sender`); AUTH PLAIN, LOGIN
  and CRAM-MD5 for `alice` with a random password; HELP answered with 214.
* Logging to files, with lines this configuration writes itself so tests
  can read what the server saw: `PROBE-TEST connect ...` when a client
  connects, `PROBE-TEST end quit|<reason> ... history=<commands>` when the
  session ends (QUIT, or Exim's not-QUIT reason), using Exim's own
  `$smtp_command_history`, and `PROBE-TEST DATA ...` if DATA or BDAT ever
  arrives (the predata ACL refuses it). `sessions_since` pairs them with
  Exim's own `SMTP connection from` line, which every connection gets --
  also one whose implicit-TLS handshake fails before any ACL runs (that one
  ends with Exim's `TLS error on connection` line).
* No DNS: reverse lookups and ident callbacks are off, and every routing
  decision is local.

Without Exim (or without root, which the chown of its files needs) the
fixture skips with the reason -- unless `CI=true`, where it fails: CI must
exercise it.

Use the session fixture: `from tests import exim` then
`exim_server = exim.exim_server` in the test module.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import real_mta
from tests.loopback import HOST, free_port

__all__ = [
    "EximError",
    "EximInstance",
    "Session",
    "exim_server",
    "find_exim",
    "start_exim",
    "stop_exim",
]

HOSTNAME = "mx.exim.test"
DOMAIN = "exim.test"

# The user Debian's Exim binary is compiled to run as; .ci/run creates it.
EXIM_USER = "Debian-exim"

# Where .ci/run unpacks exim4-daemon-light; a system-wide Exim is used first.
EXIM_ROOTS = (Path("/"), Path("/opt/probe-test/exim4"))

LOCAL_USERS = ("postmaster", "alice", "abuse")
AUTH_USER = "alice"
BLOCKED_SENDER = "spammer@bad.test"
GREY = f"grey@{DOMAIN}"  # always deferred
GREYLIST = f"greylist@{DOMAIN}"  # deferred until a retry after GREYLIST_DELAY
GREYLIST_DELAY = 2  # seconds; short, so a retry test does not wait long

# Exim's own replies this configuration produces, verbatim (for assertions).
SENDER_REJECTED = f"Sender <{BLOCKED_SENDER}> is blocked by local policy"
GREY_DEFERRED = "Greylisted, please try again later"
GREYLIST_DEFERRED = f"Greylisted for {GREYLIST_DELAY} seconds, please try again later"

MARK = "PROBE-TEST"

_START_ATTEMPTS = 4
_READY_WAIT = 30.0
_STOP_WAIT = 30.0


class EximError(RuntimeError):
    """Exim could not be configured, started or stopped; the message says why."""



def find_exim() -> Path | None:
    """Path of an Exim 4 binary: the system's, else the one .ci/run unpacked."""
    for root in EXIM_ROOTS:
        for name in ("usr/sbin/exim4", "usr/sbin/exim"):
            candidate = root / name
            if os.access(candidate, os.X_OK):
                return candidate
    return None


@dataclass
class Session:
    """One SMTP session as Exim saw it, from this configuration's log lines."""

    client_port: int
    listener_port: int | None = None  # None when the session never reached the connect ACL
    end: str | None = None  # "quit", Exim's not-QUIT reason ("connection-lost", ...), or open
    history: tuple[str, ...] = ()  # $smtp_command_history: the command verbs, in order
    data_attempted: bool = False  # the predata ACL ran (DATA or BDAT with valid recipients)


@dataclass
class EximInstance:
    """A running private Exim: where it listens, its files, its log and its credentials."""

    exim: Path
    process: subprocess.Popen
    root: Path
    port: int
    plain_auth_port: int
    tls_port: int
    ca_pem: Path
    password: str
    host: str = HOST
    hostname: str = HOSTNAME
    domain: str = DOMAIN
    username: str = AUTH_USER
    greylist_delay: int = GREYLIST_DELAY

    @property
    def mx_arg(self) -> str:
        """`127.0.0.1:PORT`: the shape of the CLI's `--mx` option (the STARTTLS listener)."""
        return f"{self.host}:{self.port}"

    @property
    def config(self) -> Path:
        return self.root / "exim.conf"

    @property
    def mainlog(self) -> Path:
        return self.root / "log" / "mainlog"

    def log_text(self) -> str:
        """The main log so far ("" before the first line)."""
        try:
            return self.mainlog.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_offset(self) -> int:
        """A mark in the main log; pass it to `sessions_since` to see only later sessions."""
        try:
            return self.mainlog.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with self.mainlog.open("rb") as fh:
                fh.seek(offset)
                return fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def quiet_offset(self, wait: float = 30.0) -> int:
        """Like `log_offset`, but first wait until every session so far has ended.

        A client that closed a moment ago may not have its end line yet;
        marking the log before it lands would put that session into the next
        test's window.
        """
        deadline = time.monotonic() + wait
        while True:
            offset = self.log_offset()
            if all(s.end for s in _sessions(self.log_since(0))) or time.monotonic() > deadline:
                return offset
            time.sleep(0.05)

    def sessions_since(self, offset: int, *, expect: int = 1, wait: float = 30.0) -> list[Session]:
        """Sessions that connected after `offset`, once all have ended and there are `expect`.

        Exim writes a session's end line as the client goes, a moment after the
        client process may have exited; so this polls until every session in
        the window has ended and at least `expect` exist, or until `wait`
        seconds pass (then it returns what it has and the caller's assertion
        shows the difference).
        """
        deadline = time.monotonic() + wait
        while True:
            sessions = _sessions(self.log_since(offset))
            done = all(s.end for s in sessions) and len(sessions) >= expect
            if done or time.monotonic() > deadline:
                return sessions
            time.sleep(0.05)


# Exim's own line for every accepted connection (log_selector +smtp_connection).
_ACCEPTED = re.compile(r"SMTP connection from \[[^\]]+\]:(\d+) \(TCP/IP connection count")
# This configuration's lines (see the ACLs in _config).
_CONNECT = re.compile(rf"{MARK} connect \[[^\]]+\]:(\d+) port=(\d+)$")
_END = re.compile(rf"{MARK} end (\S+) \[[^\]]+\]:(\d+) history=(\S*)$")
_DATA = re.compile(rf"{MARK} DATA \[[^\]]+\]:(\d+)$")
# An implicit-TLS handshake that failed: the connect ACL never ran, so no
# other line of ours will end this session.
_TLS_FAILED = re.compile(r"TLS error on connection from \[[^\]]+\]:(\d+) ")


def _sessions(log: str) -> list[Session]:
    """Every connection in `log`, in order, with what this configuration logged about it.

    Lines are paired by client port in log order, so an ephemeral port the
    kernel hands out again later starts a new session.
    """
    sessions: list[Session] = []
    open_by_port: dict[int, Session] = {}
    for line in log.splitlines():
        if m := _ACCEPTED.search(line):
            session = Session(client_port=int(m[1]))
            sessions.append(session)
            open_by_port[session.client_port] = session
        elif (m := _CONNECT.search(line)) and int(m[1]) in open_by_port:
            open_by_port[int(m[1])].listener_port = int(m[2])
        elif (m := _DATA.search(line)) and int(m[1]) in open_by_port:
            open_by_port[int(m[1])].data_attempted = True
        elif (m := _END.search(line)) and int(m[2]) in open_by_port:
            session = open_by_port.pop(int(m[2]))
            session.end = m[1]
            session.history = tuple(filter(None, m[3].split(",")))
        elif (m := _TLS_FAILED.search(line)) and int(m[1]) in open_by_port:
            open_by_port.pop(int(m[1])).end = "tls-failed"
    return sessions


def fresh_sender() -> str:
    """A sender address no earlier test used, so `greylist@` starts a new triplet."""
    return f"retry-{secrets.token_hex(4)}@probe.test"


def _write_tls(tls_dir: Path, gid: int) -> Path:
    """A trustme CA and a leaf for mx.exim.test and 127.0.0.1; return the CA's PEM path.

    The key is readable by the Exim group only: the daemon has dropped root
    by the time a connection starts TLS.
    """
    import trustme

    tls_dir.mkdir(mode=0o755)
    ca = trustme.CA(organization_name="Probe Test CA", organization_unit_name="exim fixture")
    leaf = ca.issue_cert(HOSTNAME, HOST, common_name=HOSTNAME, organization_name="Probe Test MX")
    ca_pem = tls_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    chain = tls_dir / "chain.pem"
    with chain.open("wb") as fh:
        for blob in leaf.cert_chain_pems:
            fh.write(blob.bytes())
    key = tls_dir / "key.pem"
    leaf.private_key_pem.write_to_path(str(key))
    os.chown(key, 0, gid)
    key.chmod(0o640)
    return ca_pem


def _config(root: Path, exim: Path, ports: tuple[int, int, int], password: str) -> str:
    """The Exim configuration; each setting is there for a reason given beside it."""
    port, plain_auth_port, tls_port = ports
    users = " : ".join((*LOCAL_USERS, GREY.split("@")[0], GREYLIST.split("@")[0]))
    where = "[$sender_host_address]:$sender_host_port"
    history = "history=${smtp_command_history}"
    greylist_key = "greylist_${md5:$sender_host_address $sender_address $local_part@$domain}"
    # AUTH is offered on a TLS session, or on the one listener meant for plaintext AUTH.
    offer_auth = f"${{if or{{{{def:tls_in_cipher}}{{eq{{$received_port}}{{{plain_auth_port}}}}}}}}}"
    return f"""\
# Private test instance written by tests/exim.py -- not a system config.
exim_path = {exim}
primary_hostname = {HOSTNAME}
qualify_domain = {DOMAIN}
domainlist local_domains = {DOMAIN}
keep_environment =

spool_directory = {root}/spool
log_file_path = {root}/log/%slog
pid_file_path = {root}/exim.pid
log_selector = +smtp_connection +incoming_port +tls_cipher +tls_peerdn +smtp_protocol_error \\
  +smtp_syntax_error

local_interfaces = {HOST}
daemon_smtp_ports = {port} : {plain_auth_port} : {tls_port}
tls_on_connect_ports = {tls_port}
# Fail at once when a port was taken since it was chosen (the fixture retries).
daemon_startup_retries = 0

# Loopback only: no reverse DNS, no ident callback.
host_lookup =
rfc1413_hosts =
smtp_receive_timeout = 60s

tls_advertise_hosts = *
tls_certificate = {root}/tls/chain.pem
tls_privatekey = {root}/tls/key.pem

acl_smtp_connect = acl_connect
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt
acl_smtp_predata = acl_predata
acl_smtp_quit = acl_quit
acl_smtp_notquit = acl_notquit

begin acl

acl_connect:
  accept logwrite = {MARK} connect {where} port=$received_port

acl_mail:
  deny    senders = {BLOCKED_SENDER}
          message = {SENDER_REJECTED}
  accept

acl_rcpt:
  # Authenticated clients may relay: that is what AUTH is for.
  accept  authenticated = *
  require message = relay not permitted
          domains = +local_domains
  defer   recipients = {GREY}
          message = {GREY_DEFERRED}
  # Greylisting with Exim's own 'seen' database: defer until this client,
  # sender and recipient were first seen at least {GREYLIST_DELAY}s ago. The
  # first sight is recorded and, thanks to refresh, not moved by retries.
  defer   recipients = {GREYLIST}
          !seen = -{GREYLIST_DELAY}s / key={greylist_key} / refresh=1d
          message = {GREYLIST_DEFERRED}
  require verify = recipient
  accept

acl_predata:
  deny    logwrite = {MARK} DATA {where}
          message = this test server never takes DATA

acl_quit:
  accept  logwrite = {MARK} end quit {where} {history}

acl_notquit:
  accept  logwrite = {MARK} end $smtp_notquit_reason {where} {history}

begin routers

local_user:
  driver = accept
  domains = +local_domains
  local_parts = {users}
  transport = discard

begin transports

# Never used: DATA is always refused. A router needs a transport to name.
discard:
  driver = appendfile
  file = /dev/null

begin authenticators

plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${{if and{{{{eq{{$auth2}}{{{AUTH_USER}}}}}{{eq{{$auth3}}{{{password}}}}}}}}}
  server_set_id = $auth2
  server_advertise_condition = {offer_auth}

login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${{if and{{{{eq{{$auth1}}{{{AUTH_USER}}}}}{{eq{{$auth2}}{{{password}}}}}}}}}
  server_set_id = $auth1
  server_advertise_condition = {offer_auth}

cram_md5:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = ${{if eq{{$auth1}}{{{AUTH_USER}}}{{{password}}}fail}}
  server_set_id = $auth1
  server_advertise_condition = {offer_auth}
"""


def prepare_root(root: Path, config_text: str) -> int:
    """Spool and log directories Exim may write and its configuration under
    `root`, as Exim accepts them with -C; return the Exim group's id.

    Exim drops root with an untrusted -C, so it must reach root, spool and
    log as its own user; and it insists on a root-owned configuration that no
    one else may write (the group read bit lets it read the file after it
    dropped root).
    """
    user = pwd.getpwnam(EXIM_USER)
    gid = grp.getgrgid(user.pw_gid).gr_gid
    root.chmod(0o755)
    for name in ("spool", "log"):
        (root / name).mkdir(mode=0o750)
        os.chown(root / name, user.pw_uid, gid)
    config = root / "exim.conf"
    config.write_text(config_text)
    os.chown(config, 0, gid)
    config.chmod(0o640)
    return gid


def _prepare(root: Path, exim: Path, ports: tuple[int, int, int], password: str) -> Path:
    """Write the configuration, TLS files, spool and log directories; return the CA path."""
    gid = prepare_root(root, _config(root, exim, ports, password))
    return _write_tls(root / "tls", gid)


def _check_config(exim: Path, config: Path) -> None:
    """`exim -bV -C CONF`: reject a configuration error before starting a daemon."""
    done = subprocess.run(
        [str(exim), "-C", str(config), "-bV"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    if done.returncode != 0:
        raise EximError(f"exim -bV rejected the configuration:\n{done.stdout}{done.stderr}")


def _wait_ready(instance: EximInstance, wait: float = _READY_WAIT) -> bool:
    """True once the daemon logged that it listens on all three ports, while it is alive.

    Exim writes that line after binding, so reading it is a readiness check
    that opens no connection (a probe connection would be a session in the
    log, and one to the implicit-TLS port a failed handshake).
    """
    # The line groups ports: "listening for SMTP on [127.0.0.1]:{P1,P2} and for
    # SMTPS on [127.0.0.1]:P3".
    ports = (instance.port, instance.plain_auth_port, instance.tls_port)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            return False
        for line in instance.log_text().splitlines():
            if "daemon started" in line and all(re.search(rf"\b{p}\b", line) for p in ports):
                return True
        time.sleep(0.05)
    return False


def start_exim(exim: Path) -> EximInstance:
    """Configure and start a private daemon; raise EximError with its logs on failure.

    The caller owns the instance and must call `stop_exim` (the fixture does,
    also when tests fail).
    """
    errors: list[str] = []
    for _attempt in range(_START_ATTEMPTS):
        root = Path(tempfile.mkdtemp(prefix="probe-exim-")).resolve()
        ports = (free_port(), free_port(), free_port())
        password = secrets.token_urlsafe(12)
        try:
            ca_pem = _prepare(root, exim, ports, password)
            _check_config(exim, root / "exim.conf")
            stderr = (root / "stderr").open("wb")
            process = subprocess.Popen(
                [str(exim), "-C", str(root / "exim.conf"), "-bdf"],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, for stop_exim
            )
            stderr.close()
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        instance = EximInstance(exim, process, root, *ports, ca_pem=ca_pem, password=password)
        if len(set(ports)) == 3 and _wait_ready(instance):
            return instance
        errors.append(f"attempt on ports {ports}:\n{_diagnostics(instance)}")
        stop_exim(instance)
    raise EximError("could not start a private Exim:\n" + "\n".join(errors))


def _diagnostics(instance: EximInstance) -> str:
    """Everything Exim said: its output and its main and panic logs."""
    parts = [f"exit status: {instance.process.poll()}"]
    for name in ("stderr", "log/mainlog", "log/paniclog"):
        path = instance.root / name
        if path.exists():
            parts.append(f"--- {name} ---\n{path.read_text(errors='replace')}")
    return "\n".join(parts)


def stop_exim(instance: EximInstance) -> None:
    """Stop the daemon and its session processes, then remove the directory.

    The daemon runs in a process group of its own, and the group is signalled:
    a session child still running after the daemon went would otherwise log
    again -- and Exim recreates a missing log directory -- after the removal.
    """
    try:
        _signal_group(instance.process, signal.SIGTERM)
        try:
            instance.process.wait(timeout=_STOP_WAIT)
        except subprocess.TimeoutExpired:
            instance.process.kill()
            instance.process.wait(timeout=_STOP_WAIT)
        _signal_group(instance.process, signal.SIGKILL)  # any session child left
    finally:
        shutil.rmtree(instance.root, ignore_errors=True)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send `signum` to the process group the daemon leads, if anything in it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _unavailable(reason: str) -> None:
    real_mta.unavailable(reason, "provided Exim")


@pytest.fixture(scope="session")
def exim_server() -> Iterator[EximInstance]:
    """A private Exim for the whole session, stopped at the end even after failures."""
    exim = find_exim()
    if exim is None:
        _unavailable("Exim is not available (see .ci/run: dpkg -x exim4-daemon-light)")
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        _unavailable(f"the {EXIM_USER} user does not exist (.ci/run creates it)")
    if os.geteuid() != 0:
        _unavailable("starting a private Exim needs root (to hand its files to Debian-exim)")
    try:
        instance = start_exim(exim)  # type: ignore[arg-type]
    except EximError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield instance
    finally:
        stop_exim(instance)
