"""What a probe will do, validated before a single byte goes on the wire.

Everything the user typed (target, addresses, HELO name, ports, name servers)
is checked here, because aiosmtplib silently rewrites some bad addresses and
dnspython accepts names with spaces. A bad value raises InputError with one
specific sentence; the CLI turns it into exit code 64.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from functools import cache

import idna

from .auth import AuthSpec
from .input_error import InputError
from .proxy import ProxySpec, parse_proxy
from .secret import Secret

PHASES = ("banner", "ehlo", "help", "starttls", "mail", "rcpt")
RFC_MINIMUM_STEP = 300.0  # RFC 5321 §4.5.3.2: greeting, MAIL and RCPT minimums
SMTP_PORT = 25
SUBMISSIONS_PORT = 465  # implicit TLS (RFC 8314)
MAX_RETRY_WAIT = 3600.0
MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_PATH = 256  # §4.5.3.1.3, including the angle brackets


__all__ = ["InputError", "Plan", "build_plan"]  # InputError is re-exported for callers


@dataclass(frozen=True)
class Timeouts:
    """Deadlines, in seconds. `step` bounds each whole reply, not each byte.

    Connect and QUIT get shorter deadlines than a step: a black-holed address
    should not hold the run for the full step time, and the result never
    waits on a slow goodbye. The host budget bounds one session however slowly
    a server answers each step just under its deadline.

    `rfc` mirrors what a real MTA tolerates (RFC 5321 §4.5.3.2 minimums, via
    --rfc-timeouts): useful against tarpits that a diagnostic's short
    defaults would report as timeouts.
    """

    step: float = 30.0
    rfc: bool = False

    @property
    def connect(self) -> float:
        return 30.0 if self.rfc else min(self.step, 10.0)

    @property
    def quit(self) -> float:
        return 30.0 if self.rfc else min(self.step, 5.0)

    @property
    def host_budget(self) -> float:
        return max(self.step * 6, 900.0) if self.rfc else self.step * 6

    @property
    def run_budget(self) -> float:
        return self.step * 20

    @property
    def dns(self) -> float:
        return 5.0 if self.rfc else min(self.step, 3.0)

    @property
    def dns_lifetime(self) -> float:
        return 30.0 if self.rfc else min(self.step, 10.0)

    @property
    def check(self) -> float:
        """One health check (a few DNS queries, maybe one HTTPS fetch)."""
        return 60.0 if self.rfc else min(self.step, 15.0)


@dataclass(frozen=True)
class Plan:
    """A validated probe request: the core's only input."""

    target: str
    domain: str  # A-label form, no trailing dot; "" when only --mx was given
    domain_unicode: str
    rcpts: tuple[str, ...]
    mail_from: str  # "" is the null reverse path <>
    helo: str  # "" means: the address literal of each connection's local address
    port: int = 25
    mx_override: tuple[tuple[str, int], ...] = ()
    nameservers: tuple[tuple[str, int], ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)
    starttls: bool = True
    quit_after: str = "rcpt"
    tls_ca_file: str | None = None
    lang: str = "en"  # language of the annotations the core attaches
    checks: tuple[str, ...] = ()  # health checks to run, by name
    checks_named: bool = False  # the user listed them (--checks), rather than the default
    strict: bool = False  # a failed health check makes the exit code at least 3
    proxy: ProxySpec | None = None  # every connection goes through this SOCKS5 proxy
    implicit_tls: bool = False  # TLS from the first byte (port 465), no STARTTLS step
    auth: AuthSpec | None = None  # AUTH after TLS with these credentials
    catch_all: bool = False  # also RCPT a random local part: does the domain take anything?
    retry_greylist: float | None = None  # after a greylisting 4xx, wait and retry once
    # Where HTTPS fetches (the MTA-STS policy) connect. RFC 8461 fixes 443, so
    # no option sets this: it is a seam for tests, whose policy servers listen
    # on an unprivileged loopback port.
    https_port: int = 443

    def stops_after(self, phase: str) -> bool:
        """True when the user asked to stop once `phase` is done."""
        return PHASES.index(self.quit_after) <= PHASES.index(phase)

    def ehlo_name(self, local_address: str | None) -> str:
        """The EHLO/HELO name of one connection.

        The user's --helo, else this machine's FQDN (decided when the plan was
        built), else the address literal of our end of the connection, which
        is the honest answer RFC 5321 §4.1.4 asks for. `local_address` is None
        when the server cannot see our address (through a proxy): then a proxy
        at a public address is most likely where the server sees us come
        from, and for a proxy at a private one (an SSH tunnel) we cannot know,
        so the loopback literal says just that rather than inventing a name.
        """
        if self.helo:
            return self.helo
        if local_address is None and self.proxy is not None and _is_global(self.proxy.host):
            return address_literal(self.proxy.host)  # where a plain SOCKS server sends from
        return address_literal(local_address or "127.0.0.1")


