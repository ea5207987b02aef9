#!/usr/bin/env python3
"""ring-diagram.py - draw the io_uring ring layout from what the kernel reports.

    python3 tools/ring-diagram.py > docs/img/ring-layout.svg
    01-syscalls/syscalls 8 | python3 tools/ring-diagram.py > layout.svg

Nothing in the picture is placed by hand.  The script runs
`01-syscalls/syscalls 4` (or reads that program's output from stdin when
stdin is a pipe or a file with something in it), takes the sizes, the feature bits and every
sq_off/cq_off offset from it, and draws each mapping as memory: 16 bytes
to a row, every field at its real byte offset and as wide as it really is.
Bytes no reported field covers are drawn hatched (padding, or fields this
course does not use).  Only two numbers come from <linux/io_uring.h>
instead of the kernel: an SQE is 64 bytes and a CQE 16 (the layout of the
structs is ABI; IORING_SETUP_SQE128/CQE32 would double them).

Colours say who writes a field: the application, the kernel, or the kernel
once at setup.  Every field's rectangle carries data-field, data-offset
and data-bytes attributes, and the input is kept in the SVG's <desc>, so
tests can check the drawing against the kernel's numbers
(tests/docs.bats).  Plain SVG, Python standard library only.
"""
import os
import platform
import re
import stat
import subprocess
import sys
from html import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQE_SIZE, CQE_SIZE = 64, 16      # struct io_uring_sqe / io_uring_cqe (ABI)
IORING_OFF_SQ_RING, IORING_OFF_CQ_RING, IORING_OFF_SQES = 0, 0x8000000, 0x10000000

ROW_BYTES = 16                   # bytes per drawn row, like hexdump -C
PX = 38                          # pixels per byte, horizontally
ROW_H = 40                       # pixels per row
GUTTER = 86                      # room for the offset labels left of a column
GAP = 150                        # between the two columns (the array arrows)
TOP = 118                        # title and mapping captions

WHO = {  # who writes the field: fill, stroke, legend text
    "app": ("#d6e6fb", "#2f6db5", "written by the application"),
    "kernel": ("#fde2c4", "#c2671b", "written by the kernel"),
    "setup": ("#e6e6e6", "#6b6b6b", "written once by the kernel, at setup"),
}

# The fields of each ring: (name in the syscalls output, label, size, writer).
SQ_FIELDS = [
    ("sq_off.head", "sq head", 4, "kernel"),
    ("sq_off.tail", "sq tail", 4, "app"),
    ("sq_off.ring_mask", "sq ring_mask", 4, "setup"),
    ("sq_off.ring_entries", "sq ring_entries", 4, "setup"),
    ("sq_off.flags", "sq flags", 4, "kernel"),
    ("sq_off.dropped", "sq dropped", 4, "kernel"),
]
CQ_FIELDS = [
    ("cq_off.head", "cq head", 4, "app"),
    ("cq_off.tail", "cq tail", 4, "kernel"),
    ("cq_off.ring_mask", "cq ring_mask", 4, "setup"),
    ("cq_off.ring_entries", "cq ring_entries", 4, "setup"),
    ("cq_off.overflow", "cq overflow", 4, "kernel"),
    ("cq_off.flags", "cq flags", 4, "app"),
]
# struct io_uring_sqe, as far as this course uses it (the unions collapsed).
SQE_FIELDS = [(0, 1, "opcode"), (1, 1, "flags"), (2, 2, "ioprio"), (4, 4, "fd"),
              (8, 8, "off"), (16, 8, "addr"), (24, 4, "len"), (28, 4, "op_flags"),
              (32, 8, "user_data"), (40, 2, "buf_index"), (42, 2, "personality"),
              (44, 4, "file_index"), (48, 16, "addr3, pad")]


