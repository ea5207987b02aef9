# tests/09-multishot-echo.bats - the echo server of 06 with multishot ACCEPT,
# multishot RECV and a provided buffer ring: 06's network tests again, plus
# a ring far smaller than the load, and multishot requests the kernel ends
# (ENOBUFS, the cap per connection) that must be armed again.
# bats file_tags=stage:09
bats_require_minimum_version 1.8.0
load helpers

# The clients live in tests/tools/echo-client.c (plain sockets, poll(2));
# stuck-hog.py is a client that sends until the server stops reading it.
setup_file() {
    cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra \
        -o "$BATS_FILE_TMPDIR/echo-client" "$TESTS_DIR/tools/echo-client.c"
    cat > "$BATS_FILE_TMPDIR/stuck-hog.py" <<'PY'
# stuck-hog.py PORT: connect, send without ever reading until no byte has
# gone out for a second (the server has stopped reading us), print
# "stuck", then hold the connection until stdin closes or we are killed.
import select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setblocking(False)
chunk, last = b"h" * 65536, time.monotonic()
while time.monotonic() - last < 1:
    select.select([], [s], [], 0.1)
    try:
        if s.send(chunk) > 0:
            last = time.monotonic()
    except BlockingIOError:
        pass
print("stuck", flush=True)
sys.stdin.read()
PY
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    CLIENT=$BATS_FILE_TMPDIR/echo-client
    HOG="python3 $BATS_FILE_TMPDIR/stuck-hog.py"
    SERVER_PID=
    BG_PIDS=()
}

