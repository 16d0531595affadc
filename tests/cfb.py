"""Repacking a real compound file (MS-CFB v3) with one thing changed, for hostile inputs.

`streams_of` reads every storage and stream of a real .msg file with olefile;
a test changes that tree (a 1 MB property, thousands of recipient rows,
attached messages nested far deeper than the reader follows, escape sequences
in the subject) and `write_cfb` writes it back as a compound file. What it
writes is a test input built from a real file, never a real Outlook file: it
lives only inside the test that builds it.

The writer follows MS-CFB as olefile checks it: 512-byte sectors, streams
under 4096 bytes in the 64-byte mini stream, a balanced tree of siblings per
storage, the FAT in at most 109 sectors (files up to ~7 MB).
"""

from __future__ import annotations

import io
import struct

import olefile

Tree = dict[tuple[str, ...], bytes | None]  # path -> stream bytes, or None for a storage

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def streams_of(data: bytes) -> Tree:
    """Every storage (None) and stream (its bytes) of a compound file, by path."""
    ole = olefile.OleFileIO(io.BytesIO(data))
    tree: Tree = {}
    for path in ole.listdir(streams=True, storages=True):
        key = tuple(path)
        tree[key] = ole.openstream(path).read() if ole.get_type(path) == 2 else None
    ole.close()
    return tree


def _order(name: str) -> tuple[int, str]:
    return len(name), name.upper()  # how CFB compares sibling names


class _Sectors:
    def __init__(self) -> None:
        self.data = bytearray()
        self.fat: list[int] = []

    def put(self, blob: bytes) -> int:
        if not blob:
            return END
        start = len(self.fat)
        count = -(-len(blob) // SECTOR)
        self.data += blob + b"\0" * (count * SECTOR - len(blob))
        self.fat += [start + i + 1 for i in range(count - 1)] + [END]
        return start


def write_cfb(tree: Tree) -> bytes:
    """A compound file holding `tree` (parents are added when missing)."""
    full: Tree = dict(tree)
    for path in list(tree):
        for i in range(1, len(path)):
            full.setdefault(path[:i], None)
    paths = sorted(full, key=lambda p: (len(p), [_order(n) for n in p]))
    ids = {path: i + 1 for i, path in enumerate(paths)}
    sectors, mini = _Sectors(), bytearray()
    minifat: list[int] = []
    start: dict[tuple[str, ...], int] = {}
    for path in paths:
        blob = full[path]
        if blob is None or not blob:
            start[path] = END
        elif len(blob) < CUTOFF:
            first = len(minifat)
            count = -(-len(blob) // MINI)
            mini += blob + b"\0" * (count * MINI - len(blob))
            minifat += [first + i + 1 for i in range(count - 1)] + [END]
            start[path] = first
        else:
            start[path] = sectors.put(blob)
    root_start = sectors.put(bytes(mini))
    minifat_blob = struct.pack(f"<{len(minifat)}I", *minifat)
    minifat_blob += b"\xff" * (-len(minifat_blob) % SECTOR)
    minifat_start = sectors.put(minifat_blob)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in paths:
        children.setdefault(path[:-1], []).append(path)
    links: dict[int, list[int]] = {i: [NOSTREAM] * 3 for i in range(len(paths) + 1)}

    def balance(kids: list[tuple[str, ...]]) -> int:
        if not kids:
            return NOSTREAM
        mid = len(kids) // 2
        node = ids[kids[mid]]
        links[node][0], links[node][1] = balance(kids[:mid]), balance(kids[mid + 1:])
        return node

    for parent, kids in children.items():
        kids.sort(key=lambda p: _order(p[-1]))
        links[ids[parent] if parent else 0][2] = balance(kids)
    entries = [_entry("Root Entry", 5, links[0], root_start, len(mini))]
    for path in paths:
        blob = full[path]
        kind, size = (1, 0) if blob is None else (2, len(blob))
        entries.append(_entry(path[-1], kind, links[ids[path]], start[path], size))
    directory = b"".join(entries)
    directory += _entry("", 0, [NOSTREAM] * 3, 0, 0) * (-len(entries) % 4)
    dir_start = sectors.put(directory)
    fat_count = 1
    while len(sectors.fat) + fat_count > fat_count * (SECTOR // 4):
        fat_count += 1
    if fat_count > 109:
        raise ValueError("too large for a FAT without DIFAT sectors")
    fat_first = len(sectors.fat)
    fat = sectors.fat + [FATSECT] * fat_count
    fat += [FREE] * (fat_count * (SECTOR // 4) - len(fat))
    difat = list(range(fat_first, fat_first + fat_count)) + [FREE] * (109 - fat_count)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII109I", olefile.MAGIC, b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6,
        b"\0" * 6, 0, fat_count, dir_start, 0, CUTOFF,
        minifat_start if minifat else END, len(minifat_blob) // SECTOR, END, 0, *difat)
    return header + bytes(sectors.data) + struct.pack(f"<{len(fat)}I", *fat)


def _entry(name: str, kind: int, link: list[int], first: int, size: int) -> bytes:
    encoded = name.encode("utf-16-le")
    length = len(encoded) + 2 if name else 0
    return struct.pack("<64sHBB3I16sI8s8sIQ", encoded.ljust(64, b"\0"), length, kind, 1,
                       *link, b"\0" * 16, 0, b"\0" * 8, b"\0" * 8, first, size)
