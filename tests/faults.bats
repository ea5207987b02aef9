# tests/faults.bats - injected faults, run against the program of every stage
# bats file_tags=faults
#
# Not a stage's file: it runs the programs of all the stages that exist
# (a stage's rows skip while its folder is absent), from URING_BIN_ROOT when
# that is set, so make sanitize runs it against the sanitizer builds too.
# Each test injects one fault and checks exactly what the program does:
#   - a tiny ring (02's 4 entries, cp/sqpoll -q 1, ECHO_SERVER_ENTRIES=1/2):
#     a full SQ and an overflowing CQ;
#   - io_uring_enter interrupted: SIGSTOP/SIGCONT bursts, ignored signals,
#     a tracer attaching (strace -p), EINTR injected (strace -e inject);
#   - a destination that fills up: a 1 MiB tmpfs (root only), /dev/full;
#   - reads that fail with EIO: /proc/self/mem;
#   - short reads and writes: 4 KiB pipes, fed and drained in random bits;
#   - io_uring forbidden, or only SQPOLL refused: nothing left behind;
#   - random command lines (fixed seed) for every argument parser.
bats_require_minimum_version 1.8.0
load helpers

BIN_ROOT=${URING_BIN_ROOT:-$TESTS_DIR/..}
REFUSE_SQPOLL=$TESTS_DIR/tools/refuse-sqpoll.so

# The tools the tests share, written once into the file's scratch folder:
#   pipes.py  runs a program between two 4 KiB pipes, trickling a file into
#             its stdin (or into a FIFO) and draining its stdout slowly, in
#             random-sized bits from a fixed seed;
#   poke      sends signals (or attaches strace) to a process over and over
#             while it lives;
#   echo-client, as tests/06-echo-server.bats builds it.
setup_file() {
    cat > "$BATS_FILE_TMPDIR/pipes.py" <<'EOF'
# pipes.py [--feed FILE [--fifo PATH]] [--drain FILE] [--seed N] [--chunk N]
#          [--pause S] [--pidfile F] -- PROG [ARG]...
# Exits with PROG's status (128 + N when signal N killed it).
import argparse, fcntl, os, random, subprocess, sys, threading, time
F_SETPIPE_SZ = 1031
ap = argparse.ArgumentParser()
ap.add_argument('--feed')
ap.add_argument('--fifo')
ap.add_argument('--drain')
ap.add_argument('--seed', type=int, default=7)
ap.add_argument('--chunk', type=int, default=4096)
ap.add_argument('--pause', type=float, default=0.001)
ap.add_argument('--pidfile')
ap.add_argument('cmd', nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd[:1] == ['--'] else a.cmd

def small(fd):
    # 4096 is the least a pipe can be; it fails only if it holds more now.
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)
    except OSError:
        pass

def feed(fd, data, rnd):
    i = n = 0
    try:
        while i < len(data):
            i += os.write(fd, data[i:i + rnd.randint(1, a.chunk)])
            n += 1
            if n % 4 == 0:
                time.sleep(a.pause)
    except BrokenPipeError:
        pass
    os.close(fd)

def feed_fifo(data, rnd):
    fd = os.open(a.fifo, os.O_WRONLY)  # until the program opens it
    small(fd)
    feed(fd, data, rnd)

stdin, stdout, feeder = subprocess.DEVNULL, None, None
data = open(a.feed, 'rb').read() if a.feed else b''
if a.feed and a.fifo:
    feeder = threading.Thread(target=feed_fifo, daemon=True,
                              args=(data, random.Random(a.seed)))
elif a.feed:
    stdin, w = os.pipe()
    small(w)
    feeder = threading.Thread(target=feed, daemon=True,
                              args=(w, data, random.Random(a.seed)))
if a.drain:
    r, stdout = os.pipe()
    small(r)
p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout)
if a.pidfile:
    with open(a.pidfile + '.tmp', 'w') as f:
        f.write('%d\n' % p.pid)
    os.rename(a.pidfile + '.tmp', a.pidfile)
for fd in (stdin, stdout):
    if isinstance(fd, int) and fd >= 0:
        os.close(fd)
if feeder:
    feeder.start()
if a.drain:
    rnd = random.Random(a.seed + 1)
    n = 0
    with open(a.drain, 'wb') as out:
        while True:
            b = os.read(r, rnd.randint(1, a.chunk))
            if not b:
                break
            out.write(b)
            n += 1
            if n % 4 == 0:
                time.sleep(a.pause)
rc = p.wait()
if feeder:
    feeder.join(5)
sys.stdout.flush()
os._exit(128 - rc if rc < 0 else rc)
EOF
    cat > "$BATS_FILE_TMPDIR/poke" <<'EOF'
#!/usr/bin/env bash
# poke PIDFILE ACTION...: once PIDFILE names a process, do the actions in
# turn, round after round, while it lives (and until the file $POKE_UNTIL
# exists, if set), at most 300 rounds.  An action is a signal name, or
# "trace": strace attaches for 0.1 s.  Prints the rounds, and how many
# found the process inside io_uring_enter (426 in /proc/PID/syscall).
pidfile=$1
shift
for i in $(seq 500); do [ -s "$pidfile" ] && break; sleep 0.01; done
pid=$(cat "$pidfile" 2>/dev/null)
alive() {
    kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}
rounds=0 inside=0
while [ -n "$pid" ] && [ "$rounds" -lt 300 ] && alive; do
    [ -n "${POKE_UNTIL:-}" ] && [ -e "$POKE_UNTIL" ] && break
    read -r nr _ < "/proc/$pid/syscall" 2>/dev/null
    [ "${nr:-}" = 426 ] && inside=$((inside + 1))
    for action in "$@"; do
        case $action in
            trace) timeout 0.1 strace -qq -p "$pid" -o /dev/null 2>/dev/null ;;
            *) kill -s "$action" "$pid" 2>/dev/null ;;
        esac
    done
    rounds=$((rounds + 1))
    sleep 0.01