# Whatever happened, no server or client outlives its test.
teardown() {
    local p
    for p in "${BG_PIDS[@]}" $SERVER_PID; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

CLIENT_TIMEOUT=$((2 * TEST_TIMEOUT))
BG_TIMEOUT=$((2 * TEST_TIMEOUT / 3))

# client [OPTION]... MODE ARG...: run tests/tools/echo-client against it.
client() {
    run --separate-stderr timeout "$CLIENT_TIMEOUT" "$CLIENT" -p "$PORT" "$@"
}

fd_count() { ls "/proc/$SERVER_PID/fd" | wc -l; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

# stuck_hog NAME: start stuck-hog.py in the background and wait (bounded)
# until it says the server stopped reading it; HOG_PID is its pid.
stuck_hog() {
    sleep "$BG_TIMEOUT" | $HOG "$PORT" > "$1.out" &
    HOG_PID=$!
    BG_PIDS+=($HOG_PID)
    local i
    for i in $(seq $((20 * BG_TIMEOUT))); do
        grep -q '^stuck$' "$1.out" && return 0
        kill -0 "$HOG_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "the hog never got stuck" >&2
    return 1
}

# half_close_client SENT GOT: a client that sends the file SENT, shuts
# down its sending side (bash cannot do that with /dev/tcp), and reads
# into GOT until the server closes.
half_close_client() {
    run_sh "python3 -c '
import socket, sys, threading
s = socket.create_connection((\"127.0.0.1\", $PORT))
data = open(\"$1\", \"rb\").read()
got = bytearray()
def reader():
    while True:
        b = s.recv(65536)
        if not b: break
        got.extend(b)
t = threading.Thread(target=reader); t.start()
s.sendall(data); s.shutdown(socket.SHUT_WR); t.join(20)
open(\"$2\", \"wb\").write(got)
'"
}

# summary FIELD: a number from the server's summary line, either "N FIELD"
# (06's part: "N short sends") or "FIELD N" (09's part: "ENOBUFS N").
summary() {
    local line
    line=$(grep ': stopped by ' server.err | tail -n 1)
    if [[ "$line" =~ \ ([0-9]+)\ $1[,\;\ ] ]] || [[ "$line" =~ \ $1\ ([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
    fi
}

@test "multishot-echo: prints 'listening on 127.0.0.1:PORT' with the real port, and echoes" {
    start_server
    [[ "$(cat server.out)" =~ ^listening\ on\ 127\.0\.0\.1:[0-9]+$ ]]
    client sequential 1
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(wc -l < server.out)" -eq 1 ]
}

@test "multishot-echo: -a ::1 listens on IPv6 and prints the address in brackets" {
    grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || skip "this machine has no ::1"
    start_server -a ::1
    [[ "$(cat server.out)" =~ ^listening\ on\ \[::1\]:[0-9]+$ ]]
    client -a ::1 check 20 10000
    [ "$status" -eq 0 ]
}

@test "multishot-echo: one RECV serves a whole conversation: 20 lines, one at a time, 1 recv armed, more CQEs than SQEs" {
    start_server
    run_sh "exec 3<>/dev/tcp/127.0.0.1/$PORT
        for i in \$(seq 20); do echo line\$i >&3; read -r -t 10 got <&3 || exit 1; echo \"\$got\"; done"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'line%s\n' $(seq 20))" ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    cat server.err
    # One ACCEPT and one RECV, each armed once, posted every completion.
    [ "$(summary 'recv arms')" -eq 1 ]
    [ "$(summary 'accept arms')" -eq 1 ]
    [ "$(summary CQEs)" -gt "$(summary SQEs)" ]
}

@test "multishot-echo: 300 clients at once each get back exactly their own bytes, none of another's" {
    start_server
    client check 300 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary connections)" -eq 300 ]
    [ "$(summary 'bytes')" -eq $((300 * 65536)) ]
}

@test "multishot-echo: a ring of 4 buffers for 300 clients and 4 slow readers: every byte to its own client, in order" {
    start_server -n 4
    client check 300 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 200 check 4 2000000
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    cat server.err
    [ "$(summary 'bytes')" -eq $((300 * 65536 + 4 * 2000000)) ]
    # Buffers ran short over and over, and the RECVs were armed again.
    [ "$(summary 'recv arms')" -gt 304 ]
}

@test "multishot-echo: one buffer of 16 bytes (-n 1 -s 16) still echoes 20 clients' 100 KB each, byte for byte" {
    start_server -n 1 -s 16
    client check 20 100000
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary 'bytes')" -eq $((20 * 100000)) ]
}

@test "multishot-echo: a RECV that ends with ENOBUFS waits on the list, is armed again when a buffer comes back, and loses no byte" {
    start_server -n 1
    # A client connects and says nothing: its RECV is armed, no buffer taken.
    exec 4<>"/dev/tcp/127.0.0.1/$PORT"
    # The hog takes the only buffer and never reads its echo: the server's
    # SEND to it waits forever, holding that buffer.
    stuck_hog hog
    # Now the quiet client talks: the ring is empty, so its RECV ends
    # (-ENOBUFS) and its bytes wait in the socket.
    printf 'not lost\n' >&4
    # The hog leaves, its buffer goes back, the RECV is armed again.
    kill "$HOG_PID"
    IFS= read -r -t 10 got <&4
    [ "$got" = 'not lost' ]
    exec 4<&-
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    cat server.err
    [ "$(summary ENOBUFS)" -ge 1 ]
    [ "$(summary 'recv arms')" -ge 3 ]
}

@test "multishot-echo: a client that says nothing while the ring is empty does not take the next buffer from one that has spoken" {
    start_server -n 1
    # The hog holds the only buffer: the ring is empty.
    stuck_hog hog
    local fds i quiet=() fd
    fds=$(fd_count)
    # Eight quiet clients connect, then one that speaks.
    for i in $(seq 8); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
        quiet+=("$fd")
    done
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'my turn\n' >&"$fd"
    # All nine are accepted before the hog leaves.
    for i in $(seq 100); do
        [ "$(fd_count)" -lt $((fds + 9)) ] || break
        sleep 0.05
    done
    [ "$(fd_count)" -ge $((fds + 9)) ]
    # The buffer comes back.  A server that put the quiet clients on the
    # starved list at their accept would, at each turn of its loop, arm
    # one of their RECVs for the one free buffer: a RECV that takes
    # nothing.  The turns run out (nothing more completes) before the
    # client that spoke is armed, and it waits for ever.
    kill "$HOG_PID"
    got=
    IFS= read -r -t 10 got <&"$fd" || true
    [ "$got" = 'my turn' ]
    for i in "${quiet[@]}" "$fd"; do exec {i}<&-; done
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "multishot-echo: 8 MiB each way to slow readers: short sends are finished, every byte comes back" {
    start_server -s 65536
    # A small receive buffer and a late start fill the server's send
    # queue, so some sends take only part of the buffer.
    client -r 4096 -d 300 check 8 8388608
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    cat server.err
    [ "$(summary 'short sends')" -gt 0 ]
}

@test "multishot-echo: clients that reset mid-stream lose only their own connection" {
    start_server
    client reset 50 200000
    [ "$status" -eq 0 ]
    client check 20 10000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "multishot-echo: a client that sends and never reads is capped; the others are served; memory stays bounded" {
    # (In the sanitizer lane, AddressSanitizer's quarantine of freed blocks
    # is not the server's memory: keep it small.)
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:quarantine_size_mb=1 start_server
    rss0=$(rss_kib)
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" hog 3 > hog.out &
    BG_PIDS+=($!)
    sleep 0.5
    client check 50 100000
    [ "$status" -eq 0 ]
    rss1=$(rss_kib)
    wait "${BG_PIDS[0]}"
    cat hog.out
    sent=$(sed -n 's/^sent \([0-9]*\) bytes.*/\1/p' hog.out)
    [ "$sent" -lt $((64 * 1024 * 1024)) ]
    echo "RSS $rss0 KiB -> $rss1 KiB"
    # The ring's 1024 buffers of 4 KiB are all touched by now (that is
    # the server's fixed memory); the hog adds what it holds past its cap.
    [ "$rss1" -lt $((rss0 + 4096 + 8192)) ]
    stop_server
    cat server.err
    [ "$(summary capped)" -ge 1 ]
}

@test "multishot-echo: hogs on a small ring take their cap and no more: clients that read still get their echo" {
    # 64 buffers, a cap of 4 each: 3 stuck hogs hold 12 of them, whatever
    # the kernel handed them in one burst before their RECV was cancelled.
    start_server -n 64
    for i in 1 2 3; do stuck_hog "hog$i"; done
    client check 20 200000
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary capped)" -ge 3 ]
}

@test "multishot-echo: 3000 short connections in a row: the fd count returns to its baseline" {
    start_server
    base=$(fd_count)
    client sequential 3000
    [ "$status" -eq 0 ]
    for i in $(seq 50); do [ "$(fd_count)" -eq "$base" ] && break; sleep 0.1; done
    [ "$(fd_count)" -eq "$base" ]
    stop_server
    [ "$(summary connections)" -eq 3000 ]
    # One multishot ACCEPT took them all.
    [ "$(summary 'accept arms')" -eq 1 ]
}

@test "multishot-echo: out of fds (ulimit -n 16) it pauses accept without spinning, arms it again, then serves everyone" {
    ULIMIT_N=16 start_server
    t0=$(cpu_ticks)
    client hold 30 1.5
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^echoed\ ([0-9]+)\ of\ 30\ at\ first,\ 30\ in\ the\ end$ ]]
    [ "${BASH_REMATCH[1]}" -lt 30 ]
    t1=$(cpu_ticks)
    echo "CPU: $((t1 - t0)) ticks of $(getconf CLK_TCK) per second"
    [ $((t1 - t0)) -lt $(($(getconf CLK_TCK) / 2)) ]
    client check 5 1000
    [ "$status" -eq 0 ]
    grep -q '^multishot-echo: accept (trying again every 50 ms): Too many open files$' server.err
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary 'times')" -ge 1 ]
    [ "$(summary 'accept arms')" -ge 2 ]
}

@test "multishot-echo: a 4-entry ring (SQ full, CQ overflowing) still gives 200 clients their own bytes" {
    ECHO_SERVER_ENTRIES=4 start_server
    client check 200 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 200 check 4 2000000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "multishot-echo: a 1-entry ring and a 4-buffer ring at once give 100 clients their own bytes" {
    ECHO_SERVER_ENTRIES=1 start_server -n 4
    client check 100 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary 'bytes')" -eq $((100 * 65536)) ]
}

@test "multishot-echo: SIGTERM closes every connection, prints one summary line and exits 0" {
    start_server
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" idle 20 > idle.out &
    BG_PIDS+=($!)
    for i in $(seq 100); do grep -q ready idle.out && break; sleep 0.05; done
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    wait "${BG_PIDS[0]}"
    grep -qx 'the server closed 20 of 20' idle.out
    cat server.err
    [ "$(wc -l < server.err)" -eq 1 ]
    [[ "$(cat server.err)" =~ ^multishot-echo:\ stopped\ by\ SIGTERM:\ served\ 20\ connections,\ echoed\ 20\ bytes,\ finished\ 0\ short\ sends,\ paused\ accept\ 0\ times\;\ SQEs\ [0-9]+,\ CQEs\ [0-9]+,\ recv\ arms\ 20,\ accept\ arms\ 1,\ ENOBUFS\ 0,\ capped\ 0$ ]]
    client sequential 1
    [ "$status" -ne 0 ]
}

@test "multishot-echo: SIGINT with a send stuck on a client that never reads still exits 0" {
    start_server
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" hog 2 > hog.out &
    BG_PIDS+=($!)
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" idle 5 > idle.out &
    BG_PIDS+=($!)
    for i in $(seq 100); do grep -q ready idle.out && break; sleep 0.05; done
    sleep 0.3
    stop_server INT
    [ "$SERVER_STATUS" -eq 0 ]
    [[ "$(cat server.err)" == "multishot-echo: stopped by SIGINT: served 6 connections, "* ]]
    wait "${BG_PIDS[1]}"
    grep -qx 'the server closed 5 of 5' idle.out
}

@test "multishot-echo: a client that half-closes gets every byte it sent before the server closes" {
    start_server -n 4 -s 100
    head -c 300000 /dev/urandom > sent
    half_close_client sent got
    [ "$status" -eq 0 ]
    cmp sent got
}

@test "multishot-echo: the summary counts connections served and bytes echoed" {
    start_server
    client sequential 10
    client check 3 1000
    [ "$status" -eq 0 ]
    stop_server
    [[ "$(cat server.err)" == *": served 13 connections, echoed 3320 bytes, "* ]]
}

@test "multishot-echo: a port in use is a runtime error naming the address, exit 1" {
    start_server
    run_stage multishot-echo -p "$PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "multishot-echo: bind 127.0.0.1:$PORT: Address already in use" ]
}

@test "multishot-echo: a bad PORT, ADDR, BUFFERS or BYTES, an unknown option or an argument is a usage error, exit 2" {
    for args in "-p 65536" "-p x" "-a 1.2.3" "-a localhost" "-n 0" "-n 3" "-n 65536" "-n x" "-s 0" "-s 1048577" "-s 1k" "-z" "extra"; do
        run_stage multishot-echo $args
        echo "$args: $status $stderr"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"usage: multishot-echo [-a ADDR] [-p PORT] [-n BUFFERS] [-s BYTES]" ]]
    done
    run_stage multishot-echo -n 3
    [[ "$stderr" == "multishot-echo: BUFFERS must be a power of two from 1 to 32768, not '3'"* ]]
}

@test "multishot-echo: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage multishot-echo "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "usage: multishot-echo [-a ADDR] [-p PORT] [-n BUFFERS] [-s BYTES]" ]
    done
}

@test "multishot-echo: started with stdin, stdout and stderr closed, its sockets do not take fds 0-2" {
    require_io_uring
    run_sh "( exec 0<&- 1>&- 2>&-; exec $(printf %q "$STAGE_DIR/multishot-echo") -p 0 ) & pid=\$!
        sleep 0.5; ls -l /proc/\$pid/fd/0 /proc/\$pid/fd/1 /proc/\$pid/fd/2; kill -TERM \$pid; wait \$pid"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c ' -> /dev/null$' <<< "$output")" -eq 3 ]
}

