# tests/06-echo-server.bats - an echo server whose every socket call goes through the ring
# bats file_tags=stage:06
bats_require_minimum_version 1.8.0
load helpers

# The clients live in tests/tools/echo-client.c (plain sockets, poll(2)).
setup_file() {
    cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra \
        -o "$BATS_FILE_TMPDIR/echo-client" "$TESTS_DIR/tools/echo-client.c"
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    CLIENT=$BATS_FILE_TMPDIR/echo-client
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

# How long a client may take: a foreground one (client), and one in the
# background.  60 s and 20 s by default; both follow TEST_TIMEOUT, which
# tools/check-exercises lowers to grade a starter that never answers.
CLIENT_TIMEOUT=$((2 * TEST_TIMEOUT))
BG_TIMEOUT=$((2 * TEST_TIMEOUT / 3))

# client [OPTION]... MODE ARG...: run tests/tools/echo-client against it.
client() {
    run --separate-stderr timeout "$CLIENT_TIMEOUT" "$CLIENT" -p "$PORT" "$@"
}

fd_count() { ls "/proc/$SERVER_PID/fd" | wc -l; }
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

# summary FIELD: a number from the server's summary line ("short sends").
summary() { sed -n "s/.* \([0-9]*\) $1.*/\1/p" server.err | tail -n 1; }

@test "echo-server: prints 'listening on 127.0.0.1:PORT' with the real port, and echoes" {
    start_server
    [[ "$(cat server.out)" =~ ^listening\ on\ 127\.0\.0\.1:[0-9]+$ ]]
    client sequential 1
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(wc -l < server.out)" -eq 1 ]
}

@test "echo-server: -a ::1 listens on IPv6 and prints the address in brackets" {
    grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || skip "this machine has no ::1"
    start_server -a ::1
    [[ "$(cat server.out)" =~ ^listening\ on\ \[::1\]:[0-9]+$ ]]
    client -a ::1 check 20 10000
    [ "$status" -eq 0 ]
}

@test "echo-server: 300 clients at once each get back exactly their own bytes, none of another's" {
    start_server
    client check 300 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary connections)" -eq 300 ]
    [ "$(summary 'bytes')" -eq $((300 * 65536)) ]
}

@test "echo-server: 8 MiB each way to slow readers: short sends are finished, every byte comes back" {
    start_server
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

@test "echo-server: clients that reset mid-stream lose only their own connection" {
    start_server
    client reset 50 200000
    [ "$status" -eq 0 ]
    client check 20 10000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "echo-server: a client that sends and never reads stalls only itself; memory stays bounded" {
    start_server
    rss0=$(rss_kib)
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" hog 3 > hog.out &
    BG_PIDS+=($!)
    sleep 0.5
    client check 50 100000
    [ "$status" -eq 0 ]
    rss1=$(rss_kib)
    wait "${BG_PIDS[0]}"
    cat hog.out
    # The hog is only let in as far as the kernel's socket buffers reach
    # (a few MiB), not 3 s of loopback speed (gigabytes).
    sent=$(sed -n 's/^sent \([0-9]*\) bytes.*/\1/p' hog.out)
    [ "$sent" -lt $((64 * 1024 * 1024)) ]
    echo "RSS $rss0 KiB -> $rss1 KiB"
    [ "$rss1" -lt $((rss0 + 8192)) ]
}

@test "echo-server: 3000 short connections in a row: the fd count returns to its baseline" {
    start_server
    base=$(fd_count)
    client sequential 3000
    [ "$status" -eq 0 ]
    # The last CLOSE may still be on its way: allow a moment.
    for i in $(seq 50); do [ "$(fd_count)" -eq "$base" ] && break; sleep 0.1; done
    [ "$(fd_count)" -eq "$base" ]
    stop_server
    [ "$(summary connections)" -eq 3000 ]
}

@test "echo-server: out of fds (ulimit -n 16) it pauses accept without spinning, then serves everyone" {
    ULIMIT_N=16 start_server
    t0=$(cpu_ticks)
    # 30 clients, room for about 9: the rest wait in the listen backlog
    # until the first ones leave.
    client hold 30 1.5
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^echoed\ ([0-9]+)\ of\ 30\ at\ first,\ 30\ in\ the\ end$ ]]
    [ "${BASH_REMATCH[1]}" -lt 30 ]
    t1=$(cpu_ticks)
    # Resting 50 ms between tries costs next to nothing; a busy loop
    # would burn the whole 1.5 s.
    echo "CPU: $((t1 - t0)) ticks of $(getconf CLK_TCK) per second"
    [ $((t1 - t0)) -lt $(($(getconf CLK_TCK) / 2)) ]
    client check 5 1000
    [ "$status" -eq 0 ]
    grep -q '^echo-server: accept (trying again every 50 ms): Too many open files$' server.err
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary 'times')" -ge 1 ]
}