done
echo "$rounds $inside"
EOF
    chmod +x "$BATS_FILE_TMPDIR/poke"
    if [ -d "$TESTS_DIR/../06-echo-server" ]; then
        cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra \
            -o "$BATS_FILE_TMPDIR/echo-client" "$TESTS_DIR/tools/echo-client.c"
    fi
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    MNT=
    SERVER_PID=
    PIPES="python3 $(printf '%q' "$BATS_FILE_TMPDIR/pipes.py")"
    POKE=$(printf '%q' "$BATS_FILE_TMPDIR/poke")
    CLIENT=$BATS_FILE_TMPDIR/echo-client
}

# Whatever happened, nothing a test started outlives it: the processes it
# listed in ./pids (and the server), and the tmpfs it mounted.
teardown() {
    local p
    for p in $(cat pids 2>/dev/null) $SERVER_PID; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
        umount "$MNT" || umount -l "$MNT"
    fi
}

# exists STAGE: the stage's folder is there.
exists() { [ -d "$TESTS_DIR/../$1" ]; }

# use STAGE: from now on run_stage, run_sh, assert_forbidden and P run the
# program of STAGE, as built under BIN_ROOT.  Skips the test while the
# stage does not exist; a stage that exists but was not built fails.
use() {
    exists "$1" || skip "$1 does not exist (yet)"
    SRC_DIR=$TESTS_DIR/../$1
    STAGE_DIR=$BIN_ROOT/$1
    PROG=$(sed -n 's/^PROG *= *//p' "$SRC_DIR/Makefile")
    if [ ! -x "$STAGE_DIR/$PROG" ]; then
        echo "$STAGE_DIR/$PROG was not built" >&2
        return 1
    fi
}

# P: the program of the stage in use, quoted for a shell command line.
P() { printf '%q' "$STAGE_DIR/$PROG"; }

# bytes N NAME: a file of N random bytes.
bytes() { head -c "$1" /dev/urandom > "$2"; }

