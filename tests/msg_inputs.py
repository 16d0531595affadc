"""Hostile Outlook .msg inputs built from the real files of tests/bounces/msg.

Each takes the streams of a real file (`cfb.streams_of`) and changes one
thing; none of them is a real Outlook file, and none is stored. Shared by
tests/test_outlook_msg.py and bench/bounce_speed.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.cfb import Tree, streams_of, write_cfb

MSG = Path(__file__).parent / "bounces" / "msg"
DELAY = MSG / "exchange-delay-dsn.msg"  # a real Exchange delay notice (see the README)
RECIP = "__recip_version1.0_#00000000"
DSN_ATTACH = "__attach_version1.0_#00000000"


def delay_tree() -> Tree:
    return streams_of(DELAY.read_bytes())


def with_props(tree: Tree, **streams: bytes) -> bytes:
    """The tree with top-level property streams replaced ("0037001F": subject)."""
    changed = dict(tree)
    for prop, value in streams.items():
        changed = {k: v for k, v in changed.items() if k[0][:16] != f"__substg1.0_{prop[:4]}"}
        changed[(f"__substg1.0_{prop}",)] = value
    return write_cfb(changed)


def as_report(tree: Tree, klass: str) -> Tree:
    """The delay notice's streams with a report class, its own subject, no body
    and a supplementary info per recipient: NOT a real NDR (none with a
    licence was found), a test input for the recipient-table mapping of
    MS-OXOMSG."""
    dropped = ("__substg1.0_001A", "__substg1.0_0037", "__substg1.0_1000", DSN_ATTACH)
    changed = {k: v for k, v in tree.items() if not k[0].startswith(dropped)}
    changed[("__substg1.0_001A001F",)] = klass.encode("utf-16-le")
    changed[("__substg1.0_0037001F",)] = "Undeliverable: RE: Bosco".encode("utf-16-le")
    info = "<mx.example.net #5.1.1 smtp;550 5.1.1 <darlington@coab.us>: user unknown>"
    changed[(RECIP, "__substg1.0_0C1B001F")] = info.encode("utf-16-le")
    changed[(RECIP, "__substg1.0_0C21001F")] = "mx.example.net".encode("utf-16-le")
    return changed


def many_recipients(count: int) -> bytes:
    """A report whose one recipient row is repeated `count` times, each its own address."""
    tree = as_report(delay_tree(), "REPORT.IPM.Note.NDR")
    row = {k[1]: v for k, v in tree.items() if k[0] == RECIP and len(k) == 2}
    tree = {k: v for k, v in tree.items() if k[0] != RECIP}
    for i in range(count):
        for name, value in row.items():
            if name.startswith(("__substg1.0_39FE", "__substg1.0_3003")):
                name, value = name[:16] + "001F", f"user{i}@example.org".encode("utf-16-le")
            tree[(f"__recip_version1.0_#{i:08X}", name)] = value
    return write_cfb(tree)


def nested(tree: Tree, levels: int) -> Tree:
    """`tree` as the attached message of `levels` messages inside each other."""
    prefix: tuple[str, ...] = ()
    outer: Tree = {}
    for _ in range(levels):
        outer[(*prefix, "__substg1.0_0037001F")] = "FW: nested".encode("utf-16-le")
        prefix = (*prefix, "__attach_version1.0_#00000000", "__substg1.0_3701000D")
    outer.update({(*prefix, *k): v for k, v in tree.items()})
    return outer


def big_body(megabytes: int = 1) -> bytes:
    """The delay notice with a UTF-16 body of about `megabytes` MiB."""
    line = "550 5.1.1 mailbox gone ".encode("utf-16-le")
    return with_props(delay_tree(), **{"1000001F": line * (megabytes * (1 << 20) // len(line))})