_LDH_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f]")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\Z")


def _show(value: str) -> str:
    return ascii(value)


def _check_label(label: str, what: str, raw: str) -> None:
    """LDH rules for the ASCII labels; Unicode labels are left to IDNA."""
    if len(label.encode("utf-8")) > 63 and label.isascii():
        raise InputError(f"{what} {_show(raw)} has a label longer than 63 characters")
    if label.isascii() and not _LDH_LABEL.match(label.lower()):
        raise InputError(
            f"{what} {_show(raw)} has an invalid label {label!r} "
            "(letters, digits and inner hyphens only)"
        )


def normalize_domain(value: str, what: str = "domain") -> tuple[str, str]:
    """Return (A-label form, Unicode form) of a host or domain name.

    Applies UTS 46 mapping (IDNA 2008), drops one trailing dot, and rejects
    what dnspython would accept but no mail host can be called: spaces,
    underscores, empty labels, labels over 63 octets, names over 253.
    """
    raw = value
    if not value or not value.strip():
        raise InputError(f"{what} is empty")
    if _CONTROL.search(value) or any(ch.isspace() for ch in value):
        raise InputError(f"{what} {_show(raw)} contains spaces or control characters")
    if value.endswith("."):
        value = value[:-1]
    if not value or value.startswith(".") or ".." in value:
        raise InputError(f"{what} {_show(raw)} has an empty label (two dots in a row?)")
    labels = value.split(".")
    for label in labels:
        _check_label(label, what, raw)
    if value.isascii() and not any(label[:4].lower() == "xn--" for label in labels):
        # Plain LDH labels are their own A-label and U-label: the IDNA tables have
        # nothing to add (and cost more than the rest of a plan in a batch).
        alabel = unicode = value.lower()
    else:
        alabel, unicode = _idna(value, what, raw)
    if len(alabel) > 253:
        raise InputError(f"{what} {_show(raw)} is longer than 253 characters")
    return alabel, unicode


def _idna(value: str, what: str, raw: str) -> tuple[str, str]:
    """UTS 46 / IDNA 2008: (A-label form, Unicode form) of a name with non-LDH labels."""
    try:
        alabel = idna.encode(value, uts46=True, transitional=False).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise InputError(f"{what} {_show(raw)} is not a valid host name: {exc}") from None
    for label in alabel.split("."):
        _check_label(label, what, raw)
    try:
        unicode = idna.decode(alabel)
    except idna.IDNAError:
        unicode = alabel
    return alabel, unicode


def parse_address(value: str, what: str = "address") -> tuple[str, str]:
    """Validate an envelope address; return (address with A-label domain, domain).

    Rejects display names, lists, comments, angle brackets, spaces and
    controls instead of rewriting them (aiosmtplib's parseaddr would turn
    `x@y SIZE=1` into `x@ySIZE=1`). A non-ASCII local part is refused: the
    probe does not negotiate SMTPUTF8.
    """
    if _CONTROL.search(value):
        raise InputError(f"{what} {_show(value)} contains control characters (CR/LF?)")
    if any(ch.isspace() for ch in value):
        raise InputError(f"{what} {_show(value)} contains spaces")
    if any(ch in value for ch in '<>(),;:"[]\\'):
        raise InputError(
            f"{what} {_show(value)} must be a bare address like user@example.com "
            "(no display name, brackets, quotes or lists)"
        )
    local, sep, domain = value.rpartition("@")
    if not sep or not local:
        raise InputError(f"{what} {_show(value)} is not of the form user@domain")
    if not local.isascii():
        raise InputError(
            f"{what} {_show(value)} has a non-ASCII local part; probe does not use SMTPUTF8"
        )
    if not _ATEXT.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise InputError(f"{what} {_show(value)} has an invalid local part")
    if len(local) > MAX_LOCAL_PART:
        raise InputError(f"{what} {_show(value)}: local part longer than 64 octets "
                         "(RFC 5321 §4.5.3.1.1)")
    alabel, _ = normalize_domain(domain, f"domain of {what}")
    address = f"{local}@{alabel}"
    if len(address) + 2 > MAX_PATH:
        raise InputError(f"{what} {_show(value)} is longer than 256 octets (RFC 5321 §4.5.3.1.3)")
    return address, alabel


