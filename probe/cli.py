"""Command line: parse, validate, pick a view, map the result to an exit code.

Bad input never reaches the wire: every value is validated by
`core.plan.build_plan` first, and any problem is one line on stderr with
exit code 64. An unexpected exception is a bug: one line and exit 70 (set
PROBE_DEBUG=1 for the traceback). The TUI is imported only when used, so the
plain and JSON paths never load Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from knowledge import resolve_lang

from .core.events import Event, HostDone, HostKey, MxResolved, ProbeDone
from .core.plan import PHASES, InputError, Plan, build_plan
from .core.transcript import Report
from .core.verdict import EXIT_INTERNAL, EXIT_USAGE
from .sanitize import to_display

SUBCOMMANDS = ("explain", "compare", "batch")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 64 (CONTRACT.md)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _probe_options(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--tui", dest="mode", action="store_const", const="tui",
                      help="interactive view (default when stdout is a terminal)")
    mode.add_argument("--plain", dest="mode", action="store_const", const="plain",
                      help="plain text report (default when piped)")
    mode.add_argument("--json", dest="mode", action="store_const", const="json",
                      help="one JSON document (see CONTRACT)")
    parser.add_argument("--rcpt", action="append", metavar="ADDR",
                        help="RCPT TO address, repeatable (default postmaster@DOMAIN)")
    parser.add_argument("--mail-from", default="", metavar="ADDR",
                        help='MAIL FROM address; "" for the null path <> (default)')
    parser.add_argument("--helo", metavar="NAME",
                        help="EHLO/HELO name (default: this machine's FQDN, else [127.0.0.1])")
    parser.add_argument("--nameserver", action="append", metavar="IP[:PORT]",
                        help="DNS server to ask, repeatable (default: the system resolver)")
    parser.add_argument("--port", default="25", metavar="N", help="SMTP port (default 25)")
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
    _probe_options(parser)
    return parser


def _plan_from(args: argparse.Namespace, target: str) -> Plan:
    return build_plan(
        target, rcpts=args.rcpt, mail_from=args.mail_from, helo=args.helo, port=args.port,
        mx=args.mx, nameservers=args.nameserver, timeout=args.timeout,
        rfc_timeouts=args.rfc_timeouts,
        starttls=not args.no_starttls, quit_after=args.quit_after, tls_ca_file=args.tls_ca_file,
        lang=resolve_lang(args.lang),
    )


async def collect(plan: Plan,
                  on_event: Callable[[Report, Event], None] | None = None) -> Report:
    """Run the probe to the end, folding every event (and passing it on)."""
    from .core.runner import run_probe  # lazy: the TUI paints before this loads

    report = Report()
    async for event in run_probe(plan):
        report.feed(event)
        if on_event is not None:
            on_event(report, event)
    return report


class _LivePlain:
    """Print the plain report while the probe runs, hosts in preference order.

    A host's block is printed once it and every host before it are done, so
    the output is ordered like the final report (diffable) yet appears live.
    """

    def __init__(self, out: TextIO, lang: str) -> None:
        from .render import Style
        self.out = out
        self.style = Style.for_stream(out, lang)
        self.printed: set[HostKey] = set()
        self.header_done = False

    def __call__(self, report: Report, event: Event) -> None:
        from .render import render_header, render_host
        if isinstance(event, MxResolved) and not self.header_done:
            self._write(render_header(report, self.style))
            self.header_done = True
        if isinstance(event, HostDone | ProbeDone):
            for host in report.ordered_hosts():
                if host.key in self.printed:
                    continue
                if host.outcome is None:
                    break
                self._write(render_host(host, self.style))
                self.printed.add(host.key)

    def _write(self, lines: list[str]) -> None:
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def finish(self, report: Report) -> None:
        from .render import render_footer, render_header
        if not self.header_done:
            self._write(render_header(report, self.style))
        self._write(render_footer(report, self.style))


def _run_probe_command(args: argparse.Namespace, out: TextIO) -> int:
    plan = _plan_from(args, args.target)
    mode = args.mode or ("tui" if out.isatty() and sys.stdin.isatty() else "plain")
    if mode == "tui":
        from knowledge import resolve_lang

        from .tui import run_tui  # lazy: plain and JSON never load Textual
        return run_tui(plan, lang=resolve_lang(args.lang))
    if mode == "json":
        report = asyncio.run(collect(plan))
        from .jsonout import to_json
        json.dump(to_json(report), out, indent=2)  # ASCII: bidi/C1 text stays escaped
        out.write("\n")
    else:
        live = _LivePlain(out, plan.lang)
        report = asyncio.run(collect(plan, live))
        live.finish(report)
    return report.done.exit_code if report.done else EXIT_INTERNAL


def _run_batch(argv: Sequence[str], out: TextIO, stdin: TextIO) -> int:
    """One compact JSON document per target line; exit code = the worst seen."""
    parser = _Parser(prog="probe batch", description="probe many targets, one JSON per line")
    parser.add_argument("file", help="file with one target per line, or - for stdin")
    _probe_options(parser)
    args = parser.parse_args(argv)
    if args.file == "-":
        lines = stdin.read().splitlines()
    else:
        try:
            with open(args.file, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            raise InputError(f"cannot read {to_display(args.file)}: {exc.strerror}") from None
    targets = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    plans = [_plan_from(args, target) for target in targets]  # validate all before sending
    from .jsonout import to_json
    worst = 0
    for plan in plans:
        report = asyncio.run(collect(plan))
        out.write(json.dumps(to_json(report)) + "\n")
        out.flush()
        code = report.done.exit_code if report.done else EXIT_INTERNAL
        worst = max(worst, code)
    return worst


def _run_subcommand(name: str, argv: Sequence[str], out: TextIO, stdin: TextIO) -> int:
    if name == "batch":
        return _run_batch(argv, out, stdin)
    from .explain_cmd import compare_main, explain_main
    parser = _Parser(prog=f"probe {name}")
    if name == "explain":
        parser.add_argument("reply", nargs="+",
                            help="a code, enhanced code or reply text; a bounce file "
                                 "(message or mbox); - reads stdin")
    else:
        parser.add_argument("a")
        parser.add_argument("b")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--lang", metavar="CODE")
    args = parser.parse_args(argv)
    if name == "explain":
        return explain_main(args.reply, as_json=args.json, lang=args.lang, out=out, stdin=stdin)
    return compare_main(args.a, args.b, as_json=args.json, lang=args.lang, out=out)


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
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("probe: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so in one line, never a traceback
        if os.environ.get("PROBE_DEBUG"):
            raise
        sys.stderr.write(f"probe: internal error ({exc.__class__.__name__}: "
                         f"{to_display(str(exc), 300)}); please report it\n")
        return EXIT_INTERNAL