# small_fs: mount a 1 MiB tmpfs on ./mnt (teardown unmounts it), or skip
# saying why not.
small_fs() {
    [ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
    mkdir mnt
    if ! mount -t tmpfs -o size=1m faults-tmpfs "$PWD/mnt" 2> mount.err; then
        skip "mount -t tmpfs -o size=1m failed: $(cat mount.err)"
    fi
    MNT=$PWD/mnt
}

# placed SRC DST: every byte of DST is SRC's byte at the same offset, or 0
# (a hole where a block was never written): no data landed out of place.
placed() {
    local bad
    bad=$(cmp -l "$1" "$2" 2>/dev/null | awk '$3 != 0' | head -n 3)
    [ -z "$bad" ] || { echo "misplaced bytes in $2: $bad" >&2; return 1; }
}

# check_pokes MIN: poke's last line (in $output) says the fault reached
# the process in at least MIN rounds, once at least inside io_uring_enter.
check_pokes() {
    local rounds inside
    read -r rounds inside <<< "$(printf '%s\n' "$output" | tail -n 1)"
    echo "rounds of the fault: $rounds, $inside of them inside io_uring_enter"
    [ "$rounds" -ge "$1" ]
    [ "$inside" -ge 1 ]
}

# ---------------------------------------------------------------------------
# A tiny ring: a full SQ is submitted, an overflowing CQ is drained.

@test "mmap-rings: 100000 NOPs through its 4-entry ring complete exactly once each, none failed or dropped" {
    use 02-mmap-rings
    run_sh "$(P) 100000 > out"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    sed -n 's/^cqe user_data=\([0-9]*\) res=0 flags=0$/\1/p' out | sort -n | uniq > seen
    seq 0 99999 | cmp - seen
    [ "$(wc -l < out)" -eq 100001 ]
    tail -n 1 out | grep -qx 'completed 100000 NOPs (0 failed, 0 dropped) through a ring of 4 SQEs and 8 CQEs'
}

# cp and sqpoll: -q 1 is a ring of 2 (DEPTH + 1), -b 1 two requests a byte:
# 4 KiB is 8193 requests through that ring, its indexes wrapping 4096 times.
# Sized for the slowest machine: 200 KiB ran past two minutes under
# emulation, and with the CPUs busy sqpoll needs about a millisecond a
# request (the poller must get a CPU for each).
tiny_ring_copies() {
    local small=$1
    bytes 3000000 big
    bytes "$small" little
    run_stage "$PROG" -q 1 big out
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    cmp big out
    run_stage "$PROG" -q 1 -b 1 little out
    [ "$status" -eq 0 ]
    cmp little out
    # The delay's timeout and block 0's read fill the 2-entry SQ.
    CP_DELAY_FIRST=20 run_stage "$PROG" -q 1 -b 65536 big out
    [ "$status" -eq 0 ]
    cmp big out
    # From a pipe: one block, read short again and again.
    run_sh "cat big | $(P) -q 1 -b 100000 /dev/stdin out"
    [ "$status" -eq 0 ]
    cmp big out
}

@test "cp: -q 1 (a ring of 2 entries) and -q 1 -b 1 copy 3 MB and 4 KiB exactly, with the delay's timeout filling the SQ" {
    use 04-cp
    tiny_ring_copies 4096
}

@test "sqpoll: -q 1 (a ring of 2 entries) and -q 1 -b 1 copy 3 MB and 4 KiB exactly, with the delay's timeout filling the SQ" {
    use 05-sqpoll
    tiny_ring_copies 4096
}

client() {
    run --separate-stderr timeout 60 "$CLIENT" -p "$PORT" "$@"
}

# summary_is CONNS BYTES: the server's one line on stderr counts exactly
# these connections and bytes.
summary_is() {
    cat server.err
    [ "$(wc -l < server.err)" -eq 1 ]
    [[ "$(cat server.err)" == "echo-server: stopped by SIGTERM: served $1 connections, echoed $2 bytes, "* ]]
}

@test "echo-server: a 1-entry ring (SQ of 1, CQ of 2) overflows its CQ and fills its SQ, and 100 clients still get their own bytes" {
    use 06-echo-server
    need_tool strace strace
    # The tracer leaves before the server exits, so LeakSanitizer can run.
    ECHO_SERVER_ENTRIES=1 start_server
    timeout 60 strace -qq -p "$SERVER_PID" -e trace=io_uring_enter -o trace &
    echo $! >> pids
    for i in $(seq 100); do
        grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$SERVER_PID/status" && break
        sleep 0.02
    done
    client check 100 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 100 check 4 1000000
    [ "$status" -eq 0 ]
    kill -TERM "$(cat pids)"
    wait "$(cat pids)" || true
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    summary_is 104 $((100 * 65536 + 4 * 1000000))
    # The CQ overflowed: ring_submit() asks for GETEVENTS without waiting
    # for anything (min_complete 0) only when IORING_SQ_CQ_OVERFLOW is set,
    # to fetch the CQEs the kernel held back.
    grep -Eq 'io_uring_enter\([0-9]+, [0-9]+, 0, IORING_ENTER_GETEVENTS' trace
    # The SQ filled: its one SQE submitted without waiting, to make room.
    grep -Eq 'io_uring_enter\([0-9]+, 1, 0, 0' trace
}

@test "echo-server: a 2-entry ring gives 300 clients at once and 4 slow readers exactly their own bytes" {
    use 06-echo-server
    ECHO_SERVER_ENTRIES=2 start_server
    client check 300 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 200 check 4 2000000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    summary_is 304 $((300 * 65536 + 4 * 2000000))
}

# ---------------------------------------------------------------------------
# io_uring_enter interrupted: by signals, by a tracer, by EINTR injected.

@test "mmap-rings: with every second io_uring_enter failing EINTR (strace -e inject), 20000 NOPs still complete exactly once each" {
    use 02-mmap-rings
    run_traced "strace -qq -o trace -e trace=io_uring_enter -e inject=io_uring_enter:error=EINTR:when=2+2 $(P) 20000 > out"
    [ "$status" -eq 0 ]
    grep -q 'EINTR.*(INJECTED)' trace
    sed -n 's/^cqe user_data=\([0-9]*\) res=0 flags=0$/\1/p' out | sort -n | uniq > seen
    seq 0 19999 | cmp - seen
    tail -n 1 out | grep -qx 'completed 20000 NOPs (0 failed, 0 dropped) through a ring of 4 SQEs and 8 CQEs'
}

@test "cat: SIGSTOP/SIGCONT and ignored signals (WINCH, CHLD, URG), five rounds while it sleeps in io_uring_enter on a stalled pipe, lose nothing" {
    use 03-cat
    copy_signals "$(P) > out"
}

@test "cat: a tracer attaching and leaving five times while it sleeps in io_uring_enter on a full pipe loses nothing" {
    use 03-cat
    copy_tracer "$(P) in"
}

@test "cat: with every second io_uring_enter failing EINTR (strace -e inject), files and a pipe come out exact" {
    use 03-cat
    bytes 3000000 a
    bytes 100000 b
    run_traced "cat b | strace -qq -o trace -e trace=io_uring_enter -e inject=io_uring_enter:error=EINTR:when=2+2 $(P) a - a > out"
    [ "$status" -eq 0 ]
    grep -q 'EINTR.*(INJECTED)' trace
    cat a b a | cmp - out
}

# cp and sqpoll, interrupted.  Each fault lands while the program is
# certainly asleep in io_uring_enter, on a pipe the test holds up, however
# fast or slow the machine: inside_enter waits for that, round by round.

# inside_enter PID: wait (60 s at most) until PID sleeps in io_uring_enter
# (system call 426 in /proc/PID/syscall, on every architecture).
inside_enter() {
    local i nr
    for i in $(seq 6000); do
        read -r nr _ < "/proc/$1/syscall" 2> /dev/null || return 1
        [ "$nr" = 426 ] && return 0
        sleep 0.01
    done
    return 1
}

# copy_signals: SRC a pipe whose writer stalls after 150000 bytes until the
# program has been sent five rounds of signals, each while it waited in
# io_uring_enter for its read.
copy_signals() {
    local prog=${1:-"$(P) -q 4 -b 3000 /dev/stdin out"}
    bytes 400000 in
    head -c 150000 in > first
    tail -c +150001 in > rest
    run_sh "$(declare -f inside_enter)
        { cat first; until [ -e go ]; do sleep 0.01; done; cat rest; } | $prog & h=\$!
        echo \$h >> pids
        rounds=0
        for r in 1 2 3 4 5; do
            inside_enter \$h || break
            kill -STOP \$h; kill -CONT \$h; kill -WINCH \$h; kill -CHLD \$h; kill -URG \$h
            rounds=\$((rounds + 1))
        done
        touch go
        wait \$h; rc=\$?
        echo \"rounds inside io_uring_enter: \$rounds\"
        exit \$rc"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "rounds inside io_uring_enter: 5" ]
    cmp in out
}

# copy_tracer: DST a pipe whose reader stalls until a tracer has attached
# to the program and left it five times, each while it waited in
# io_uring_enter for a write that the full pipe holds up.
copy_tracer() {
    local prog=${1:-"$(P) in /dev/stdout"}
    bytes 1000000 in
    run_traced "$(declare -f inside_enter)
        $prog > >(until [ -e go ]; do sleep 0.01; done; cat > out; touch out.done) & h=\$!
        echo \$h >> pids
        rounds=0
        for r in 1 2 3 4 5; do
            inside_enter \$h || break
            strace -qq -p \$h -o /dev/null & s=\$!
            echo \$s >> pids
            for i in \$(seq 6000); do
                grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/\$h/status && break
                sleep 0.01
            done
            grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/\$h/status && rounds=\$((rounds + 1))
            kill -INT \$s; wait \$s
        done
        touch go
        wait \$h; rc=\$?
        for i in \$(seq 6000); do [ -e out.done ] && break; sleep 0.01; done
        echo \"rounds inside io_uring_enter: \$rounds\"
        exit \$rc"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "rounds inside io_uring_enter: 5" ]
    cmp in out
}

copy_eintr() {
    bytes 16777216 big
    run_traced "strace -qq -o trace -e trace=io_uring_enter -e inject=io_uring_enter:error=EINTR:when=2+2 $(P) -q 8 -b 65536 big out"
    [ "$status" -eq 0 ]
    grep -q 'EINTR.*(INJECTED)' trace
    cmp big out
    bytes 200000 in
    run_traced "cat in | strace -qq -o trace -e trace=io_uring_enter -e inject=io_uring_enter:error=EINTR:when=2+2 $(P) -q 4 -b 1000 /dev/stdin out"
    [ "$status" -eq 0 ]
    cmp in out
}

@test "cp: SIGSTOP/SIGCONT and ignored signals (WINCH, CHLD, URG), five rounds while it sleeps in io_uring_enter on a stalled pipe, lose nothing" {
    use 04-cp
    copy_signals
}

@test "sqpoll: SIGSTOP/SIGCONT and ignored signals (WINCH, CHLD, URG), five rounds while it sleeps in io_uring_enter on a stalled pipe, lose nothing" {
    use 05-sqpoll
    copy_signals
}

@test "cp: a tracer attaching and leaving five times while it sleeps in io_uring_enter on a full pipe loses nothing" {
    use 04-cp
    copy_tracer
}

@test "sqpoll: a tracer attaching and leaving five times while it sleeps in io_uring_enter on a full pipe loses nothing" {
    use 05-sqpoll
    copy_tracer
}

@test "cp: with every second io_uring_enter failing EINTR (strace -e inject), a 16 MiB file and a pipe are copied exactly" {
    use 04-cp
    copy_eintr
}

@test "sqpoll: with every second io_uring_enter failing EINTR (strace -e inject), a 16 MiB file and a pipe are copied exactly" {
    use 05-sqpoll
    copy_eintr
}

@test "echo-server: SIGSTOP/SIGCONT bursts, ignored signals and a tracer coming and going during a session lose no byte; SIGTERM still ends it" {
    use 06-echo-server
    need_tool strace strace
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 start_server
    echo "$SERVER_PID" > pid
    POKE_UNTIL=done $POKE pid STOP CONT WINCH CHLD URG trace > rounds &
    echo $! >> pids
    for i in 1 2 3 4; do
        client -r 4096 -d 100 check 20 3000000
        echo "$stderr"
        [ "$status" -eq 0 ]
    done
    touch done
    wait "$(cat pids)"
    output=$(cat rounds)
    check_pokes 2
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    summary_is 80 $((80 * 3000000))
}

# traced_server INJECT: start the server under strace -e inject=INJECT,
# tracing io_uring_enter (and the system calls in $TRACE_TOO, if set).
traced_server() {
    need_tool strace strace
    [ -x "$CLIENT" ] || { echo "echo-client was not built" >&2; return 1; }
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
        strace -qq -o trace -e trace=io_uring_enter${TRACE_TOO:+,$TRACE_TOO} -e inject="$1" \
        "$STAGE_DIR/echo-server" -p 0 > server.out 2> server.err &
    local tracer=$!
    echo "$tracer" >> pids
    await_traced_server "$tracer"
    TRACER=$tracer
}

# stop_traced_server: SIGTERM to the server; strace exits with its status.
stop_traced_server() {
    kill -TERM "$SERVER_PID"
    SERVER_STATUS=0
    timeout 5 tail --pid="$TRACER" -f /dev/null || SERVER_STATUS=hung
    [ "$SERVER_STATUS" = hung ] && kill -KILL "$SERVER_PID" "$TRACER"
    wait "$TRACER" || SERVER_STATUS=$?
    SERVER_PID=
}

@test "echo-server: with every second io_uring_enter failing EINTR (strace -e inject), 50 clients get their own bytes" {
    use 06-echo-server
    traced_server io_uring_enter:error=EINTR:when=2+2
    client check 50 100000
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_traced_server
    [ "$SERVER_STATUS" -eq 0 ]
    summary_is 50 $((50 * 100000))
    grep -q 'EINTR.*(INJECTED)' trace
}

@test "echo-server: io_uring_enter failing EAGAIN, then EBUSY, every third call slows it down but does not stop it" {
    use 06-echo-server
    for err in EAGAIN EBUSY; do
        traced_server "io_uring_enter:error=$err:when=3+3"
        client check 20 100000
        echo "$err: $stderr"
        [ "$status" -eq 0 ]
        stop_traced_server
        [ "$SERVER_STATUS" -eq 0 ]
        summary_is 20 $((20 * 100000))
        grep -q "$err.*(INJECTED)" trace
    done
}

# longest_spin: the longest run of io_uring_enter calls in ./trace that
# failed with an injected error, with no pause (clock_nanosleep) and no
# call that succeeded in between.
longest_spin() {
    awk '/^io_uring_enter.*\(INJECTED\)/ { if (++run > max) max = run; next }
         { run = 0 }
         END { print max + 0 }' trace
}

@test "echo-server: 300 io_uring_enter calls in a row failing EAGAIN, with a 1-entry ring, never make it spin: at most 3 tries between pauses, then every client gets its bytes" {
    # The SQ of 1 is full whenever a completion queues a request.  Every
    # refused try is followed by a wait for a completion or a 1 ms pause,
    # so the window of failures lasts a while, not a burst of retries.
    # 300, not more: each costs a pause, and under emulation a traced call
    # is slow enough that thousands kept the clients waiting past their
    # patience.
    use 06-echo-server
    TRACE_TOO=clock_nanosleep ECHO_SERVER_ENTRIES=1 \
        traced_server "io_uring_enter:error=EAGAIN:when=40..339"
    client check 20 100000
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_traced_server
    [ "$SERVER_STATUS" -eq 0 ]
    summary_is 20 $((20 * 100000))
    [ "$(grep -c 'EAGAIN.*(INJECTED)' trace)" -eq 300 ]
    echo "longest run of refused calls without a pause: $(longest_spin)"
    [ "$(longest_spin)" -le 3 ]
}

@test "mmap-rings, cat, cp: 1000 io_uring_enter calls in a row failing EAGAIN, with a full SQ, are waited out: output exact, at most 3 tries between pauses" {
    need_tool strace strace
    require_io_uring
    bytes 3000000 big
    local stage cmd ran=0
    for stage in 02-mmap-rings 03-cat 04-cp; do
        exists "$stage" || continue
        use "$stage"
        case $stage in
            02-mmap-rings) cmd="$(P) 3000 > out" ;;
            03-cat) cmd="$(P) big > out" ;;
            04-cp) cmd="$(P) -q 4 -b 4096 big out" ;;
        esac
        run_traced "strace -qq -o trace -e trace=io_uring_enter,clock_nanosleep -e inject=io_uring_enter:error=EAGAIN:when=5..1004 $cmd"
        echo "$stage: status $status, longest run without a pause $(longest_spin)"
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        [ "$(grep -c 'EAGAIN.*(INJECTED)' trace)" -eq 1000 ]
        [ "$(longest_spin)" -le 3 ]
        case $stage in
            02-mmap-rings) tail -n 1 out | grep -qx 'completed 3000 NOPs (0 failed, 0 dropped) through a ring of 4 SQEs and 8 CQEs' ;;
            *) cmp big out ;;
        esac
        ran=$((ran + 1))
    done
    [ "$ran" -ge 1 ]
}

