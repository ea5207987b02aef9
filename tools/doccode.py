#!/usr/bin/env python3
"""doccode.py - keep the code in docs/ identical to the code in the stages.

A chapter never pastes code by hand.  It marks where code goes, and this
tool fills the block in from the source:

    <!-- code: 02-mmap-rings/uring.h sq_publish -->    a function (or
    ~~~c                                               "struct ring"), with
    ...                                                the // comment block
    ~~~                                                above it; or a whole
    <!-- /code -->                                     file if no name

    <!-- diff: 01-syscalls/uring.h 02-mmap-rings/uring.h -->
    ...                                                diff -u of two files
    <!-- /diff -->

    <!-- output: 01-syscalls ./syscalls 5 -->           a command run in a
    ...                                                stage folder, with
    <!-- /output -->                                   what it printed

  --write FILE...         refresh every block (make docs)
  --check FILE...         fail if a code or diff block has drifted, or names
                          a function that no longer exists (make check-docs)
  --check-output FILE...  run every output block's command again and fail
                          unless the output has the same shape: numbers may
                          differ (they are the kernel's), words may not.  A
                          block may list keys whose value may differ entirely:
                          <!-- output: 01-syscalls ./syscalls | vary=features -->
                          and the oldest kernel whose output it shows, older
                          ones leaving it unchecked (said on stderr):
                          <!-- output: 07-link-cp ./link-cp -v a b | kernel=5.17 -->
"""
import difflib
import os
import re
import subprocess
import tempfile
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(
    r"(<!-- (code|diff|output): (.*?) -->\n)(.*?)(<!-- /\2 -->)", re.S)


class DocError(Exception):
    pass


def read(path):
    full = os.path.join(ROOT, path)
    if not os.path.exists(full):
        raise DocError(f"{path}: no such file")
    with open(full) as f:
        return f.read()


def extract(path, name):
    """The definition of `name` in a C file, with the comments above it."""
    lines = read(path).split("\n")
    if name.startswith("struct "):
        start_re = re.compile(r"^" + re.escape(name) + r" \{$")
        end = "};"
    else:
        start_re = re.compile(r"^(?:\S.*[\s*])?" + re.escape(name) + r"\(")
        end = "}"
    for i, line in enumerate(lines):
        if (not start_re.match(line) or line.rstrip().endswith(";")
                or line.startswith(("//", "/*", " *"))):
            continue
        j = i
        while j < len(lines) and lines[j] != end:
            j += 1
        if j == len(lines):
            break
        k = i
        # the rest of a signature split over lines (attributes, return type)
        while k > 0 and lines[k - 1].strip() and not lines[k - 1].startswith(
                ("//", "}", "#", " ")) and not lines[k - 1].endswith(";"):
            k -= 1
        while k > 0 and lines[k - 1].startswith("//"):
            k -= 1
        return "\n".join(lines[k:j + 1])
    raise DocError(f"{path}: no definition of '{name}'")


def render_code(arg):
    parts = arg.split(None, 1)
    path = parts[0]
    body = extract(path, parts[1]) if len(parts) > 1 else read(path).rstrip("\n")
    lang = "make" if path.endswith("Makefile") else "c"
    return f"~~~{lang}\n{body}\n~~~\n"


def render_diff(arg):
    a, b = arg.split()
    diff = difflib.unified_diff(read(a).splitlines(), read(b).splitlines(),
                                a, b, lineterm="")
    return "~~~diff\n" + "\n".join(diff) + "\n~~~\n"


OPTIONS = re.compile(r" \| ((?:vary|kernel)=\S+(?: (?:vary|kernel)=\S+)*)$")


def parse_output(arg):
    """FOLDER CMD [| vary=KEY,... kernel=X.Y]: the folder, the command, the
    keys whose values may vary, and the oldest kernel that prints this."""
    opts = {}
    m = OPTIONS.search(arg)
    if m:
        arg = arg[:m.start()]
        opts = dict(o.split("=", 1) for o in m.group(1).split())
    folder, cmd = arg.split(None, 1)
    vary = [v for v in opts.get("vary", "").split(",") if v]
    return folder, cmd, vary, opts.get("kernel")


def kernel_below(version):
    """True if the running kernel is older than VERSION ("5.17")."""
    def key(v):
        return tuple(int(x) for x in re.findall(r"\d+", v)[:2])
    return key(os.uname().release) < key(version)


def run(folder, cmd):
    # A chapter may show files in /tmp (cp ... /tmp/cp-demo): the command
    # runs with a private folder of its own in place of /tmp, so that it
    # leaves nothing behind and never meets another user's files there.
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run(["bash", "-c", cmd.replace("/tmp/", tmp + "/")],
                           cwd=os.path.join(ROOT, folder),
                           env=dict(os.environ, TMPDIR=tmp),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
    return p.stdout.replace(tmp + "/", "/tmp/")


def render_output(arg):
    folder, cmd, _, _ = parse_output(arg)
    return f"~~~console\n$ {cmd}\n{run(folder, cmd)}~~~\n"


RENDER = {"code": render_code, "diff": render_diff, "output": render_output}


def shape(line, vary):
    for key in vary:
        if line.startswith(key + ":") or line.startswith(key + " "):
            return key
    return re.sub(r"0x[0-9a-f]+|\d+", "#", line)


def main(argv):
    if len(argv) < 2 or argv[0] not in ("--write", "--check", "--check-output"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, files = argv[0], argv[1:]
    failed = 0
    for doc in files:
        with open(doc) as f:
            text = f.read()

        def refresh(m):
            nonlocal failed
            opening, kind, arg, old, closing = m.groups()
            if kind == "output" and mode != "--write":
                if mode == "--check-output":
                    folder, cmd, vary, kernel = parse_output(arg)
                    if kernel and kernel_below(kernel):
                        # What it prints rests on a newer kernel (a feature
                        # bit, a file system's O_DIRECT): not checked here.
                        print(f"{doc}: not checked on {os.uname().release}: "
                              f"'{cmd}' shows Linux {kernel}+", file=sys.stderr)
                        return m.group(0)
                    shown = old.split("\n")[2:-2]
                    now = run(folder, cmd).rstrip("\n").split("\n")
                    if [shape(x, vary) for x in shown] != [shape(x, vary) for x in now]:
                        print(f"{doc}: the output of '{cmd}' has changed shape:", file=sys.stderr)
                        sys.stderr.writelines(difflib.unified_diff(
                            [x + "\n" for x in shown], [x + "\n" for x in now], "doc", "now"))
                        failed += 1
                return m.group(0)
            if kind != "output" and mode == "--check-output":
                return m.group(0)
            try:
                new = RENDER[kind](arg)
            except DocError as e:
                print(f"{doc}: {e}", file=sys.stderr)
                failed += 1
                return m.group(0)
            if mode == "--check" and new != old:
                print(f"{doc}: the {kind} block '{arg}' has drifted from the source "
                      "(run make docs)", file=sys.stderr)
                failed += 1
            return opening + new + closing

        new_text = BLOCK.sub(refresh, text)
        if mode == "--write" and new_text != text:
            with open(doc, "w") as f:
                f.write(new_text)
            print(f"doccode: refreshed {doc}")
    if mode == "--check" and not failed:
        print(f"check-docs: {len(files)} chapters match the source")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