@test "echo-server: a 4-entry ring (SQ full, CQ overflowing) still gives 200 clients their own bytes" {
    ECHO_SERVER_ENTRIES=4 start_server
    client check 200 65536
    echo "$stderr"
    [ "$status" -eq 0 ]
    client -r 4096 -d 200 check 4 2000000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "echo-server: SIGTERM closes every connection, prints one summary line and exits 0" {
    start_server
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" idle 20 > idle.out &
    BG_PIDS+=($!)
    for i in $(seq 100); do grep -q ready idle.out && break; kill -0 "${BG_PIDS[-1]}" 2>/dev/null || break; sleep 0.05; done
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    wait "${BG_PIDS[0]}"
    grep -qx 'the server closed 20 of 20' idle.out
    [ "$(cat server.err)" = "echo-server: stopped by SIGTERM: served 20 connections, echoed 20 bytes, finished 0 short sends, paused accept 0 times" ]
    # and it no longer accepts
    client sequential 1
    [ "$status" -ne 0 ]
}

@test "echo-server: SIGINT with a send stuck on a client that never reads still exits 0" {
    start_server
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" hog 2 > hog.out &
    BG_PIDS+=($!)
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" idle 5 > idle.out &
    BG_PIDS+=($!)
    for i in $(seq 100); do grep -q ready idle.out && break; kill -0 "${BG_PIDS[-1]}" 2>/dev/null || break; sleep 0.05; done
    sleep 0.3
    stop_server INT
    [ "$SERVER_STATUS" -eq 0 ]
    [[ "$(cat server.err)" == "echo-server: stopped by SIGINT: served 6 connections, "* ]]
    wait "${BG_PIDS[1]}"
    grep -qx 'the server closed 5 of 5' idle.out
}

# listen_port PID: the TCP port PID listens on, found through /proc (its
# socket's inode in /proc/net/tcp), for a server whose stdout is closed.
listen_port() {
    local inode hex
    for inode in $(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' | tr -dc '0-9\n'); do
        hex=$(awk -v ino="$inode" '$4 == "0A" && $10 == ino { split($2, a, ":"); print a[2] }' /proc/net/tcp)
        [ -z "$hex" ] || { printf '%d\n' "0x$hex"; return; }
    done
}

@test "echo-server: started with fds 0, 1 and 2 closed, and out of fds (ulimit -n 16), it warns into nothing, serves everyone, and SIGTERM ends it with exit 0" {
    # Its listening socket would otherwise be fd 2, and its warning that
    # accept failed (EMFILE) a write to a listening socket: EPIPE, SIGPIPE.
    ( ulimit -n 16; exec "$STAGE_DIR/echo-server" -p 0 0<&- 1>&- 2>&- ) &
    SERVER_PID=$!
    PORT=
    for i in $(seq 100); do
        PORT=$(listen_port "$SERVER_PID")
        [ -n "$PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$PORT" ]; then
        rc=0
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=
        [ "$rc" -ne 77 ] || skip "io_uring is not available here"
        echo "the server exited with $rc before listening" >&2
        return 1
    fi
    client hold 30 1
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^echoed\ ([0-9]+)\ of\ 30\ at\ first,\ 30\ in\ the\ end$ ]]
    [ "${BASH_REMATCH[1]}" -lt 30 ]
    client check 5 1000
    [ "$status" -eq 0 ]
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "echo-server: the summary counts connections served and bytes echoed" {
    start_server
    client sequential 10
    client check 3 1000
    [ "$status" -eq 0 ]
    stop_server
    [[ "$(cat server.err)" == *": served 13 connections, echoed 3320 bytes, "* ]]
}

@test "echo-server: a port in use is a runtime error naming the address, exit 1" {
    start_server
    run_stage echo-server -p "$PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "$stderr" = "echo-server: bind 127.0.0.1:$PORT: Address already in use" ]
}

@test "echo-server: a bad PORT or ADDR, an unknown option or an argument is a usage error, exit 2" {
    for args in "-p 65536" "-p x" "-p -1" "-p 80x" "-a 1.2.3" "-a 256.0.0.1" "-a localhost" "-z" "extra"; do
        run_stage echo-server $args
        echo "$args: $status $stderr"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"usage: echo-server [-a ADDR] [-p PORT]" ]]
    done
}

