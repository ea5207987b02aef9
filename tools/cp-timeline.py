#!/usr/bin/env python3
"""cp-timeline.py - draw a `cp -v` log as a timeline of its requests.

    CP_DELAY_FIRST=50 04-cp/cp -v -q 4 -b 16384 SRC DST 2> cp.log
    python3 tools/cp-timeline.py cp.log docs/img/04-cp-timeline.svg

Nothing is placed by hand: every bar is one request of the log, drawn from
the event that submitted it to the event that completed it, in the row of
the block (buffer) it used; the timeout of CP_DELAY_FIRST has a row of its
own.  The horizontal axis is the order of events in the log, not time: a
timeout of 50 ms next to copies of a few microseconds would squash
everything else to a line.  The time of every tenth event is printed
under the axis instead.  A completion that overtook a request submitted
before it ("out of order" in the log) is drawn as a red dot.  The log
itself is kept in the SVG's <desc>.  Plain SVG, standard library only.
"""
import re
import sys
from html import escape

EVENT = re.compile(r"^cp: \[ *([0-9.]+) ms\] (submit|complete) +#(\d+) (\w+)\s*(.*)$")
SUMMARY = re.compile(r"^cp: (\d+) requests, (\d+) completions, (\d+) out of submission order$")

DX = 22          # pixels per event
ROW = 34         # pixels per row
LEFT = 96        # room for the row labels
TOP = 92         # title and legend
COLOURS = {"read": "#4a90d9", "write": "#e8a33d", "timeout": "#9b9b9b"}


def parse(text):
    events, requests, summary = [], {}, None
    for line in text.splitlines():
        m = EVENT.match(line)
        if m:
            ms, kind, req, op, rest = m.groups()
            req = int(req)
            events.append((float(ms), kind, req))
            r = requests.setdefault(req, {"op": op})
            r[kind] = len(events) - 1
            r[kind + "_ms"] = float(ms)
            b = re.search(r"block (\d+)", rest)
            if b:
                r["block"] = int(b.group(1))
            o = re.search(r"offset (\d+)", rest)
            if o:
                r["offset"] = int(o.group(1))
            res = re.search(r"res (-?\d+)", rest)
            if res:
                r["res"] = int(res.group(1))
            if "out of order" in rest:
                r["reordered"] = True
        m = SUMMARY.match(line)
        if m:
            summary = tuple(int(x) for x in m.groups())
    return events, requests, summary


def kib(n):
    return f"{n // 1024}K" if n % 1024 == 0 else f"{n}"


def draw(text):
    events, requests, summary = parse(text)
    if not events:
        sys.exit("cp-timeline.py: no 'cp -v' events in the log")
    blocks = sorted({r["block"] for r in requests.values() if "block" in r})
    has_timeout = any(r["op"] == "timeout" for r in requests.values())
    rows = (["timeout"] if has_timeout else []) + [f"block {b}" for b in blocks]
    width = LEFT + DX * (len(events) + 1) + 20
    height = TOP + ROW * len(rows) + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           f"<desc>{escape(text)}</desc>",
           f'<rect width="{width}" height="{height}" fill="white"/>']

    def txt(x, y, s, size=12, anchor="start", fill="#222", weight="normal"):
        out.append(f'<text x="{x:g}" y="{y:g}" font-size="{size}" fill="{fill}" '
                   f'text-anchor="{anchor}" font-weight="{weight}">{escape(s)}</text>')

    title = "cp -v: each request from submission to completion"
    if summary:
        title += f" ({summary[0]} requests, {summary[2]} completed out of submission order)"
    txt(12, 24, title, size=15, weight="bold")
    lx = 12
    for op, colour in COLOURS.items():
        if op == "timeout" and not has_timeout:
            continue
        out.append(f'<rect x="{lx}" y="40" width="18" height="12" fill="{colour}"/>')
        txt(lx + 24, 51, op)
        lx += 90
    out.append(f'<circle cx="{lx + 6}" cy="46" r="5" fill="#d0021b"/>')
    txt(lx + 16, 51, "completed before a request submitted earlier")
    txt(12, 72, "Bars: #request and file offset.  Across: the order of events in the log "
        "(not to scale in time).", size=11, fill="#555")

    for i, name in enumerate(rows):
        y = TOP + i * ROW
        txt(LEFT - 10, y + ROW / 2 + 4, name, anchor="end")
        out.append(f'<line x1="{LEFT}" y1="{y + ROW:g}" x2="{width - 20}" y2="{y + ROW:g}" '
                   f'stroke="#eee"/>')
    for req, r in sorted(requests.items()):
        if "submit" not in r:
            continue
        row = rows.index("timeout") if r["op"] == "timeout" else rows.index(f"block {r['block']}")
        x0 = LEFT + DX * (r["submit"] + 0.5)
        x1 = LEFT + DX * (r.get("complete", len(events)) + 0.5)
        y = TOP + row * ROW + 6
        out.append(f'<rect x="{x0:g}" y="{y}" width="{max(x1 - x0, 3):g}" height="{ROW - 12}" '
                   f'rx="3" fill="{COLOURS.get(r["op"], "#777")}" data-request="{req}" '
                   f'data-op="{r["op"]}"/>')
        label = f"#{req}"
        if "offset" in r and r["op"] != "timeout":
            label += f" {'R' if r['op'] == 'read' else 'W'} {kib(r['offset'])}"
        if x1 - x0 < 7 * len(label) + 8:
            label = f"#{req}"
        if x1 - x0 >= 7 * len(label) + 8:
            txt((x0 + x1) / 2, y + ROW / 2, label, size=11, anchor="middle")
        if r.get("reordered") and "complete" in r:
            out.append(f'<circle cx="{x1:g}" cy="{y + (ROW - 12) / 2:g}" r="5" fill="#d0021b"/>')
    axis = TOP + ROW * len(rows) + 8
    out.append(f'<line x1="{LEFT}" y1="{axis}" x2="{width - 20}" y2="{axis}" stroke="#888"/>')
    for i, (ms, _, _) in enumerate(events):
        if i % 10 == 0 or i == len(events) - 1:
            x = LEFT + DX * (i + 0.5)
            out.append(f'<line x1="{x:g}" y1="{axis}" x2="{x:g}" y2="{axis + 5}" stroke="#888"/>')
            txt(x, axis + 18, f"{ms:.2f} ms", size=10, anchor="middle", fill="#555")
    txt(LEFT, axis + 40, "event", size=11, fill="#555")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        svg = draw(f.read())
    if len(argv) == 2:
        with open(argv[1], "w") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