@test "multishot-echo: where seccomp forbids io_uring (EPERM, as Docker does) it explains and exits 77" {
    assert_forbidden EPERM multishot-echo -p 0
}

@test "multishot-echo: on a kernel without io_uring (ENOSYS) it explains and exits 77" {
    assert_forbidden ENOSYS multishot-echo -p 0
}

# ---- Injected faults (as tests/faults.bats does for 06; here, so that the
# ---- sanitizer lane runs them against this stage too) ----

# traced_server INJECT [ARG]...: start the server under strace -e inject.
traced_server() {
    need_tool strace strace
    local inject=$1
    shift
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
        strace -qq -o trace -e trace=io_uring_enter -e inject="$inject" \
        "$STAGE_DIR/multishot-echo" -p 0 "$@" > server.out 2> server.err &
    TRACER=$!
    BG_PIDS+=($TRACER)
    await_traced_server "$TRACER"
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

@test "multishot-echo: with every second io_uring_enter failing EINTR (strace -e inject), 50 clients on 8 buffers get their own bytes" {
    traced_server io_uring_enter:error=EINTR:when=2+2 -n 8
    client check 50 100000
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_traced_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary bytes)" -eq $((50 * 100000)) ]
    grep -q 'EINTR.*(INJECTED)' trace
}

