#!/usr/bin/env python3
"""exercise.py - classroom exercises generated from the stages themselves.

  exercise.py start STAGE [DEST [T]]  write the "build it yourself" starter
                                   of STAGE: a copy of the stage with the
                                   bodies of the functions its Makefile lists
                                   in EXERCISE (FILE:FUNC ...) taken out; for
                                   an extend-it task T (3.1), the whole stage.
                                   DEST (default exercises/STAGE) must not
                                   exist yet, unless FORCE=1
  exercise.py grade STAGE [T]      build the student's copy (with
                                   tests/tools/grade-guard.c linked in first)
                                   and run the stage's tests against it: one
                                   line per test, OK, FAIL or SKIP (a skip
                                   earns nothing), then Score: N/M, or
                                   "Score: none" and exit 77 where this
                                   machine cannot run every test
  exercise.py apply STAGE TASK DEST  copy STAGE to DEST and apply the
                                   reference solution solutions/STAGE/TASK.patch

EXERCISE items are FILE:FUNC, or FILE:FUNC=VALUE for a stub that must
return VALUE (05's sq_needs_wakeup=true: "always wake" is slow but never
hangs, so an unfinished starter fails its tests quickly).
Because the starter is cut from the reference at the moment it is made, it
can never drift from it.  Points: a test named "[5] 4.1 (easy): ..." is
worth 5; a stage test without a [N] is worth 1.  Task 2.0 (or 4.0 ...) is
"build it yourself": the stage's own tests.  Other tasks are "extend it":
the tests tagged exercise whose name holds the task number.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXERCISES = os.path.join(ROOT, "exercises")


def make_var(stage, name):
    with open(os.path.join(ROOT, stage, "Makefile")) as f:
        for line in f:
            m = re.match(rf"^{name}\s*=\s*(.*)$", line)
            if m:
                return m.group(1).split("#")[0].strip()
    return ""


def stub_for(signature):
    """A body that compiles warning-free for this signature."""
    m = re.match(r"(.*?)\b(\w+)\((.*)\)\s*$", signature, re.S)
    ret, params = m.group(1), m.group(3)
    lines = []
    for p in params.split(","):
        p = p.strip()
        if p and p != "void":
            name = re.findall(r"(\w+)(?:\[\])?$", p)[0]
            lines.append(f"    (void){name};")
    ret = re.sub(r"__attribute__\(\(.*?\)\)\)?|static|inline", "", ret).strip()
    if ret.endswith("*"):
        lines.append("    return 0;")
    elif ret.startswith("struct "):
        lines.append(f"    return ({ret}){{0}};")
    elif ret == "bool":
        lines.append("    return false;")
    elif ret != "void":
        lines.append("    return 0;")
    return lines


def cut(path, func, task, value=None):
    with open(path) as f:
        lines = f.read().split("\n")
    start = re.compile(r"^(?:\S.*[\s*])?" + re.escape(func) + r"\(")
    for i, line in enumerate(lines):
        if start.match(line) and not line.startswith(("//", "/*", " *")) \
                and not line.rstrip().endswith(";"):
            k = i
            while k > 0 and lines[k - 1].strip() and not lines[k - 1].startswith(
                    ("//", "}", "#", " ")) and not lines[k - 1].endswith(";"):
                k -= 1
            b = i
            while lines[b] != "{":
                b += 1
            e = b
            while lines[e] != "}":
                e += 1
            signature = " ".join(x.strip() for x in lines[k:b])
            body = [f"    // Exercise {task}: write the body of {func}().  The comment",
                    "    // above says what it must do; docs/ explains the rules.",
                    ] + [x for x in stub_for(signature)
                         if value is None or not x.startswith("    return")] \
                + ([] if value is None else [f"    return {value};"])
            lines[b + 1:e] = body
            with open(path, "w") as f:
                f.write("\n".join(lines))
            return
    sys.exit(f"exercise.py: no function {func} in {path}")


def strip_comments(text):
    """C text without its comments and string literals (for counting uses)."""
    return re.sub(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"', " ", text, flags=re.S)


def keep_helpers(path):
    """Mark the static functions that only the cut bodies called.

    Once a body is cut, a helper it alone called (queue_read() for
    queue_reads(), say) is never used, and -Wall warns about it.  The
    starter must build warning-free, and the student needs the helper, so
    it stays, marked __attribute__((unused)) with a line saying why.
    Returns the names marked."""
    with open(path) as f:
        lines = f.read().split("\n")
    uses = strip_comments("\n".join(lines))
    marked = []
    i = 0
    while i < len(lines):
        m = re.match(r"^(?:\S.*[\s*])?(\w+)\(", lines[i])
        if not m or m.group(1) == "__attribute__" \
                or lines[i].startswith(("//", "/*", " ", "#")) \
                or lines[i].rstrip().endswith(";"):
            i += 1
            continue
        b = i
        while b < len(lines) and lines[b] != "{" and not lines[b].rstrip().endswith(";") \
                and b - i < 8:
            b += 1
        if b == len(lines) or lines[b] != "{":
            i += 1
            continue
        k = i
        if k > 0 and lines[k - 1].strip() and not lines[k - 1].startswith(
                ("//", "}", "#", " ")) and not lines[k - 1].endswith(";"):
            k -= 1
        signature = " ".join(lines[k:b])
        name = m.group(1)
        if re.search(r"\bstatic\b", signature) and not re.search(r"\binline\b", signature) \
                and len(re.findall(rf"\b{re.escape(name)}\b", uses)) == 1:
            lines[k:k] = ["// (Marked unused only so that the starter builds warning-free:",
                          "// the code you write calls it.)"]
            lines[k + 2] = "__attribute__((unused)) " + lines[k + 2]
            marked.append(name)
            b += 2
        i = b + 1
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return marked


def copy_stage(stage, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    src = os.path.join(ROOT, stage)
    prog = make_var(stage, "PROG")
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(prog, "*.o"))


def start(stage, dest=None, task=None):
    dest = dest or os.path.join(EXERCISES, stage)
    if os.path.exists(dest) and not os.environ.get("FORCE"):
        sys.exit(f"exercise.py: {os.path.relpath(dest, ROOT)}/ exists already (your work?): "
                 f"move it away first, or make exercise ... FORCE=1 to overwrite it")
    if task and not task.endswith(".0"):
        # An extend-it task starts from the whole stage.
        if not os.path.exists(os.path.join(ROOT, "solutions", stage, task + ".patch")):
            sys.exit(f"exercise.py: {stage} has no task {task}")
        copy_stage(stage, dest)
        print(f"exercise {task}: {os.path.relpath(dest, ROOT)}/ is your copy of {stage}, whole.\n"
              f"Add what the task asks, then: make grade STAGE={stage} T={task}")
        return
    spec = make_var(stage, "EXERCISE")
    if not spec:
        sys.exit(f"exercise.py: {stage} has no build-it-yourself exercise")
    copy_stage(stage, dest)
    task = f"{int(stage[:2])}.0"
    # FILE:FUNC, or FILE:FUNC=VALUE when the stub must return VALUE rather
    # than zero (a zero would make the starter hang instead of fail).
    for item in spec.split():
        fname, func = item.split(":")
        func, _, value = func.partition("=")
        cut(os.path.join(dest, fname), func, task, value or None)
    for fname in sorted({item.split(":")[0] for item in spec.split()}):
        keep_helpers(os.path.join(dest, fname))
    print(f"exercise {task}: {os.path.relpath(dest, ROOT)}/ is your copy of {stage}, "
          f"with {', '.join(i.split(':')[1].split('=')[0] + '()' for i in spec.split())} taken out.\n"
          f"Write them, then: make grade STAGE={stage}")


def apply(stage, task, dest):
    copy_stage(stage, dest)
    patch = os.path.join(ROOT, "solutions", stage, task + ".patch")
    subprocess.run(["patch", "-s", "-p1", "-d", dest, "-i", patch], check=True)


def io_uring_here():
    """None if io_uring works on this machine, else why not (one line).

    Asked of the kernel directly (io_uring_setup is 425 on every
    architecture), not of the student's program: a program that exits 77
    where io_uring works has its tests shown as SKIP, earning nothing."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    fd = libc.syscall(425, 1, params)
    if fd >= 0:
        os.close(fd)
        return None
    err = ctypes.get_errno()
    if err == 38:  # ENOSYS
        return "io_uring_setup: ENOSYS: this kernel has no io_uring (Linux 5.6+ needed)"
    if err == 1:  # EPERM
        try:
            with open("/proc/sys/kernel/io_uring_disabled") as f:
                if f.read().strip() not in ("", "0"):
                    return "io_uring_setup: EPERM: the sysctl kernel.io_uring_disabled forbids it"
        except OSError:
            pass
        return ("io_uring_setup: EPERM: a seccomp filter forbids it (Docker's default "
                "profile does: grade outside it, or with a profile that allows io_uring)")
    return f"io_uring_setup: {os.strerror(err)}"


