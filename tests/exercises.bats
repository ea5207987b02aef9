# tests/exercises.bats - the classroom tools (docs/teaching.md): make
# exercise, make grade and tools/grade-all, on fake submissions made from a
# starter and from a reference solution.  Not the exercises themselves:
# those are tagged exercise and left out of make test.
# bats file_tags=exercises
bats_require_minimum_version 1.8.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() { cd "$BATS_TEST_TMPDIR"; }

# A class of four: alice solved 3.1 (the reference), bob handed in the
# starter untouched, carol's copy does not build, dave handed in nothing.
make_class() {
    mkdir -p class/alice class/bob/exercises class/carol class/dave
    python3 "$ROOT/tools/exercise.py" apply 03-cat 3.1 class/alice/03-cat
    python3 "$ROOT/tools/exercise.py" start 03-cat class/bob/exercises/03-cat > /dev/null
    python3 "$ROOT/tools/exercise.py" start 03-cat class/carol/03-cat > /dev/null
    echo 'this is not C' >> class/carol/03-cat/cat.c
}

@test "grade-all: one line per student with the score, a failed build or a missing copy" {
    "$ROOT/01-syscalls/syscalls" > /dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    make_class
    run --separate-stderr "$ROOT/tools/grade-all" 03-cat class 3.1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 5 ]
    [[ "${lines[0]}" =~ ^student\ +03-cat\ 3\.1$ ]]
    [[ "${lines[1]}" =~ ^alice\ +10/10$ ]]
    [[ "${lines[2]}" =~ ^bob\ +0/10$ ]]
    [[ "${lines[3]}" =~ ^carol\ +build\ failed$ ]]
    [[ "${lines[4]}" =~ ^dave\ +no\ 03-cat/\ folder$ ]]
    # each student's full report is left beside the copy
    grep -q '^== \[5\] 3.1 (easy): .* == OK$' class/alice/grade-03-cat-3.1.txt
    grep -q '^== \[5\] 3.1 (easy): .* == FAIL$' class/bob/grade-03-cat-3.1.txt
    tail -n 1 class/bob/grade-03-cat-3.1.txt | grep -qx 'Score: 0/10'
}

@test "grade-all: a missing stage, a missing folder or no arguments is a usage error, exit 2" {
    mkdir class
    for args in "" "03-cat" "99-nope class" "03-cat nowhere" "03-cat class 3.1 extra"; do
        run --separate-stderr "$ROOT/tools/grade-all" $args
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"usage: tools/grade-all STAGE FOLDER [TASK]" ]]
    done
}

@test "make exercise: the starter has the chosen bodies cut, its helpers kept, and builds warning-free" {
    python3 "$ROOT/tools/exercise.py" start 04-cp ex/04-cp > /dev/null
    grep -q '// Exercise 4.0: write the body of read_done()' ex/04-cp/cp.c
    grep -q '// Exercise 4.0: write the body of write_done()' ex/04-cp/cp.c
    # fail() was called only from the cut bodies: kept, marked unused
    grep -q '^__attribute__((unused)) static void fail(' ex/04-cp/cp.c
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -fsyntax-only ex/04-cp/cp.c
}

@test "make grade: one line per test with OK or FAIL, the failing check, then Score: N/M" {
    "$ROOT/01-syscalls/syscalls" > /dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    command -v strace > /dev/null || skip "strace is not installed (package strace)"
    python3 "$ROOT/tools/exercise.py" start 03-cat ex/03-cat > /dev/null
    GRADE_ROOT=$PWD/ex run python3 "$ROOT/tools/exercise.py" grade 03-cat 3.2
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^== \[5\] 3.2 (moderate): .* == FAIL$' <<< "$output")" -eq 2 ]
    grep -q '^    `grep -q .IORING_OP_READ_FIXED. ' <<< "$output"
    [ "${lines[-1]}" = "Score: 0/10" ]
}

# ---- The grader is honest (tests/tools/grade-guard.c, tools/exercise.py) ----

io_uring_or_skip() {
    "$ROOT/01-syscalls/syscalls" > /dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
}

# cheat NAME: a copy of 03-cat in NAME/03-cat whose main() first runs C.
cheat() {
    mkdir -p "$1"
    cp -r "$ROOT/03-cat" "$1/03-cat"
    rm -f "$1/03-cat/cat"
    python3 - "$1/03-cat/cat.c" "$2" <<'PY'
import sys
p, code = sys.argv[1], sys.argv[2]
s = open(p).read()
head = "int main(int argc, char **argv)\n{\n"
assert head in s
s = "#include <string.h>\n#include <sys/wait.h>\n" + s.replace(head, head + code + "\n", 1)
open(p, "w").write(s)
PY
}

