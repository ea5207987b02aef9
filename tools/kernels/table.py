#!/usr/bin/env python3
"""tools/kernels/table.py OUT.md FILES RUN_DIR...: the kernel x test file table.

Each RUN_DIR holds one kernel's run: `label` (the column's title), `log`
(the output tools/kernels/init writes: TAP streams between "## begin FILE"
and "## end FILE STATUS" lines, "## done" at the very end), `result` ("ok",
or why the run ended early: "hung", "no boot") and `seconds`.  FILES are the
test files that were asked for, in order (rows).  A cell is passed/total
with the skipped and failed counts; below the table comes every failing or
skipped test with its reason.  Prints the markdown and writes it to OUT.md.
Exits 1 when any test failed or any run did not finish, else 0.
"""
import os
import re
import sys
import time


class FileRun:
    def __init__(self):
        self.total = None               # from the plan line 1..N
        self.passed, self.skipped, self.failed = [], [], []
        self.status = None              # the "## end" status, None if unfinished
        self.last = None                # the last test that finished


def parse(path):
    """{file: FileRun}, the kernel line, and whether "## done" was seen."""
    runs, cur, kernel, done, diag = {}, None, "", False, None
    sysctls = []
    try:
        text = open(path, errors="replace").read()
    except OSError:
        text = ""
    for line in text.replace("\r", "").split("\n"):
        if line.startswith("## kernel "):
            kernel = line[len("## kernel "):]
        elif line.startswith("## begin "):
            cur = runs.setdefault(line.split()[2], FileRun())
        elif line.startswith("## end ") and cur is not None:
            cur.status = int(line.split()[3]) if line.split()[3].isdigit() else 1
            cur = None
        elif line.startswith("## sysctl "):
            sysctls.append(line[len("## sysctl "):])
        elif line == "## done":
            done = True
        elif cur is None:
            continue
        elif re.match(r"^1\.\.\d+$", line):
            cur.total = int(line[3:])
        elif m := re.match(r"^ok \d+ (.*?) # skip ?(.*)$", line):
            cur.skipped.append((m.group(1), m.group(2) or "(no reason given)"))
            cur.last, diag = m.group(1), None
        elif m := re.match(r"^ok \d+ (.*)$", line):
            cur.passed.append(m.group(1))
            cur.last, diag = m.group(1), None
        elif m := re.match(r"^not ok \d+ (.*)$", line):
            diag = [m.group(1), ""]
            cur.failed.append(diag)
            cur.last = m.group(1)
        elif diag is not None and line.startswith("# "):
            # bats names the failed command: "#   `[ "$status" -eq 0 ]' failed".
            # The first such line says why; later ones are the test's output.
            s = line[2:].strip()
            m = re.match(r"^`(.*)' (failed.*)$", s)
            if not diag[1] and m:
                diag[1] = "`%s` %s" % (m.group(1), m.group(2))
    return runs, kernel, done, sysctls


def cell(fr, finished):
    if fr is None:
        return "not run" if finished else "not reached"
    n = fr.total if fr.total is not None else len(fr.passed) + len(fr.skipped) + len(fr.failed)
    s = "%d/%d" % (len(fr.passed), n)
    extra = []
    if fr.skipped:
        extra.append("%d skipped" % len(fr.skipped))
    if fr.failed:
        extra.append("%d failed" % len(fr.failed))
    if fr.status is None:
        extra.append("hung in test %d" % (len(fr.passed) + len(fr.skipped) + len(fr.failed) + 1))
    elif fr.status != 0 and not fr.failed:
        extra.append("exit %d" % fr.status)
    return s + (" (" + ", ".join(extra) + ")" if extra else "")


def main():
    out, files, dirs = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
    cols = []
    for d in dirs:
        rd = lambda n, dflt="": (open(os.path.join(d, n)).read().strip()
                                 if os.path.exists(os.path.join(d, n)) else dflt)
        runs, kernel, done, sysctls = parse(os.path.join(d, "log"))
        cols.append(dict(label=rd("label", os.path.basename(d)), runs=runs, kernel=kernel,
                         sysctls=sysctls,
                         done=done, result=rd("result", "?"), seconds=rd("seconds", "")))
    bad = False
    lines = ["Test results by kernel, %s (tools/test-kernels)." % time.strftime("%Y-%m-%d"), ""]
    lines.append("| test file | " + " | ".join(c["label"] for c in cols) + " |")
    lines.append("|---|" + "---|" * len(cols))
    for f in files:
        row = []
        for c in cols:
            fr = c["runs"].get(f)
            row.append(cell(fr, c["done"]))
            if fr is None or fr.failed or fr.status is None or fr.status != 0:
                bad = True
        lines.append("| %s | %s |" % (f, " | ".join(row)))
    tot = []
    for c in cols:
        p = sum(len(r.passed) for r in c["runs"].values())
        n = sum(r.total or 0 for r in c["runs"].values())
        sk = sum(len(r.skipped) for r in c["runs"].values())
        fl = sum(len(r.failed) for r in c["runs"].values())
        tot.append("**%d/%d**%s" % (p, n, " (%d skipped, %d failed)" % (sk, fl) if sk or fl else ""))
    lines.append("| all | " + " | ".join(tot) + " |")
    lines.append("")
    for c in cols:
        mins = ""
        if c["seconds"]:
            mins = ", %d min %02d s" % divmod(int(c["seconds"]), 60)
        head = "**%s** (`%s`%s)" % (c["label"], c["kernel"] or "no output", mins)
        notes = []
        if c["result"] != "ok":
            bad = True
            notes.append("- the run did not finish: %s" % c["result"])
        elif not c["done"]:
            bad = True
            notes.append("- the run did not finish (no end marker in its log)")
        for sc in c["sysctls"]:
            if not sc.endswith(" ok"):
                bad = True
            notes.append("- sysctl %s" % sc)
        for f in files:
            fr = c["runs"].get(f)
            if fr is None:
                continue
            for name, why in fr.failed:
                notes.append("- %s: FAILED `%s`%s" % (f, name, " (" + why + ")" if why else ""))
            for name, why in fr.skipped:
                notes.append("- %s: skipped `%s`: %s" % (f, name, why))
            if fr.status is None:
                notes.append("- %s: HUNG after %s (the last test that finished: `%s`)"
                             % (f, "%d of %s tests" % (len(fr.passed) + len(fr.skipped)
                                                       + len(fr.failed), fr.total or "?"),
                                fr.last or "none"))
        lines.append(head + (":" if notes else ": every test passed."))
        lines.extend(notes)
        lines.append("")
    text = "\n".join(lines)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