@test "multishot-echo: io_uring_enter failing EAGAIN, then EBUSY, every third call slows it down but does not stop it" {
    for err in EAGAIN EBUSY; do
        traced_server "io_uring_enter:error=$err:when=3+3" -n 8
        client check 20 100000
        echo "$err: $stderr"
        [ "$status" -eq 0 ]
        stop_traced_server
        [ "$SERVER_STATUS" -eq 0 ]
        [ "$(summary bytes)" -eq $((20 * 100000)) ]
        grep -q "$err.*(INJECTED)" trace
    done
}

@test "multishot-echo: a 1-entry ring overflows its CQ (multishot CQEs held back by the kernel) and 100 clients still get their own bytes" {
    need_tool strace strace
    ECHO_SERVER_ENTRIES=1 start_server
    timeout 60 strace -qq -p "$SERVER_PID" -e trace=io_uring_enter -o trace &
    BG_PIDS+=($!)
    for i in $(seq 100); do
        grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$SERVER_PID/status" && break
        sleep 0.02
    done
    client check 100 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    kill -TERM "${BG_PIDS[0]}"
    wait "${BG_PIDS[0]}" || true
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary bytes)" -eq $((100 * 65536)) ]
    # The CQ overflowed: ring_submit() fetched the held-back CQEs with
    # GETEVENTS and min_complete 0.
    grep -Eq 'io_uring_enter\([0-9]+, [0-9]+, 0, IORING_ENTER_GETEVENTS' trace
}