@test "echo-server: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage echo-server "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "usage: echo-server [-a ADDR] [-p PORT]" ]
    done
}

@test "echo-server: where seccomp forbids io_uring (EPERM, as Docker does) it explains and exits 77" {
    assert_forbidden EPERM echo-server -p 0
}

@test "echo-server: on a kernel without io_uring (ENOSYS) it explains and exits 77" {
    assert_forbidden ENOSYS echo-server -p 0
}

# ---- Exercises (make grade STAGE=06-echo-server; left out of make test) ----

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
@test "[5] 6.1 (easy): one multishot ACCEPT (IORING_ACCEPT_MULTISHOT) serves 300 clients at once, then 2000 in a row" {
    kernel_at_least 5 19 || skip "multishot accept needs Linux 5.19; this is $(uname -r)"
    grep -q 'IORING_ACCEPT_MULTISHOT' "$STAGE_DIR/echo-server.c"
    grep -q 'IORING_CQE_F_MORE' "$STAGE_DIR/echo-server.c"
    start_server
    client check 300 10000
    [ "$status" -eq 0 ]
    client sequential 2000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary connections)" -eq 2300 ]
}

# bats test_tags=exercise
@test "[5] 6.1 (easy): with multishot accept, out of fds it still pauses, re-arms, and SIGTERM still stops it" {
    kernel_at_least 5 19 || skip "multishot accept needs Linux 5.19; this is $(uname -r)"
    grep -q 'IORING_ACCEPT_MULTISHOT' "$STAGE_DIR/echo-server.c"
    ULIMIT_N=16 start_server
    client hold 30 1
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^echoed\ [0-9]+\ of\ 30\ at\ first,\ 30\ in\ the\ end$ ]]
    client check 5 1000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ "$(summary 'times')" -ge 1 ]
    [ "$(summary connections)" -eq 35 ]
}

# bats test_tags=exercise
@test "[5] 6.2 (moderate): -t 1 closes a client silent for 1 s (RECV + IORING_OP_LINK_TIMEOUT), not one that talks" {
    grep -q 'IORING_OP_LINK_TIMEOUT' "$STAGE_DIR/echo-server.c"
    start_server -t 1
    # idle: 10 round trips, then silence: closed after about a second
    SECONDS=0
    client idle 10
    [ "$status" -eq 0 ]
    grep -qx 'the server closed 10 of 10' <<< "$output"
    [ "$SECONDS" -le 4 ]
    # a client that pauses 0.5 s between lines for 2.5 s is never cut off
    run_sh "exec 3<>/dev/tcp/127.0.0.1/$PORT
        for i in 1 2 3 4 5; do echo line\$i >&3; read -r -t 2 got <&3 || exit 1; echo \"\$got\"; sleep 0.5; done"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'line%s\n' 1 2 3 4 5)" ]
    # and busy clients are not disturbed
    client check 50 100000
    [ "$status" -eq 0 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

# bats test_tags=exercise
@test "[5] 6.2 (moderate): -t with a 4-entry ring, SIGTERM with timeouts pending, and a bad -t is a usage error" {
    grep -q 'IORING_OP_LINK_TIMEOUT' "$STAGE_DIR/echo-server.c"
    ECHO_SERVER_ENTRIES=4 start_server -t 2
    client check 100 20000
    [ "$status" -eq 0 ]
    timeout "$BG_TIMEOUT" "$CLIENT" -p "$PORT" idle 20 > idle.out &
    BG_PIDS+=($!)
    for i in $(seq 100); do grep -q ready idle.out && break; kill -0 "${BG_PIDS[-1]}" 2>/dev/null || break; sleep 0.05; done
    stop_server TERM
    [ "$SERVER_STATUS" -eq 0 ]
    wait "${BG_PIDS[0]}"
    grep -qx 'the server closed 20 of 20' idle.out
    [[ "$(cat server.err)" == "echo-server: stopped by SIGTERM: served 120 connections, "* ]]
    for bad in 0 x -1 1x; do
        run_stage echo-server -t "$bad"
        [ "$status" -eq 2 ]
    done
}
