# tests/helpers.bash - loaded by every tests/NN-name.bats
#
# STAGE is the file's own name (02-mmap-rings); STAGE_DIR is where its
# program was built.  URING_BIN_ROOT points elsewhere to test another
# build of the same sources (a sanitizer build, say).
STAGE=$(basename "$BATS_TEST_FILENAME" .bats)
TESTS_DIR=$(cd "$BATS_TEST_DIRNAME" && pwd)
STAGE_DIR=${URING_BIN_ROOT:-$TESTS_DIR/..}/$STAGE
SRC_DIR=$TESTS_DIR/../$STAGE
# PROG: the stage's program, as its Makefile names it (cp, echo-server);
# empty for a file that is not a stage's (tests/faults.bats sets its own).
PROG=
if [ -f "$SRC_DIR/Makefile" ]; then
    PROG=$(sed -n 's/^PROG *= *//p' "$SRC_DIR/Makefile")
fi
FORBID=$TESTS_DIR/tools/forbid-io-uring
MAXRSS=$TESTS_DIR/tools/maxrss
# No test may hang: io_uring_enter with nothing in flight sleeps forever.
TEST_TIMEOUT=${TEST_TIMEOUT:-30}

# bounded SECONDS CMD...: CMD under a time limit, and nothing CMD started
# outlives it (tests/tools/bounded.c): a wrong program left in the
# background by a shell line is killed when the line ends, so it cannot keep
# bats waiting.  timeout(1) is the fallback when the tool was not built.
# Every run below also closes fd 3, bats' own output, for what it starts.
if [ -x "$TESTS_DIR/tools/bounded" ]; then
    BOUNDED=$TESTS_DIR/tools/bounded
else
    BOUNDED="timeout -k 5"
fi

# need_tool CMD PACKAGE: skip unless CMD is installed, naming the package
# (tests/run gathers those names into one apt-get line at the end).
need_tool() {
    command -v "$1" >/dev/null || skip "$1 is not installed (package $2)"
}

# run_stage PROG [ARG]...: run the stage's program under timeout, stdout in
# $output, stderr in $stderr.  Exit 77 (io_uring not available) skips the
# test with the program's own reason instead of failing it.
run_stage() {
    local prog=$1
    shift
    run --separate-stderr $BOUNDED "$TEST_TIMEOUT" "$STAGE_DIR/$prog" "$@" 3>&-
    skip_if_unavailable
}

# run_stage_raw PROG [ARG]...: the same, without the skip (for tests of
# exit 77 itself).
run_stage_raw() {
    local prog=$1
    shift
    run --separate-stderr $BOUNDED "$TEST_TIMEOUT" "$STAGE_DIR/$prog" "$@" 3>&-
}

skip_if_unavailable() {
    if [ "$status" -eq 77 ]; then
        skip "io_uring is not available here: $(printf '%s' "$stderr" | head -n 1)"
    fi
    # make grade: a call the grader forbids (tests/tools/grade-guard.c)
    # stops the program; say which in the test's output.
    [[ "${stderr:-}" != *"grade-guard: "* ]] || printf '%s\n' "$stderr" | grep -m 1 'grade-guard: ' || true
}

# A shell pipeline or redirection around a stage program, under timeout.
# Exit 77 skips, as above.
run_sh() {
    run --separate-stderr $BOUNDED "$TEST_TIMEOUT" bash -c "$1" 3>&-
    skip_if_unavailable
}

# run_traced 'strace ... PROG ...': run_sh for a command line that runs a
# stage under strace (skipped when strace is missing).  In the sanitizer
# lane LeakSanitizer cannot work under a tracer, so it is off for this one.
run_traced() {
    need_tool strace strace
    require_io_uring
    run_sh "export ASAN_OPTIONS=\${ASAN_OPTIONS:-}:detect_leaks=0; $1"
}

# Skip unless io_uring works here at all (for tests that do not go
# through run_stage, such as strace pipelines).
require_io_uring() {
    local rc=0
    timeout 10 "$TESTS_DIR/../01-syscalls/syscalls" >/dev/null 2>&1 || rc=$?
    [ "$rc" -ne 77 ] || skip "io_uring is not available here"
}

# value NAME: the value of a "NAME: value" line in $output.
value() {
    printf '%s\n' "$output" | sed -n "s/^$1: //p"
}

is_power_of_two() {
    local n=$1
    [ "$n" -gt 0 ] && [ $((n & (n - 1))) -eq 0 ]
}

# The three io_uring-forbidden checks every stage repeats: EPERM (Docker's
# seccomp profile, kernel.io_uring_disabled) and ENOSYS (no io_uring).
# assert_forbidden ERR PROG [ARG]...
assert_forbidden() {
    local err=$1 prog=$2
    shift 2
    [ -x "$FORBID" ] || skip "tests/tools/forbid-io-uring was not built (make test builds it)"
    run --separate-stderr $BOUNDED "$TEST_TIMEOUT" "$FORBID" "$err" "$STAGE_DIR/$prog" "$@" 3>&-
    [ "$status" -eq 77 ]
    [ -z "$output" ]
    [[ "$stderr" == "$prog: io_uring is not available here: io_uring_setup: "* ]]
    if [ "$err" = EPERM ]; then
        [[ "$stderr" == *"Operation not permitted"* ]]
        [[ "$stderr" == *"seccomp"* || "$stderr" == *"io_uring_disabled"* ]]
    else
        [[ "$stderr" == *"Function not implemented"* ]]
        [[ "$stderr" == *"no io_uring"* ]]
    fi
}