@test "make grade: -n handed to coreutils' cat scores 0 on 3.1; a cat that runs cat and exits 77 is shown SKIP and scores 0" {
    io_uring_or_skip
    cheat ncheat 'if (argc > 1 && !strcmp(argv[1], "-n")) execv("/usr/bin/cat", argv);'
    GRADE_ROOT=$PWD/ncheat run python3 "$ROOT/tools/exercise.py" grade 03-cat 3.1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "Score: 0/10" ]
    grep -q 'grade-guard: execve (running another program) is not allowed while grading' <<< "$output"
    cheat skip77 'pid_t p = fork(); if (p == 0) { execv("/usr/bin/cat", argv); _exit(127); } waitpid(p, NULL, 0); return 77;'
    GRADE_ROOT=$PWD/skip77 run python3 "$ROOT/tools/exercise.py" grade 03-cat 3.1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "Score: 0/10" ]
    grep -q '^== \[5\] 3.1 (easy): .* == SKIP (io_uring is not available here' <<< "$output"
    ! grep -q ' == OK$' <<< "$output"
}

@test "make grade: a cat that reads and writes with read(2) and write(2) scores nothing on the ring's tests" {
    io_uring_or_skip
    # The stage's cat, but every byte through read(2) and write(2).
    cheat plain 'char b[65536]; ssize_t n; int rc = 0; for (int i = 1; i < argc || i == 1; i++) { int fd = argc == 1 || !strcmp(argv[i], "-") ? 0 : open(argv[i], O_RDONLY); if (fd < 0) { rc = 1; continue; } while ((n = read(fd, b, sizeof b)) > 0) if (write(1, b, (size_t)n) < 0) return 1; if (argc == 1) break; } return rc;'
    GRADE_ROOT=$PWD/plain GRADE_FILTER='byte for byte|several files|copies stdin|- is stdin|reading stdin' run python3 "$ROOT/tools/exercise.py" grade 03-cat
    echo "$output"
    [ "$status" -eq 0 ]
    ! grep -q ' == OK$' <<< "$output"
    [[ "${lines[-1]}" =~ ^Score:\ 0/[0-9]+$ ]]
}

@test "make grade: where io_uring is forbidden it refuses to score, and says why" {
    [ -x "$ROOT/tests/tools/forbid-io-uring" ] || skip "tests/tools/forbid-io-uring was not built (make test builds it)"
    python3 "$ROOT/tools/exercise.py" apply 03-cat 3.1 ex/03-cat
    for err in EPERM ENOSYS; do
        GRADE_ROOT=$PWD/ex run --separate-stderr "$ROOT/tests/tools/forbid-io-uring" "$err" python3 "$ROOT/tools/exercise.py" grade 03-cat 3.1
        echo "$output"
        [ "$status" -eq 77 ]
        [[ "${lines[0]}" == "make grade: io_uring is not available on this machine"* ]]
        [ "${lines[-1]}" = "Score: none (grade on a machine where io_uring works)" ]
    done
    [[ "$output" == *"ENOSYS"* ]]
    mkdir class
    cp -r ex class/alice
    run --separate-stderr "$ROOT/tests/tools/forbid-io-uring" EPERM "$ROOT/tools/grade-all" 03-cat class 3.1
    [ "$status" -eq 77 ]
    [[ "$stderr" == *"nothing can be graded"*"seccomp"* ]]
}