# ---- Exercises (make grade STAGE=09-multishot-echo; left out of make test) ----

# kernel_at_least MAJOR MINOR: the running kernel is that release or newer.
kernel_at_least() {
    local v maj min
    v=$(uname -r)
    maj=${v%%.*}
    v=${v#*.}
    min=${v%%[!0-9]*}
    [ "$maj" -gt "$1" ] || { [ "$maj" -eq "$1" ] && [ "$min" -ge "$2" ]; }
}

# bats test_tags=exercise
@test "[5] 9.1 (easy): the kernel allocates the buffer ring (IOU_PBUF_RING_MMAP): it is mapped from the ring fd, and 300 clients on 4 buffers get their own bytes" {
    kernel_at_least 6 4 || skip "IOU_PBUF_RING_MMAP needs Linux 6.4; this is $(uname -r)"
    start_server -n 4
    cat "/proc/$SERVER_PID/maps"
    # The SQ and CQ rings, the SQEs, and now the buffer ring: offset
    # IORING_OFF_PBUF_RING | BGID << IORING_OFF_PBUF_SHIFT of the ring fd.
    [ "$(grep -c 'anon_inode:\[io_uring\]' "/proc/$SERVER_PID/maps")" -eq 3 ]
    grep -Eq ' 80000000 [0-9a-f:]+ [0-9]+ +anon_inode:\[io_uring\]' "/proc/$SERVER_PID/maps"
    client check 300 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 200 check 4 1000000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary bytes)" -eq $((300 * 65536 + 4 * 1000000)) ]
}

# bats test_tags=exercise
@test "[5] 9.2 (hard): SEND_ZC echoes 300 clients on 4 buffers, 4 slow readers and a half-closed client exactly, with a notification counted for its sends" {
    kernel_at_least 6 0 || skip "IORING_OP_SEND_ZC needs Linux 6.0; this is $(uname -r)"
    grep -q 'IORING_OP_SEND_ZC' "$STAGE_DIR/multishot-echo.c"
    start_server -n 4
    client check 300 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 200 check 4 2000000
    echo "$stderr"
    [ "$status" -eq 0 ]
    head -c 300000 /dev/urandom > sent
    half_close_client sent got
    [ "$status" -eq 0 ]
    cmp sent got
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    cat server.err
    [ "$(summary bytes)" -eq $((300 * 65536 + 4 * 2000000 + 300000)) ]
    [[ "$(cat server.err)" =~ ,\ notifs\ ([0-9]+)$ ]]
    [ "${BASH_REMATCH[1]}" -gt 0 ]
}

# bats test_tags=exercise
@test "[5] 9.2 (hard): with SEND_ZC, a client that never reads is capped, and SIGTERM with its send stuck still closes everyone and exits 0" {
    kernel_at_least 6 0 || skip "IORING_OP_SEND_ZC needs Linux 6.0; this is $(uname -r)"
    grep -q 'IORING_OP_SEND_ZC' "$STAGE_DIR/multishot-echo.c"
    start_server -n 64
    stuck_hog hog
    client check 20 100000
    [ "$status" -eq 0 ]
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" idle 5 > idle.out &
    BG_PIDS+=($!)
    for i in $(seq 100); do grep -q ready idle.out && break; sleep 0.05; done
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    wait "${BG_PIDS[-1]}"
    grep -qx 'the server closed 5 of 5' idle.out
    [ "$(summary capped)" -ge 1 ]
    [[ "$(cat server.err)" =~ ,\ notifs\ [0-9]+$ ]]
}