@test "echo-server: with the CQ backlog rule of Linux 5.5-5.12 (busy-backlog.so: no submission while CQEs wait outside a full CQ), a 1-entry ring serves 100 clients and SIGTERM ends it" {
    # Handling a completion must never wait for room in the SQ: that room
    # would come only from a submission, which these kernels refuse until
    # the CQ is reaped.  A server that waits there hangs, deaf to SIGTERM.
    use 06-echo-server
    local shim=$TESTS_DIR/tools/busy-backlog.so
    [ -f "$shim" ] || skip "tests/tools/busy-backlog.so was not built (make test builds it)"
    BUSY_BACKLOG_LOG=$PWD/busy.log BUSY_BACKLOG_PAUSE_MS=1 LD_PRELOAD=$shim \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        ECHO_SERVER_ENTRIES=1 start_server
    client check 100 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 100 check 4 1000000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    summary_is 104 $((100 * 65536 + 4 * 1000000))
    # The rule did bite: submissions were refused with EBUSY.
    cat busy.log
    [ "$(awk '{ n += $2 } END { print n + 0 }' busy.log)" -ge 1 ]
}

@test "cat: io_uring_enter failing EAGAIN once with nothing to reap is retried after a pause: output exact, exit 0" {
    # uring.h's ring_submit backs off 1 ms and tries again (up to a second).
    use 03-cat
    bytes 3000000 a
    run_traced "strace -qq -o trace -e trace=io_uring_enter -e inject=io_uring_enter:error=EAGAIN:when=3 $(P) a > out"
    [ "$status" -eq 0 ]
    cmp a out
    grep -q 'EAGAIN.*(INJECTED)' trace
}