def read_input():
    """The `name: value` lines of 01-syscalls/syscalls, as a dict."""
    text = ""
    mode = os.fstat(0).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISREG(mode):
        text = sys.stdin.read()
    if not text.strip():
        prog = os.path.join(ROOT, "01-syscalls", "syscalls")
        p = subprocess.run([prog, "4"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"ring-diagram: {prog} 4 failed (exit {p.returncode}):\n{p.stderr}")
        text = p.stdout
    facts = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            facts[key.strip()] = value.strip()
    facts.setdefault("kernel", platform.release())
    need = ["sq_entries", "cq_entries", "features"] + [f[0] for f in SQ_FIELDS + CQ_FIELDS] \
        + ["sq_off.array", "cq_off.cqes"]
    missing = [k for k in need if k not in facts]
    if missing:
        sys.exit("ring-diagram: the input lacks " + ", ".join(missing) +
                 " (expected the output of 01-syscalls/syscalls)")
    return text, facts


class Svg:
    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=13, anchor="start", weight="normal", fill="#222",
             family="sans-serif"):
        self.add(f'<text x="{x:g}" y="{y:g}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{fill}" font-family="{family}">'
                 f'{escape(s)}</text>')


class Column:
    """A mapping drawn as rows of ROW_BYTES bytes, starting at (x, y)."""

    def __init__(self, svg, x, y, size):
        self.svg, self.x, self.y, self.size = svg, x, y, size
        self.covered = [False] * size
        self.rows = (size + ROW_BYTES - 1) // ROW_BYTES
        self.height = self.rows * ROW_H
        for r in range(self.rows):
            off = r * ROW_BYTES
            svg.text(x - 10, y + r * ROW_H + ROW_H / 2 + 5, f"{off}", size=12,
                     anchor="end", fill="#555", family="monospace")

    def xy(self, off):
        return self.x + (off % ROW_BYTES) * PX, self.y + (off // ROW_BYTES) * ROW_H

    def field(self, name, label, off, nbytes, who, sub=None):
        """Draw a field of nbytes at byte offset off; returns its first rect."""
        fill, stroke, _ = WHO[who]
        for b in range(off, min(off + nbytes, self.size)):
            self.covered[b] = True
        first = None
        # Whole aligned rows merge into one box; anything else is split per row.
        if off % ROW_BYTES == 0 and nbytes % ROW_BYTES == 0:
            segs = [(off, nbytes)]
        else:
            segs, o = [], off
            while o < off + nbytes:
                n = min(ROW_BYTES - o % ROW_BYTES, off + nbytes - o)
                segs.append((o, n))
                o += n
        for i, (o, n) in enumerate(segs):
            x, y = self.xy(o)
            w = (n if n < ROW_BYTES or n % ROW_BYTES else ROW_BYTES) * PX
            h = ROW_H * max(1, n // ROW_BYTES) if n >= ROW_BYTES else ROW_H
            attrs = (f' data-field="{escape(name)}" data-offset="{off}" data-bytes="{nbytes}"'
                     if i == 0 else "")
            self.svg.add(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" '
                         f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"{attrs}/>')
            if first is None:
                first = (x, y, w, h)
        x, y, w, h = first
        fs = 13 if w >= 4 * PX else 11 if w >= 2 * PX else 9
        if w >= 2 * PX or len(label) <= 6:
            lines = [label] + ([sub] if sub else [])
            cy = y + h / 2 - (len(lines) - 1) * 7 + 5
            for k, line in enumerate(lines):
                self.svg.text(x + w / 2, cy + k * 15, line, size=fs if k == 0 else 11,
                              anchor="middle", weight="bold" if k == 0 else "normal",
                              fill="#111" if k == 0 else "#555")
        return first

    def hatch_gaps(self):
        """Hatch every byte no field covers: padding the kernel reports nothing about."""
        b = 0
        while b < self.size:
            if self.covered[b]:
                b += 1
                continue
            e = b
            while e < self.size and not self.covered[e] and (e == b or e % ROW_BYTES):
                e += 1
            x, y = self.xy(b)
            self.svg.add(f'<rect x="{x:g}" y="{y:g}" width="{(e - b) * PX:g}" '
                         f'height="{ROW_H}" fill="url(#hatch)" stroke="#bbb"/>')
            if e - b >= 4:
                self.svg.text(x + (e - b) * PX / 2, y + ROW_H / 2 + 5, "(padding)",
                              size=11, anchor="middle", fill="#777")
            b = e


def ring_fields(col, f, sq, cq, n_sq, n_cq):
    """Draw the fields of the SQ ring (if sq) and of the CQ ring (if cq)."""
    anchors = {}
    num = lambda k: int(f[k])
    for on, fields in ((sq, SQ_FIELDS), (cq, CQ_FIELDS)):
        if on:
            for key, label, size, who in fields:
                col.field(key, label, num(key), size, who, f"byte {num(key)}")
    if cq:
        base = num("cq_off.cqes")
        for i in range(n_cq):
            o = base + i * CQE_SIZE
            name = "cq_off.cqes" if i == 0 else f"cqes[{i}]"
            col.field(name, f"cqes[{i}].user_data", o, 8, "kernel",
                      f"byte {o}" if i == 0 else None)
            col.field(f"cqes[{i}].res", "res", o + 8, 4, "kernel")
            col.field(f"cqes[{i}].flags", "flags", o + 12, 4, "kernel")
    if sq:
        base = num("sq_off.array")
        for i in range(n_sq):
            o = base + 4 * i
            name = "sq_off.array" if i == 0 else f"array[{i}]"
            anchors[i] = col.field(name, f"array[{i}] = {i}", o, 4, "app",
                                   f"byte {o}" if i == 0 else None)
    col.hatch_gaps()
    return anchors


def draw(text, f):
    n_sq, n_cq = int(f["sq_entries"]), int(f["cq_entries"])
    single = "SINGLE_MMAP" in f["features"].split()
    sq_size = int(f["sq_off.array"]) + 4 * n_sq
    cq_size = int(f["cq_off.cqes"]) + CQE_SIZE * n_cq
    sqes_size = SQE_SIZE * n_sq
    col_w = ROW_BYTES * PX
    # The SQE array on the left and the rings on the right: then the
    # arrows from array[i] to SQE i can be drawn without crossing.
    x2 = GUTTER + 20
    x1 = x2 + col_w + GAP + GUTTER
    width = x1 + col_w + 30

    svg = Svg()
    arrows = []
    # Left column: one mapping for both rings, or (before Linux 5.4) two.
    if single:
        ring_size = max(sq_size, cq_size)
        maps = [("SQ ring and CQ ring: one mapping (IORING_FEAT_SINGLE_MMAP)",
                 f"mmap(ring_fd, IORING_OFF_SQ_RING, max({sq_size}, {cq_size}) = {ring_size} bytes)",
                 ring_size, True, True)]
    else:
        maps = [("SQ ring (no IORING_FEAT_SINGLE_MMAP: its own mapping)",
                 f"mmap(ring_fd, IORING_OFF_SQ_RING, {sq_size} bytes)", sq_size, True, False),
                ("CQ ring", f"mmap(ring_fd, IORING_OFF_CQ_RING, {cq_size} bytes)",
                 cq_size, False, True)]
    body = []
    y = TOP
    anchors = {}
    outer = svg
    for title, call, size, sq, cq in maps:
        svg = Svg()
        svg.text(x1, y - 30, title, size=15, weight="bold")
        svg.text(x1, y - 12, call, size=12, fill="#444", family="monospace")
        col = Column(svg, x1, y, size)
        a = ring_fields(col, f, sq, cq, n_sq, n_cq)
        anchors.update(a)
        body += svg.parts
        y += col.height + 80 + (20 + 11 * n_sq if sq and cq is False else 0)
    left_h = y - 80
    # Right column: the SQE array, its own mapping in every kernel.
    svg = Svg()
    svg.text(x2, TOP - 30, "SQE array: its own mapping", size=15, weight="bold")
    svg.text(x2, TOP - 12, f"mmap(ring_fd, IORING_OFF_SQES, {n_sq} x {SQE_SIZE} = "
             f"{sqes_size} bytes)", size=12, fill="#444", family="monospace")
    col = Column(svg, x2, TOP, sqes_size)
    sqe_boxes = {}
    for i in range(n_sq):
        o = i * SQE_SIZE
        if i == 0:
            for fo, fn, fl in SQE_FIELDS:
                col.field(f"sqes[0].{fl}", fl, o + fo, fn, "app")
            sqe_boxes[0] = col.xy(o) + (col_w, 4 * ROW_H)
        else:
            sqe_boxes[i] = col.field(f"sqes[{i}]", f"sqes[{i}]", o, SQE_SIZE, "app",
                                     "64 bytes: opcode, fd, off, addr, len, user_data ...")
    body += svg.parts
    right_h = TOP + col.height
    # The indirection: slot i of the SQ array names SQE array[i].
    # Each arrow drops out of the bottom of its array slot, runs left below
    # the rings (the leftmost slot highest) and turns up or down in the gap
    # (the leftmost slot nearest the rings), so no two arrows cross.
    step = min(22, (GAP - 40) / max(1, n_sq))
    # Slots in upper rows of a long array would cut through the row below:
    # only the last row gets arrows (all of them for 4 entries, the default).
    last_y = max((a[1] for a in anchors.values()), default=0)
    for i, (ax, ay, aw, ah) in anchors.items():
        if ay != last_y:
            continue
        sx, sy, sw, sh = sqe_boxes[i]
        x0, y0 = ax + aw / 2, ay + ah
        yb = y0 + 14 + 11 * (i % 4)
        xv = x2 + col_w + GAP - 20 - step * i
        xe, ye = sx + sw + 4, sy + min(sh, 4 * ROW_H) / 2
        arrows.append(f'<path d="M{x0:g},{y0:g} L{x0:g},{yb:g} L{xv:g},{yb:g} '
                      f'L{xv:g},{ye:g} L{xe:g},{ye:g}" fill="none" stroke="#2f6db5" '
                      f'stroke-width="1.6" stroke-linejoin="round" '
                      f'marker-end="url(#arrow)" opacity="0.9"/>')
        left_h = max(left_h, yb + 20)

    height = max(left_h, right_h) + 150
    ly = height - 110
    legend = Svg()
    lx = x2
    for who in ("app", "kernel", "setup"):
        fill, stroke, words = WHO[who]
        legend.add(f'<rect x="{lx}" y="{ly}" width="26" height="18" fill="{fill}" stroke="{stroke}"/>')
        legend.text(lx + 34, ly + 14, words, size=13)
        lx += 330
    legend.add(f'<rect x="{lx}" y="{ly}" width="26" height="18" fill="url(#hatch)" stroke="#bbb"/>')
    legend.text(lx + 34, ly + 14, "not described by any reported offset", size=13)
    notes = [
        "Drawn to scale from the offsets io_uring_setup(2) returned; numbers on the left are byte offsets "
        f"into each mapping, {ROW_BYTES} bytes per row.",
        "Heads and tails are free-running 32-bit counters: the slot they point at is counter & ring_mask. "
        "SQE and CQE sizes are from <linux/io_uring.h>.",
        "Arrows: the kernel takes ring slot head & mask, reads array[slot], and runs that SQE. "
        "Regenerate: python3 tools/ring-diagram.py > docs/img/ring-layout.svg",
    ]
    for k, line in enumerate(notes):
        legend.text(x2, ly + 44 + 18 * k, line, size=12, fill="#444")

    title = (f"io_uring ring layout: sq_entries={n_sq}, cq_entries={n_cq}, "
             f"as Linux {f['kernel']} reported it")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" data-bytes-per-row="{ROW_BYTES}" '
           f'data-px-per-byte="{PX}" data-row-height="{ROW_H}">',
           "<title>" + escape(title) + "</title>",
           # The input, so the drawing can be checked and regenerated.
           "<desc>" + escape(f"kernel: {f['kernel']}\n" + text.strip()) + "</desc>",
           '<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="8" height="8" fill="#f7f7f7"/>'
           '<line x1="0" y1="0" x2="0" y2="8" stroke="#cfcfcf" stroke-width="3"/></pattern>'
           '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#2f6db5"/></marker>'
           "</defs>",
           f'<rect width="{width}" height="{height}" fill="white"/>']
    hdr = Svg()
    hdr.text(x2, 36, title, size=19, weight="bold")
    out += hdr.parts + body + arrows + legend.parts + ["</svg>"]
    return "\n".join(out) + "\n"


def main():
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__)
        return 0
    text, facts = read_input()
    # Keep only the kernel's lines in <desc>: the fd number is noise.
    kept = "\n".join(l for l in text.splitlines()
                     if re.match(r"(sq_|cq_|features)", l))
    sys.stdout.write(draw(kept, facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