def find_bats():
    p = subprocess.run([os.path.join(ROOT, "tools/bats/find-bats")],
                       stdout=subprocess.PIPE, text=True)
    if p.returncode:
        sys.exit(3)  # find-bats said why
    return p.stdout.strip()


# How long one grading may take in all, and each test: bounds that say
# "hung", never speed limits (a correct solution takes seconds).
GRADE_LIMIT = int(os.environ.get("GRADE_LIMIT", "600"))


def become_subreaper():
    """Orphans of what we start are re-parented to us, not to init, so that
    kill_orphans() finds a student's process even in a session of its own."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def kill_orphans():
    """Kill and reap every child left (orphans re-parented to us)."""
    me = os.getpid()
    while True:
        try:
            with open(f"/proc/{me}/task/{me}/children") as f:
                pids = [int(x) for x in f.read().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def grade(stage, task=None, root=EXERCISES):
    """Build and grade root/stage.  Prints one line per test (OK, FAIL or
    SKIP), then "Score: N/M".  Refuses to score (exit 77, "Score: none")
    where the machine cannot run every test: io_uring unavailable, or a
    test skipped for want of a tool or a machine feature.  A skip the
    student's program caused (exit 77 where io_uring works) earns nothing."""
    folder = os.path.join(root, stage)
    if not os.path.isdir(folder):
        sys.exit(f"exercise.py: no {os.path.relpath(folder, ROOT)}/ yet: "
                 f"run make exercise STAGE={stage} first")
    why = io_uring_here()
    if why:
        print(f"make grade: io_uring is not available on this machine, so no test of "
              f"{stage} can run: {why}\nScore: none (grade on a machine where io_uring works)")
        return 77
    prog = make_var(stage, "PROG")
    # The grade guard goes in first: before main() it forbids running
    # another program and moving data without the ring.
    build = subprocess.run(
        ["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-Wall", "-Wextra",
         f"-DGUARD_STAGE={int(stage[:2])}", "-o", os.path.join(folder, prog),
         os.path.join(ROOT, "tests/tools/grade-guard.c"), os.path.join(folder, prog + ".c")],
        capture_output=True, text=True)
    if build.returncode:
        print(build.stderr, end="")
        print(f"== build of {prog} == FAIL\nScore: 0/?")
        return 1
    bats = find_bats()
    if task and not task.endswith(".0"):
        tags = "exercise"
    else:
        tags = "!exercise"
    # Each command of a test may take TEST_TIMEOUT s (30, as in make test: a
    # correct program needs a few at most, even on a busy machine), and an
    # echo client waits ECHO_PATIENCE s for a byte of progress (3, where
    # make test waits 10): a server that never answers costs each test
    # seconds, not minutes.  A slow or emulated machine sets more:
    # TEST_TIMEOUT=120 ECHO_PATIENCE=10 make grade ...
    timeout = int(os.environ.get("TEST_TIMEOUT", "30"))
    # (No BATS_TEST_TIMEOUT: bats 1.8's watchdog doubles the time of a run,
    # and tests/tools/bounded already ends every command of a test.)
    # Nothing of a bats run around this one (our own tests grade, too) may
    # reach this one: its BATS_* variables would be taken as its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATS_")}
    env.update(URING_BIN_ROOT=root, TEST_TIMEOUT=str(timeout),
               ECHO_PATIENCE=os.environ.get("ECHO_PATIENCE", "3"))
    cmd = [bats, "--tap", "--filter-tags", tags, os.path.join(ROOT, "tests", stage + ".bats")]
    if task and not task.endswith(".0"):
        cmd[1:1] = ["--filter", re.escape(task)]
    elif os.environ.get("GRADE_FILTER"):
        # only the tests whose name matches (to re-run one test by hand)
        cmd[1:1] = ["--filter", os.environ["GRADE_FILTER"]]
    # GRADE_FIRST_FAIL=1 stops at the first failing test (tools/check-exercises
    # needs only to know that a starter does not pass everything; the 03-cat
    # starter took two minutes to grade in full).  The score then counts the
    # tests that ran, and says so.
    first_fail = os.environ.get("GRADE_FIRST_FAIL") == "1"
    # Its own session, so that whatever is left of it can be killed whole.
    become_subreaper()
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL, text=True, env=env,
                             start_new_session=True)
        state = {"hung": False}

        def kill_all(hung):
            state["hung"] = state["hung"] or hung
            try:
                os.killpg(p.pid, 9)
            except ProcessLookupError:
                pass

        watchdog = threading.Timer(GRADE_LIMIT, kill_all, args=(True,))
        watchdog.start()
        lines, stopped = [], False
        try:
            for line in p.stdout:
                if stopped and not line.startswith("#"):
                    break  # the failing test's diagnostics ("#") are read
                lines.append(line.rstrip("\n"))
                if first_fail and line.startswith("not ok "):
                    stopped = True
            if stopped:
                kill_all(False)
            p.stdout.close()
            p.wait()
        finally:
            watchdog.cancel()
            kill_all(False)
            kill_orphans()
        hung = state["hung"]
        err.seek(0)
        errors = err.read()
    tap = "\n".join(lines)
    score = total = 0
    current = None
    machine_skips = []
    for line in tap.split("\n"):
        m = re.match(r"^(not ok|ok) \d+ (.*?)(?: # skip ?(.*))?$", line)
        if m:
            ok, name, reason = m.group(1) == "ok", m.group(2), m.group(3)
            skipped = ok and line.split(" # skip", 1)[1:] != []
            pts = re.match(r"^\[(\d+)\]", name)
            pts = int(pts.group(1)) if pts else 1
            total += pts
            if skipped:
                reason = reason or "no reason given"
                print(f"== {name} == SKIP ({reason})")
                # io_uring works here (checked above): a program that says
                # otherwise skipped its own test.  Any other skip is this
                # machine's: a missing tool, no ::1, a small ulimit -l.
                if not reason.startswith("io_uring is not available here"):
                    machine_skips.append(reason)
            else:
                score += pts if ok else 0
                print(f"== {name} == {'OK' if ok else 'FAIL'}")
            current = not ok
        elif current and line.startswith("#"):
            print("    " + line.lstrip("# "))
    if hung:
        print(f"Score: none (the tests did not finish in {GRADE_LIMIT} s: killed; GRADE_LIMIT sets it)")
        return 1
    if total == 0:
        print("\n".join(errors.strip().split("\n")[-5:]))
        print("Score: none (no test ran: is the task number right?)")
        return 1
    if machine_skips:
        pkgs = sorted(set(re.findall(r"\(package ([\w.+-]+)\)", " ".join(machine_skips))))
        fix = f"; apt-get install {' '.join(pkgs)}, then grade again" if pkgs else ""
        reasons = "; ".join(sorted(set(machine_skips)))
        print(f"Score: none ({len(machine_skips)} tests cannot run on this machine: {reasons}{fix})")
        return 77
    if stopped:
        print(f"Score: {score}/{total} (stopped at the first failing test: GRADE_FIRST_FAIL)")
    else:
        print(f"Score: {score}/{total}")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "start":
        start(argv[1], argv[2] if len(argv) > 2 and argv[2] else None,
              argv[3] if len(argv) > 3 and argv[3] else None)
    elif len(argv) >= 2 and argv[0] == "grade":
        return grade(argv[1], argv[2] if len(argv) > 2 and argv[2] else None,
                     os.environ.get("GRADE_ROOT", EXERCISES))
    elif len(argv) == 4 and argv[0] == "apply":
        apply(argv[1], argv[2], argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