@test "cat: io_uring_enter failing EAGAIN for good ends it after about a second with the error named, exit 1, never a hang" {
    use 03-cat
    bytes 3000000 a
    run_traced "strace -qq -o trace -e trace=io_uring_enter -e inject=io_uring_enter:error=EAGAIN:when=3+ $(P) a > out"
    [ "$status" -eq 1 ]
    [ "$stderr" = "cat: io_uring_enter: Resource temporarily unavailable" ]
    cmp -n "$(stat -c %s out)" a out
    # the first two calls, then 1000 retries and the last try
    [ "$(grep -c 'EAGAIN.*(INJECTED)' trace)" -ge 1000 ]
}

# ---------------------------------------------------------------------------
# A destination that fills up.

@test "cat: a 1 MiB tmpfs filling up is 'cat: write error: No space left on device', exit 1, and what it holds is the start of the input" {
    use 03-cat
    small_fs
    bytes 3000000 in
    run_sh "$(P) in > mnt/out"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "cat: write error: No space left on device" ]
    size=$(stat -c %s mnt/out)
    [ "$size" -gt 0 ] && [ "$size" -le 1048576 ]
    cmp -n "$size" in mnt/out
}

# full_copy: SRC larger than the 1 MiB tmpfs; the first DST block to fail
# ends the copy.  DST is left, partial, as cp(1) leaves it; every byte in
# it is at its own offset.
full_copy() {
    small_fs
    bytes 3000000 in
    for args in "" "-q 1" "-q 16 -b 4096"; do
        run_stage "$PROG" $args in mnt/dst
        echo "$args: $status $stderr"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "$PROG: write mnt/dst: No space left on device" ]
        [ "$(stat -c %s mnt/dst)" -le 1048576 ]
        placed in mnt/dst
        rm mnt/dst
    done
    # Into a folder on it: the message names the file it wrote.
    mkdir mnt/dir
    run_stage "$PROG" in mnt/dir
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: write mnt/dir/in: No space left on device" ]
}