def parse_port(value: str | int, what: str = "port") -> int:
    try:
        port = int(str(value), 10)
    except ValueError:
        raise InputError(f"{what} {_show(str(value))} is not a number") from None
    if not 1 <= port <= 65535:
        raise InputError(f"{what} {port} is out of range (1-65535)")
    return port


def parse_hostport(value: str, default_port: int, what: str) -> tuple[str, int]:
    """Split `host`, `host:port`, `[v6]:port` or `v6`; validate both halves."""
    host, port = value, default_port
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            raise InputError(f"{what} {_show(value)} has an unclosed '['")
        host, rest = value[1:end], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise InputError(f"{what} {_show(value)} is not HOST[:PORT]")
            port = parse_port(rest[1:], f"port in {what}")
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        port = parse_port(port_text, f"port in {what}")
    return host, port


def _is_global(value: str) -> bool:
    try:
        return ipaddress.ip_address(value).is_global
    except ValueError:
        return False


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def parse_nameserver(value: str) -> tuple[str, int]:
    host, port = parse_hostport(value, 53, "--nameserver")
    if not is_ip(host):
        raise InputError(f"--nameserver {_show(value)} must be an IP address (like dig @IP)")
    return host, port


def parse_mx(value: str, default_port: int) -> tuple[str, int]:
    host, port = parse_hostport(value, default_port, "--mx")
    if is_ip(host):
        return host, port
    alabel, _ = normalize_domain(host, "--mx host")
    return alabel, port


def validate_helo(value: str) -> str:
    """An EHLO name: a domain or an address literal such as [192.0.2.1]."""
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1]
        literal = inner[5:] if inner.lower().startswith("ipv6:") else inner
        if is_ip(literal):
            return value
        raise InputError(f"--helo {_show(value)} is not a valid address literal")
    alabel, _ = normalize_domain(value, "--helo name")
    return alabel


@cache
def default_helo() -> str:
    """This machine's name if it is fully qualified, else "" (an address literal).

    RFC 5321 §4.1.4 asks for the FQDN, or an address literal when there is
    none; "" tells each session to use the literal of the local address of
    its own connection, which is the honest answer. Only the local name is
    read (no reverse lookup), so this cannot hang.
    """
    name = socket.gethostname()
    if "." in name:
        try:
            return validate_helo(name)
        except InputError:
            pass
    return ""


def address_literal(address: str) -> str:
    """[192.0.2.1] or [IPv6:2001:db8::1], the RFC 5321 §4.1.3 forms."""
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def default_rcpt(domain: str, overrides: tuple[tuple[str, int], ...]) -> str:
    """postmaster@DOMAIN: RFC 5321 §4.5.1 requires every mail domain to accept it.

    With only an IP given via --mx there is no domain; the bare `postmaster`
    form is the one RFC 5321 allows without a domain.
    """
    if domain:
        return f"postmaster@{domain}"
    host = overrides[0][0]
    return "postmaster" if is_ip(host) else f"postmaster@{host}"