# ---- The echo servers (06-echo-server, 09-multishot-echo, tests/faults.bats) ----

# start_server [ARG]...: start the stage's server, $STAGE_DIR/$PROG (06's
# echo-server, 09's multishot-echo, or the stage tests/faults.bats uses),
# on a free port in the background (ULIMIT_N=n lowers its fd limit first),
# wait up to 5 s for its "listening on" line and set PORT.  Skips when
# io_uring is unavailable.
start_server() {
    (
        [ -z "${ULIMIT_N:-}" ] || ulimit -n "$ULIMIT_N"
        exec "$STAGE_DIR/$PROG" -p 0 "$@"
    ) > server.out 2> server.err &
    SERVER_PID=$!
    local i rc
    for i in $(seq 100); do
        grep -q '^listening on ' server.out && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            rc=0
            wait "$SERVER_PID" || rc=$?
            SERVER_PID=
            [ "$rc" -ne 77 ] || skip "io_uring is not available here: $(head -n 1 server.err)"
            echo "the server exited with $rc: $(cat server.err)" >&2
            return 1
        fi
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' server.out)
    [ -n "$PORT" ] && [ "$PORT" -gt 0 ]
}

# await_traced_server TRACER: for a server started in the background under
# strace (TRACER is strace's pid; it writes server.out and server.err):
# wait up to 5 s for its "listening on" line, then set SERVER_PID (the
# traced server, strace's child) and PORT.  Skips when io_uring is
# unavailable; fails with the server's stderr when it did not start.
await_traced_server() {
    local tracer=$1 i
    for i in $(seq 100); do
        grep -q '^listening on ' server.out && break
        kill -0 "$tracer" 2>/dev/null || break
        sleep 0.05
    done
    grep -q '^listening on ' server.out || {
        grep -q 'io_uring is not available' server.err && skip "io_uring is not available here"
        cat server.err >&2
        return 1
    }
    SERVER_PID=$(awk '{ print $1 }' "/proc/$tracer/task/$tracer/children")
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' server.out)
}

# stop_server [SIGNAL]: signal the server, give it 5 s to exit, and set
# SERVER_STATUS (or "hung", after killing it).
stop_server() {
    kill -s "${1:-TERM}" "$SERVER_PID"
    local i
    for i in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID"
        SERVER_STATUS=hung
    else
        SERVER_STATUS=0
    fi
    wait "$SERVER_PID" || SERVER_STATUS=$?
    SERVER_PID=
}

# ---- faultfs: a FUSE file whose reads fail on cue (tests/tools/faultfs.c) ----
#
#   faultfs_mount DIR [OPTION]...   e.g. faultfs_mount mnt --source src --eio-at 300000
#   teardown() { faultfs_cleanup; }  in the .bats file (add to an existing teardown)
#
# faultfs_mount mounts faultfs on DIR (made if missing) with the tool's
# options; the file to read is then DIR/data and FAULTFS_PID the server's
# pid.  It skips the test, saying why, where FUSE cannot be had (not root,
# no /dev/fuse, mount refused: a container).  faultfs_cleanup unmounts
# every faultfs the test mounted and waits for its server to exit: call it
# from teardown, which runs even when the test failed.
FAULTFS=$TESTS_DIR/tools/faultfs
FAULTFS_MOUNTS=()

faultfs_mount() {
    local dir=$1 out rc=0
    shift
    [ -x "$FAULTFS" ] || skip "tests/tools/faultfs was not built (make test builds it)"
    [ "$(id -u)" -eq 0 ] || skip "faultfs mounts a FUSE file system: that needs root"
    [ -c /dev/fuse ] || skip "faultfs needs /dev/fuse, which is missing here"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    out=$(timeout "$TEST_TIMEOUT" "$FAULTFS" "$@" "$dir" 2>&1) || rc=$?
    [ "$rc" -ne 77 ] || skip "FUSE is not available here: $out"
    if [ "$rc" -ne 0 ]; then
        echo "faultfs $* $dir exited with $rc: $out" >&2
        return 1
    fi
    FAULTFS_MOUNTS+=("$dir $out")
    FAULTFS_PID=$out
}

# faultfs_mounted DIR: DIR is a mount point (even of a dead server, which
# mountpoint(1) would not see: its stat fails with ENOTCONN).
faultfs_mounted() {
    awk -v d="$1" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# faultfs_alive PID: the server runs (a zombie does not count: it is not
# our child, so we cannot reap it).
faultfs_alive() {
    [ -r "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status"
}

faultfs_cleanup() {
    local m dir pid i
    for m in "${FAULTFS_MOUNTS[@]}"; do
        dir=${m% *} pid=${m##* }
        if faultfs_mounted "$dir"; then
            umount "$dir" 2>/dev/null || umount -l "$dir"
        fi
        for i in $(seq 100); do
            faultfs_alive "$pid" || break
            sleep 0.05
        done
        if faultfs_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    FAULTFS_MOUNTS=()
}