@test "cp: a 1 MiB tmpfs filling up is 'cp: write DST: No space left on device', exit 1, and no byte lands out of place" {
    use 04-cp
    full_copy
}

@test "sqpoll: a 1 MiB tmpfs filling up is 'sqpoll: write DST: No space left on device', exit 1, and no byte lands out of place" {
    use 05-sqpoll
    full_copy
}

# dev_full FILE_CMD STDIN_CMD MSG: /dev/full while reads are in flight
# (several blocks of the file in: FILE_CMD), and while a read waits on a pipe
# whose writer stays for 20 s (STDIN_CMD): the error comes at once, the
# waiting read is cancelled, exit 1.
dev_full() {
    local file_cmd=$1 stdin_cmd=$2 msg=$3
    bytes 3000000 in
    run_sh "$file_cmd"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "$msg" ]
    SECONDS=0
    run_sh "sh -c 'echo \$\$ >> pids; printf abc; exec sleep 20' 2> /dev/null |
                { $stdin_cmd 2> err; echo \$? > rc; } &
            echo \$! >> pids
            for i in \$(seq 100); do [ -s rc ] && break; sleep 0.05; done
            cat rc err"
    [ "$SECONDS" -lt 5 ]
    [ "$output" = "$(printf '1\n%s' "$msg")" ]
}

@test "cat: /dev/full is a write error at once, with reads in flight or waiting on a pipe, exit 1" {
    use 03-cat
    dev_full "$(P) in > /dev/full" "$(P) > /dev/full" "cat: write error: No space left on device"
}

@test "cp: DST /dev/full is a write error at once, with reads in flight or waiting on a pipe, exit 1" {
    use 04-cp
    dev_full "$(P) -q 16 -b 4096 in /dev/full" "$(P) /dev/stdin /dev/full" "cp: write /dev/full: No space left on device"
}

@test "sqpoll: DST /dev/full is a write error at once, with reads in flight or waiting on a pipe, exit 1" {
    use 05-sqpoll
    dev_full "$(P) -q 16 -b 4096 in /dev/full" "$(P) /dev/stdin /dev/full" "sqpoll: write /dev/full: No space left on device"
}

# ---------------------------------------------------------------------------
# Reads that fail with EIO: /proc/self/mem at offset 0 (the page at address
# 0 is never mapped).  An EIO in the middle of a file would need a failing
# block device (dm-error, a loop device on one): not arranged here.

@test "cat: an EIO between a large file and stdin comes out in its place, exactly as cat(1) prints it, exit 1" {
    use 03-cat
    bytes 700000 a
    bytes 300000 b
    run_sh "$(P) a /proc/self/mem - a < b > ours 2>&1"
    [ "$status" -eq 1 ]
    run -1 bash -c "cat a /proc/self/mem - a < b > theirs 2>&1"
    cmp ours theirs
    grep -qa 'cat: /proc/self/mem: Input/output error$' ours
}

# eio_copy: SRC /proc/self/mem.  Our cp, like cp(1), has created DST by
# the time the first read fails, and leaves it (empty); the documented
# "no DST left behind" covers failures before the copy starts.
eio_copy() {
    for args in "" "-q 1 -b 1" "-q 16 -b 4096"; do
        run_stage "$PROG" $args /proc/self/mem dst
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "$PROG: read /proc/self/mem: Input/output error" ]
        [ -f dst ] && [ ! -s dst ]
        rm dst
    done
    run -1 cp /proc/self/mem theirs
    [ -f theirs ] && [ ! -s theirs ]
}

@test "cp: SRC /proc/self/mem is 'cp: read /proc/self/mem: Input/output error', exit 1, DST left empty as cp(1) leaves it" {
    use 04-cp
    eio_copy
}

@test "sqpoll: SRC /proc/self/mem is 'sqpoll: read /proc/self/mem: Input/output error', exit 1, DST left empty as cp(1) leaves it" {
    use 05-sqpoll
    eio_copy
}

# ---------------------------------------------------------------------------
# Short reads and short writes: 4 KiB pipes, fed in random bits of 1 to
# 4096 bytes and drained the same way (pipes.py, fixed seeds).

@test "cat: stdin trickling through a 4 KiB pipe, between files, into a 4 KiB pipe drained in random bits, comes out exact" {
    use 03-cat
    bytes 500000 in
    bytes 300000 f
    for seed in 1 2; do
        run_sh "$PIPES --seed $seed --feed in --drain out -- $(P) f - f"
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        cat f in f | cmp - out
    done
}

short_copies() {
    bytes 500000 in
    # pipe to pipe, both 4 KiB, in blocks larger than the pipe
    run_sh "$PIPES --seed 3 --feed in --drain out -- $(P) -q 4 -b 10000 /dev/stdin /dev/stdout"
    [ "$status" -eq 0 ]
    cmp in out
    # a FIFO as SRC, trickled, into a regular file
    mkfifo fifo
    run_sh "$PIPES --seed 4 --feed in --fifo fifo -- $(P) -q 3 -b 3000 fifo copy"
    [ "$status" -eq 0 ]
    cmp in copy
    # a regular file, DEPTH blocks read ahead, into a 4 KiB pipe drained in bits
    run_sh "$PIPES --seed 5 --drain out -- $(P) -q 16 -b 65536 in /dev/stdout"
    [ "$status" -eq 0 ]
    cmp in out
}