def build_plan(
    target: str,
    *,
    rcpts: list[str] | None = None,
    mail_from: str = "",
    helo: str | None = None,
    port: int | str | None = None,
    mx: list[str] | None = None,
    nameservers: list[str] | None = None,
    timeout: float | str | None = None,
    rfc_timeouts: bool = False,
    starttls: bool = True,
    quit_after: str = "rcpt",
    tls_ca_file: str | None = None,
    lang: str = "en",
    checks: str | None = None,
    no_checks: bool = False,
    strict: bool = False,
    proxy: str | None = None,
    implicit_tls: bool = False,
    auth_user: str | None = None,
    auth_password: str | None = None,
    auth_plaintext: bool = False,
    catch_all: bool = False,
    retry_greylist: float | str | None = None,
) -> Plan:
    """Validate every user input and return the Plan, or raise InputError.

    The port defaults to 25, or 465 with `implicit_tls`. `auth_password` is
    taken from the environment or a prompt by the caller, never from argv.
    """
    if port is None:
        port = SUBMISSIONS_PORT if implicit_tls else SMTP_PORT
    port_number = parse_port(port, "--port")
    if timeout is None:
        timeout = RFC_MINIMUM_STEP if rfc_timeouts else 30.0
    try:
        step = float(timeout)
    except (TypeError, ValueError):
        raise InputError(f"--timeout {_show(str(timeout))} is not a number of seconds") from None
    if not 0 < step <= 3600:
        raise InputError(f"--timeout {step:g} must be more than 0 and at most 3600 seconds")
    if quit_after not in PHASES:
        raise InputError(f"--quit-after {_show(quit_after)} must be one of {', '.join(PHASES)}")
    overrides = tuple(parse_mx(value, port_number) for value in (mx or []))
    servers = tuple(parse_nameserver(value) for value in (nameservers or []))

    target = target.strip() if target else ""
    implied_rcpt: str | None = None
    if not target and not overrides:
        raise InputError("no target: give a domain, an address, or --mx HOST")
    if "@" in target:
        implied_rcpt, domain = parse_address(target, "target address")
        domain_unicode = normalize_domain(domain)[1]
    elif target:
        if target.startswith("[") or is_ip(target):
            raise InputError(
                f"target {_show(target)} is an IP address; "
                f"use --mx {target.strip('[]')} to probe a host"
            )
        domain, domain_unicode = normalize_domain(target)
    else:
        domain = domain_unicode = ""

    checked_rcpts = [parse_address(r, "--rcpt")[0] for r in (rcpts or [])]
    if implied_rcpt and implied_rcpt not in checked_rcpts:
        checked_rcpts.insert(0, implied_rcpt)
    if not checked_rcpts:
        checked_rcpts = [default_rcpt(domain, overrides)]
    sender = "" if mail_from in ("", "<>") else parse_address(mail_from, "--mail-from")[0]
    if tls_ca_file is not None:
        try:
            with open(tls_ca_file, "rb"):
                pass
        except OSError as exc:
            raise InputError(f"--tls-ca-file {_show(tls_ca_file)}: {exc.strerror}") from None
    return Plan(
        target=target or overrides[0][0],
        domain=domain,
        domain_unicode=domain_unicode,
        rcpts=tuple(checked_rcpts),
        mail_from=sender,
        helo=validate_helo(helo) if helo is not None else default_helo(),
        port=port_number,
        mx_override=overrides,
        nameservers=servers,
        timeouts=Timeouts(step, rfc_timeouts),
        starttls=starttls,
        quit_after=quit_after,
        tls_ca_file=tls_ca_file,
        lang=lang,
        checks=() if no_checks else parse_checks(checks),
        checks_named=checks is not None and not no_checks,
        strict=strict,
        proxy=_proxy(proxy),
        implicit_tls=implicit_tls,
        auth=_auth(auth_user, auth_password, auth_plaintext),
        catch_all=catch_all,
        retry_greylist=_retry_wait(retry_greylist),
    )


def _proxy(value: str | None) -> ProxySpec | None:
    if value is None:
        return None
    try:
        return parse_proxy(value)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _auth(user: str | None, password: str | None, plaintext: bool) -> AuthSpec | None:
    if user is None:
        if plaintext:
            raise InputError("--auth-plaintext needs --auth USER")
        return None
    if not user or _CONTROL.search(user) or len(user.encode("utf-8")) > 255:
        raise InputError(f"--auth user {_show(user)} must be 1-255 bytes without control "
                         "characters")
    if not password:
        raise InputError("--auth needs a password: set PROBE_PASSWORD, or run on a terminal "
                         "to be asked for it")
    return AuthSpec(user, Secret(password), plaintext)


def _retry_wait(value: float | str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InputError(f"--retry-greylist {_show(str(value))} is not a number of "
                         "seconds") from None
    if not 0 < seconds <= MAX_RETRY_WAIT:
        raise InputError(f"--retry-greylist {seconds:g} must be more than 0 and at most "
                         f"{MAX_RETRY_WAIT:g} seconds")
    return seconds


def parse_checks(value: str | None) -> tuple[str, ...]:
    """`--checks spf,dmarc` as validated names; None means every check."""
    from . import checks  # the registry lists module names without importing them

    known = checks.names()
    if value is None:
        return known
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",")
                                 if part.strip()))
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        raise InputError(f"--checks {_show(value)}: unknown check "
                         f"{', '.join(_show(u) for u in unknown) or '(none given)'}; "
                         f"choose from {', '.join(known)}")
    return chosen
