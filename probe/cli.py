"""Command line: parse, validate, pick a view, map the result to an exit code.

Bad input never reaches the wire: every value is validated by
`core.plan.build_plan` first, and any problem is one line on stderr with
exit code 64. An unexpected exception is a bug: one line and exit 70 (set
PROBE_DEBUG=1 for the traceback). Output formats come from the `views`
registry and are imported only when chosen, so the plain and JSON paths
never load Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from knowledge import loader, resolve_lang
from knowledge.i18n import is_supported

from . import views
from .core import checks
from .core.exit_status import ExitStatus
from .core.input_error import InputError
from .sanitize import to_display

if TYPE_CHECKING:
    from .core.plan import Plan

SUBCOMMANDS = ("explain", "compare", "batch")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 64."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _probe_options(parser: argparse.ArgumentParser) -> None:
    from .core.plan import PHASES  # not imported by explain/compare: it loads dnspython

    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--tui", dest="mode", action="store_const", const="tui",
                      help="interactive view (default when stdout is a terminal)")
    mode.add_argument("--plain", dest="mode", action="store_const", const="plain",
                      help="plain text report (default when piped)")
    mode.add_argument("--json", dest="mode", action="store_const", const="json",
                      help="one JSON document (described in the README)")
    mode.add_argument("--format", dest="mode", choices=views.names(), metavar="NAME",
                      help=f"output format: {', '.join(views.names())}")
    parser.add_argument("--rcpt", action="append", metavar="ADDR",
                        help="RCPT TO address, repeatable (default postmaster@DOMAIN)")
    parser.add_argument("--mail-from", default="", metavar="ADDR",
                        help='MAIL FROM address; "" for the null path <> (default)')
    parser.add_argument("--helo", metavar="NAME",
                        help="EHLO/HELO name (default: this machine's FQDN, else the address "
                             "literal of each connection, such as [192.0.2.1])")
    parser.add_argument("--nameserver", action="append", metavar="IP[:PORT]",
                        help="DNS server to ask, repeatable (default: the system resolver)")
    parser.add_argument("--port", metavar="N",
                        help="SMTP port (default 25; 465 with --implicit-tls)")
    parser.add_argument("--mx", action="append", metavar="HOST[:PORT]",
                        help="skip the MX lookup and probe this host, repeatable")
    parser.add_argument("--timeout", metavar="SECONDS",
                        help="deadline for each step's whole reply (default 30)")
    parser.add_argument("--rfc-timeouts", action="store_true",
                        help="wait as long as RFC 5321 tells MTAs to (5 min per step; "
                             "for tarpitting servers)")
    parser.add_argument("--no-starttls", action="store_true",
                        help="do not try STARTTLS even when offered")
    parser.add_argument("--quit-after", default="rcpt", choices=PHASES, metavar="PHASE",
                        help=f"stop after this phase: {', '.join(PHASES)} (default rcpt)")
    parser.add_argument("--tls-ca-file", metavar="PEM",
                        help="also trust this CA bundle when judging server certificates")
    parser.add_argument("--checks", metavar="LIST",
                        help="health checks to run, comma-separated, from "
                        f"{', '.join(checks.names())} (default: all)")
    parser.add_argument("--no-checks", action="store_true", help="run no health checks")
    parser.add_argument("--strict", action="store_true",
                        help="exit 3 when mail flows but a health check fails")
    parser.add_argument("--proxy", metavar="URL",
                        help="connect through a SOCKS5 proxy: socks5://[user:pass@]host:port "
                             "(DNS stays local)")
    parser.add_argument("--implicit-tls", action="store_true",
                        help="TLS from the first byte (port 465 submission), no STARTTLS")
    parser.add_argument("--auth", metavar="USER",
                        help="AUTH as USER after TLS; the password comes from PROBE_PASSWORD "
                             "or a prompt, never from the command line")
    parser.add_argument("--auth-plaintext", action="store_true",
                        help="allow AUTH without TLS (the password then crosses in the clear)")
    parser.add_argument("--catch-all", action="store_true",
                        help="also RCPT a random address: does the domain accept anything?")
    parser.add_argument("--retry-greylist", metavar="SECONDS",
                        help="after a greylisting 4xx, wait SECONDS and retry that host once")
    parser.add_argument("--lang", metavar="CODE",
                        help="language of labels and explanations (en, zh, fr, tr)")


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="probe",
        description="Probe every mail host of a domain and explain every SMTP reply. "
                    "Also: probe explain REPLY..., probe compare CODE CODE, probe batch FILE.",
    )
    parser.add_argument("target", nargs="?", default="",
                        help="domain, user@domain, or nothing with --mx")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _probe_options(parser)
    parser.add_argument("--brief", action="store_true",
                        help="print only the results matrix, the problems with their fixes "
                             "and the verdict")
    parser.add_argument("--timing", action="store_true",
                        help="add a timing waterfall: one bar per step, to scale")
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("probe")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


_LANG_NOTICES: set[str] = set()


def language(explicit: str | None) -> str:
    """The language to use; an unsupported --lang is said once on stderr, then English."""
    if explicit and not is_supported(explicit) and explicit not in _LANG_NOTICES:
        _LANG_NOTICES.add(explicit)
        sys.stderr.write(f"probe: language {to_display(explicit)!r} is not supported "
                         f"(choose from {', '.join(loader.languages())}); using English\n")
    return resolve_lang(explicit)


def _plan_from(args: argparse.Namespace, target: str) -> Plan:
    from .core.plan import build_plan

    return build_plan(
        target, rcpts=args.rcpt, mail_from=args.mail_from, helo=args.helo, port=args.port,
        mx=args.mx, nameservers=args.nameserver, timeout=args.timeout,
        rfc_timeouts=args.rfc_timeouts,
        starttls=not args.no_starttls, quit_after=args.quit_after, tls_ca_file=args.tls_ca_file,
        lang=language(args.lang), checks=args.checks, no_checks=args.no_checks,
        strict=args.strict, proxy=args.proxy, implicit_tls=args.implicit_tls,
        auth_user=args.auth, auth_password=_password(args), auth_plaintext=args.auth_plaintext,
        catch_all=args.catch_all, retry_greylist=args.retry_greylist,
    )


def _password(args: argparse.Namespace) -> str | None:
    """The AUTH password: PROBE_PASSWORD, else asked on the terminal (once per run)."""
    if args.auth is None:
        return None
    cached: str | None = getattr(args, "_password", None)
    if cached is not None:
        return cached
    password = os.environ.get("PROBE_PASSWORD")
    if password is None and sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"Password for {to_display(args.auth)}: ")
    args._password = password or ""
    return password


def _run_probe_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.version:
        out.write(f"probe {version()}\n")
        return ExitStatus.OK
    plan = _plan_from(args, args.target)
    mode = args.mode or ("tui" if out.isatty() and sys.stdin.isatty() else "plain")
    from .views.base import Display

    display = Display(brief=args.brief, timing=args.timing)
    return views.get(mode)(out, plan, display=display).run()


def _positive(value: str) -> int:
    try:
        number = int(value, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= 100_000:
        raise argparse.ArgumentTypeError(f"{number} is out of range (1-100000)")
    return number


def _run_batch(argv: Sequence[str], out: TextIO, stdin: TextIO) -> int:
    """One JSON document per target line, as they finish; exit code = the worst seen."""
    from .batch import BatchOptions, run_batch

    parser = _Parser(prog="probe batch",
                     description="probe many targets, one JSON document per line")
    parser.add_argument("file", help="file with one target per line, or - for stdin")
    _probe_options(parser)
    parser.add_argument("--concurrency", type=_positive, default=100, metavar="N",
                        help="targets in flight at once (default 100)")
    parser.add_argument("--per-ip", type=_positive, default=1, metavar="N",
                        help="connections at once to one destination address, across the "
                             "whole batch (default 1)")
    parser.add_argument("--output", metavar="FILE", help="write the JSON lines to FILE")
    parser.add_argument("--resume", action="store_true",
                        help="skip targets already in --output FILE and append the rest")
    parser.add_argument("--compact", action="store_true",
                        help="keep only category, severity and title of each annotation")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar on stderr")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run on a Dask cluster: a scheduler address (tcp://HOST:8786), "
                             "or local[:N] for N worker processes here (needs probe[cluster]); "
                             "--concurrency is then per worker")
    args = parser.parse_args(argv)
    shared = _plan_from(args, "batch.invalid")  # the shared options are checked before any line
    options = BatchOptions(args.concurrency, args.per_ip, args.output, args.resume,
                           args.compact, not args.no_progress)

    def plan_for(target: str) -> Plan:
        return _plan_from(args, target)

    if args.cluster is None:
        return run_batch(args.file, plan_for, options, stdin, out)
    from .cluster.engine import Cluster, parse_address, refuse_secrets_in_clear

    address = parse_address(args.cluster)
    refuse_secrets_in_clear(address, shared.auth is not None or (
        shared.proxy is not None and shared.proxy.password is not None))
    with Cluster(address, options, own_helo=args.helo is None) as cluster:
        return run_batch(args.file, plan_for, options, stdin, out, engine=cluster.run)


def _run_subcommand(name: str, argv: Sequence[str], out: TextIO, stdin: TextIO) -> int:
    if name == "batch":
        return _run_batch(argv, out, stdin)
    from .explain_cmd import compare_main, explain_main
    parser = _Parser(prog=f"probe {name}")
    if name == "explain":
        parser.add_argument("reply", nargs="+",
                            help="a code, enhanced code or reply text; a bounce or log "
                                 "file (message, Outlook .msg or mbox; gzip, bzip2 or xz "
                                 "too); - reads stdin")
    else:
        parser.add_argument("a")
        parser.add_argument("b")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--lang", metavar="CODE")
    args = parser.parse_args(argv)
    lang = language(args.lang)
    if name == "explain":
        return explain_main(args.reply, as_json=args.json, lang=lang, out=out, stdin=stdin)
    return compare_main(args.a, args.b, as_json=args.json, lang=lang, out=out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    """Entry point for `probe` and `python -m probe`; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    stdin = stdin or sys.stdin
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _run_subcommand(argv[0], argv[1:], out, stdin)
        args = _main_parser().parse_args(argv)
        return _run_probe_command(args, out)
    except (UsageError, InputError) as exc:
        sys.stderr.write(f"probe: {to_display(str(exc))}\n")
        return ExitStatus.USAGE
    except KeyboardInterrupt:
        sys.stderr.write("probe: interrupted\n")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so in one line, never a traceback
        if os.environ.get("PROBE_DEBUG"):
            raise
        sys.stderr.write(f"probe: internal error ({exc.__class__.__name__}: "
                         f"{to_display(str(exc), 300)}); please report it\n")
        return ExitStatus.INTERNAL