@test "cp: 4 KiB pipes fed and drained in random bits, a trickled FIFO as SRC, a file into a small pipe: every copy exact" {
    use 04-cp
    short_copies
}

@test "sqpoll: 4 KiB pipes fed and drained in random bits, a trickled FIFO as SRC, a file into a small pipe: every copy exact" {
    use 05-sqpoll
    short_copies
}

# ---------------------------------------------------------------------------
# io_uring forbidden, or only SQPOLL refused: exit 77, nothing left behind.

# snapshot: every name under this folder with its size, mode, type and
# modification time, and every file's contents; not the folder itself nor
# the test's own files (pids, snap.*, bats' separate-stderr-*).
snapshot() {
    find . -mindepth 1 \( -name pids -o -name 'snap.*' -o -name 'separate-stderr-*' \) \
        -prune -o -print0 | sort -z | xargs -0 stat -c '%n %s %a %F %y'
    find . -type f ! -name pids ! -name 'snap.*' ! -name 'separate-stderr-*' -print0 |
        sort -z | xargs -0 md5sum
}

@test "every program, where io_uring_setup fails with EPERM or ENOSYS, exits 77 and leaves the folder as it was: no DST, an old DST not truncated" {
    [ -x "$FORBID" ] || skip "tests/tools/forbid-io-uring was not built (make test builds it)"
    bytes 100000 src
    printf 'old contents\n' > old
    mkdir dir
    snapshot > snap.before
    local stage err args ran=0
    for stage in 01-syscalls 02-mmap-rings 03-cat 04-cp 05-sqpoll 06-echo-server; do
        exists "$stage" || continue
        use "$stage"
        for err in EPERM ENOSYS; do
            case $stage in
                04-cp | 05-sqpoll) set -- "src dst" "src old" "src dir" "-q 1 src old" ;;
                03-cat) set -- "src" ;;
                06-echo-server) set -- "-p 0" ;;
                *) set -- "" ;;
            esac
            for args; do
                assert_forbidden "$err" "$PROG" $args
                snapshot | diff snap.before -
                ran=$((ran + 1))
            done
        done
    done
    echo "runs: $ran"
    [ "$ran" -ge 8 ]
}

@test "sqpoll: where only SQPOLL is refused it exits 77 and leaves nothing behind; cp, which does not ask for SQPOLL, copies as before" {
    [ -f "$REFUSE_SQPOLL" ] || skip "tests/tools/refuse-sqpoll.so was not built (make test builds it)"
    bytes 100000 src
    printf 'old contents\n' > old
    mkdir dir
    snapshot > snap.before
    if exists 05-sqpoll; then
        use 05-sqpoll
        for args in "src dst" "src old" "src dir" "-q 1 -i 1 src old"; do
            run --separate-stderr env LD_PRELOAD="$REFUSE_SQPOLL" \
                ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
                timeout "$TEST_TIMEOUT" "$STAGE_DIR/sqpoll" $args
            [ "$status" -eq 77 ]
            [ -z "$output" ]
            [[ "$stderr" == "sqpoll: io_uring is not available here: "*SQPOLL* ]]
            snapshot | diff snap.before -
        done
    fi
    use 04-cp
    run --separate-stderr env LD_PRELOAD="$REFUSE_SQPOLL" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        timeout "$TEST_TIMEOUT" "$STAGE_DIR/cp" src old
    skip_if_unavailable
    [ "$status" -eq 0 ]
    cmp src old
}

@test "every program started with fds 0, 1 and 2 closed behaves: nothing it opens takes their place (cp -v would log into DST)" {
    bytes 100000 src
    local stage ran=0
    for stage in 01-syscalls 02-mmap-rings 03-cat 04-cp 05-sqpoll; do
        exists "$stage" || continue
        use "$stage"
        case $stage in
            01-syscalls | 02-mmap-rings)
                run_sh "$(P) 0<&- 1>&- 2>&-"
                [ "$status" -eq 0 ] ;;
            03-cat)
                # A closed stdout is cat's error, as it is cat(1)'s.
                run_sh "$(P) src 0<&- 1>&- 2>&-"
                [ "$status" -eq 1 ] ;;
            *)
                rm -f dst
                run_sh "$(P) -v src dst 0<&- 1>&- 2>&-"
                [ "$status" -eq 0 ]
                cmp src dst ;;
        esac
        ran=$((ran + 1))
    done
    [ "$ran" -ge 1 ]
}

# ---------------------------------------------------------------------------
# Random command lines.

# The fuzzer: for each program, 300 command lines of 0 to 5 words drawn
# (seed 77) from words that parsers trip on: options with and without
# values, numbers at and past every limit, signs, spaces, hex, empty words,
# existing and missing files.  Each runs under forbid-io-uring ENOSYS, so a
# command line that parses stops at io_uring_setup (77): nothing runs for
# real, nothing may be created.  Allowed: 0 (help: the usage on stdout), 1
# (one "PROG: ..." line: a missing SRC, say), 2 (a message, then the usage
# line), 77.  Anything else (a crash, a sanitizer report: 99) fails.
FUZZ_PY='
import os, random, subprocess, sys
forbid = sys.argv[1]
progs = sys.argv[2:]
words = ["-h", "--help", "--he", "--h", "--", "-", "-v", "--verbose", "--verb",
         "-x", "--x", "--help=1", "", " ", "-q", "-b", "-i", "-a", "-p", "-qv",
         "-vq", "-q1", "-b4096", "-i1", "-i0", "-p0", "-a::1", "-vh", "0", "1",
         "2", "7", "4096", "4097", "65535", "65536", "60000", "60001",
         "1073741824", "1073741825", "-1", "+1", " 1", "1 ", "1x", "0x10",
         "1e3", "010", "4294967296", "9223372036854775807",
         "9223372036854775808", "18446744073709551615",
         "18446744073709551616", "99999999999999999999999", "::1", "::",
         "127.0.0.1", "0.0.0.0", "1.2.3", "[::1]", "256.0.0.1", "localhost",
         "src", "dst", "dir", "dir/", "nope", "nope/x", "/dev/null",
         "/proc/self/mem", "/proc/version", "\xff\xfe", "%s%n", "x" * 300]