@test "make grade: a test this machine cannot run (no strace) means no score, and the one command that fixes it" {
    io_uring_or_skip
    # A PATH with everything this one has, except strace.
    mkdir nostrace
    local d f
    IFS=: read -ra dirs <<< "$PATH"
    for d in "${dirs[@]}"; do
        for f in "$d"/*; do
            [ -x "$f" ] && [ "$(basename "$f")" != strace ] && [ ! -e "nostrace/$(basename "$f")" ] &&
                ln -s "$f" "nostrace/$(basename "$f")"
        done
    done
    python3 "$ROOT/tools/exercise.py" apply 03-cat 3.2 ex/03-cat
    GRADE_ROOT=$PWD/ex PATH=$PWD/nostrace run python3 "$ROOT/tools/exercise.py" grade 03-cat 3.2
    echo "$output"
    [ "$status" -eq 77 ]
    grep -q '== SKIP (strace is not installed (package strace))$' <<< "$output"
    [[ "${lines[-1]}" == "Score: none (2 tests cannot run on this machine: strace is not installed (package strace); apt-get install strace, then grade again)" ]]
}

@test "make grade: a wrong 5.0 that never wakes the poller fails its tests in bounded time, and leaves no process behind" {
    io_uring_or_skip
    python3 "$ROOT/tools/exercise.py" start 05-sqpoll ex/05-sqpoll > /dev/null
    sed -i 's/^    return true;$/    return false;/' ex/05-sqpoll/uring.h
    grep -q '^    return false;$' ex/05-sqpoll/uring.h
    # The tests that start the program in the background, behind a pipe.
    GRADE_ROOT=$PWD/ex TEST_TIMEOUT=3 GRADE_FILTER='SIGSTOP|a broken DST pipe still' \
        run timeout 300 python3 "$ROOT/tools/exercise.py" grade 05-sqpoll
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q ' == FAIL$' <<< "$output"
    ! pgrep -f "$PWD/ex/05-sqpoll/sqpoll"
}

@test "tools/grade-all: a CSV for the gradebook, skips counted, a student past the time limit killed whole" {
    io_uring_or_skip
    make_class
    cheat class/erin 'pid_t p = fork(); if (p == 0) { execv("/usr/bin/cat", argv); _exit(127); } waitpid(p, NULL, 0); return 77;'
    run --separate-stderr timeout 600 "$ROOT/tools/grade-all" 03-cat class 3.1
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [[ "${lines[5]}" =~ ^erin\ +0/10\ \ \(1\ SKIP\)$ ]]
    [ "$(grep -c '^grade-all: done: ' <<< "$stderr")" -eq 5 ]
    [ "$(head -n 1 class/grades-03-cat-3.1.csv)" = "student,stage,task,points,max,passed,failed,skipped,result" ]
    grep -qx 'alice,03-cat,3.1,10,10,2,0,0,graded' class/grades-03-cat-3.1.csv
    grep -qx 'bob,03-cat,3.1,0,10,0,2,0,graded' class/grades-03-cat-3.1.csv
    grep -qx 'carol,03-cat,3.1,0,,0,1,0,build failed' class/grades-03-cat-3.1.csv
    grep -qx 'dave,03-cat,3.1,,,,,,no copy' class/grades-03-cat-3.1.csv
    grep -qx 'erin,03-cat,3.1,0,10,0,1,1,graded' class/grades-03-cat-3.1.csv
    # frank's cat starts a process that never ends, in a session of its
    # own, and then never ends itself; his time is up before his tests'.
    cheat late/frank 'if (fork() == 0) { setsid(); for (;;) pause(); } for (;;) pause();'
    GRADE_LIMIT=3 TEST_TIMEOUT=120 run --separate-stderr timeout 300 "$ROOT/tools/grade-all" 03-cat late 3.1
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${lines[1]}" =~ ^frank\ +no\ score:\ not\ finished\ in\ 3\ s$ ]]
    grep -qx 'frank,03-cat,3.1,,,[0-9]*,[0-9]*,[0-9]*,time limit' late/grades-03-cat-3.1.csv
    ! pgrep -f "$PWD/late/frank/03-cat/cat"
}

@test "make exercise: T=3.1 copies the whole stage; an existing copy (a student's work) is never overwritten" {
    cd "$ROOT"
    dest=$BATS_TEST_TMPDIR/ex/03-cat
    python3 tools/exercise.py start 03-cat "$dest" 3.1
    cmp 03-cat/cat.c "$dest/cat.c"
    echo '// my work' >> "$dest/cat.c"
    run --separate-stderr python3 tools/exercise.py start 03-cat "$dest"
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"exists already (your work?)"* ]]
    tail -n 1 "$dest/cat.c" | grep -qx '// my work'
}

@test "make grade: GRADE_FIRST_FAIL=1 stops at the first failing test and says so; a passing copy is graded in full" {
    "$ROOT/01-syscalls/syscalls" > /dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    python3 "$ROOT/tools/exercise.py" start 04-cp ex/04-cp > /dev/null
    run env GRADE_FIRST_FAIL=1 TEST_TIMEOUT=3 GRADE_ROOT="$PWD/ex" python3 "$ROOT/tools/exercise.py" grade 04-cp
    echo "$output"
    local ran
    ran=$(grep -c '^== ' <<< "$output")
    # exactly one FAIL, and it is the last test reported
    [ "$(grep -c ' == FAIL$' <<< "$output")" -eq 1 ]
    [[ "$(grep '^== ' <<< "$output" | tail -n 1)" == *" == FAIL" ]]
    tail -n 1 <<< "$output" | grep -Eqx 'Score: [0-9]+/[0-9]+ \(stopped at the first failing test: GRADE_FIRST_FAIL\)'
    # the full grading of the same copy runs more tests than that
    run env TEST_TIMEOUT=3 GRADE_ROOT="$PWD/ex" python3 "$ROOT/tools/exercise.py" grade 04-cp
    [ "$(grep -c '^== ' <<< "$output")" -gt "$ran" ]
    # a reference solution is graded in full, and scores full marks
    python3 "$ROOT/tools/exercise.py" apply 04-cp 4.1 ref/04-cp
    run env GRADE_FIRST_FAIL=1 GRADE_ROOT="$PWD/ref" python3 "$ROOT/tools/exercise.py" grade 04-cp 4.1
    echo "$output"
    # (An ordinary user without strace cannot grade 4.1: the grader says so.)
    [[ "$(tail -n 1 <<< "$output")" != "Score: none"* ]] || skip "the first part passed; $(tail -n 1 <<< "$output")"
    tail -n 1 <<< "$output" | grep -qx 'Score: 10/10'
}