rnd = random.Random(77)
bad = 0
for prog in progs:
    name = os.path.basename(prog)
    counts = {}
    for i in range(300):
        argv = [rnd.choice(words) for _ in range(rnd.randint(0, 5))]
        p = subprocess.run([forbid, "ENOSYS", prog] + argv, capture_output=True,
                           timeout=20, stdin=subprocess.DEVNULL)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        lines = err.splitlines()
        rc = p.returncode
        ok = {0: out.startswith("usage: " + name + " ") and out.count("\n") == 1 and not err,
              1: not out and len(lines) == 1 and lines[0].startswith(name + ": "),
              2: not out and len(lines) >= 2 and lines[0].startswith(name + ": ")
                 and lines[-1].startswith("usage: " + name + " "),
              77: not out and err.startswith(name + ": io_uring is not available here")}.get(rc, False)
        counts[rc] = counts.get(rc, 0) + 1
        if not ok:
            bad += 1
            print("FAIL %s %r: exit %d\n  stdout %r\n  stderr %r" % (name, argv, rc, out[:300], err[:600]))
    print("%s: %s" % (name, " ".join("exit %d x%d" % kv for kv in sorted(counts.items()))))
sys.exit(1 if bad else 0)
'

# fuzz_parser STAGE: the fuzzer above, on the program of STAGE.
fuzz_parser() {
    command -v python3 > /dev/null || skip "python3 is not installed"
    [ -x "$FORBID" ] || skip "tests/tools/forbid-io-uring was not built (make test builds it)"
    use "$1"
    bytes 1000 src
    mkdir dir
    snapshot > snap.before
    run --separate-stderr timeout 120 python3 -c "$FUZZ_PY" "$FORBID" "$STAGE_DIR/$PROG"
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    snapshot | diff snap.before -
}

@test "syscalls: 300 random command lines (fixed seed): exit 0, 1, 2 or 77 with the right message, no crash, nothing created" {
    fuzz_parser 01-syscalls
}

@test "mmap-rings: 300 random command lines (fixed seed): exit 0, 1, 2 or 77 with the right message, no crash, nothing created" {
    fuzz_parser 02-mmap-rings
}

@test "cat: 300 random command lines (fixed seed): exit 0, 1, 2 or 77 with the right message, no crash, nothing created" {
    fuzz_parser 03-cat
}

@test "cp: 300 random command lines (fixed seed): exit 0, 1, 2 or 77 with the right message, no crash, nothing created" {
    fuzz_parser 04-cp
}

@test "sqpoll: 300 random command lines (fixed seed): exit 0, 1, 2 or 77 with the right message, no crash, nothing created" {
    fuzz_parser 05-sqpoll
}

@test "echo-server: 300 random command lines (fixed seed): exit 0, 1, 2 or 77 with the right message, no crash, nothing created" {
    fuzz_parser 06-echo-server
}

# cat's input handling, against cat(1): 60 lists of 1 to 6 inputs drawn
# (seed 78) from files of awkward sizes (0, 1, a block +- 1, several
# blocks), stdin (a file, read from its position on), a missing file, a
# folder, /proc files whose st_size is 0, /dev/null and /proc/self/mem.
CAT_FUZZ_PY='
import random, subprocess, sys
ours = sys.argv[1]
words = ["empty", "one", "blockm1", "block", "blockp1", "many", "-", "-",
         "nope", "dir", "/proc/version", "/proc/self/status", "/dev/null",
         "/proc/self/mem"]
rnd = random.Random(78)
bad = 0
for i in range(60):
    argv = [rnd.choice(words) for _ in range(rnd.randint(1, 6))]
    # /proc/self/status differs between two processes: only its line count.
    res = []
    for prog in (ours, "cat"):
        with open("stdin-data", "rb") as stdin:
            p = subprocess.run([prog] + argv, stdin=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
        out = p.stdout
        if "/proc/self/status" in argv:
            out = out.count(b"\n")
        res.append((p.returncode, out))
    if res[0] != res[1]:
        bad += 1
        print("FAIL", argv, "exit", res[0][0], "vs", res[1][0])
print("%d lists" % 60)
sys.exit(1 if bad else 0)
'

@test "cat: 60 random lists of inputs (fixed seed) print exactly what cat(1) prints, messages in place, same exit status" {
    command -v python3 > /dev/null || skip "python3 is not installed"
    use 03-cat
    block=$(($(sed -n 's/^#define BLOCK_BYTES //p' "$SRC_DIR/cat.c")))
    nblocks=$(sed -n 's/^#define NBLOCKS //p' "$SRC_DIR/cat.c")
    : > empty
    printf x > one
    bytes $((block - 1)) blockm1
    bytes "$block" block
    bytes $((block + 1)) blockp1
    bytes $((nblocks * block + 12345)) many
    bytes 50000 stdin-data
    mkdir dir
    run_stage cat one
    [ "$status" -eq 0 ]
    run --separate-stderr timeout 120 python3 -c "$CAT_FUZZ_PY" "$STAGE_DIR/cat"
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
}
