#!/usr/bin/env bash
# bench/91-multishot-echo.sh - 09-multishot-echo against 06-echo-server and
# bench/epoll-echo, driven by bench/echo-load: echo round trips per second
# at 1, 50, 500 and 2000 connections with 128 B and 4 KiB messages, server
# and load generator pinned to different CPUs.  Runs on its own or from
# bench/run.
#
#   bench/91-multishot-echo.sh               3 runs of 3 s per point (about 6 minutes)
#   QUICK=1 bench/91-multishot-echo.sh       1 run of 1 s per point
#   ECHO_RUNS=5 ECHO_SECONDS=5 ECHO_CONNS="50 500" ECHO_SIZES=128 ...
#
# For every point the three servers are started afresh and run in turn, the
# order rotated from run to run; the table shows medians.  Besides round
# trips per second and latency it shows the server's CPU time per round
# trip (microseconds): on a shared machine, other work moves round trips
# per second a lot and CPU per round trip little.  For 09 it also shows how
# many CQEs the kernel posted for each SQE it was given (from the server's
# summary line at SIGTERM: the point's runs, warm-up included).
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bench/bin}
QUICK=${QUICK:-}
RUNS=${ECHO_RUNS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
SECS=${ECHO_SECONDS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
WARM=0.5
CONNS=${ECHO_CONNS:-1 50 500 2000}
SIZES=${ECHO_SIZES:-128 4096}

mkdir -p "$BIN"
for p in epoll-echo echo-load; do
    [ "$BIN/$p" -nt "$ROOT/bench/$p.c" ] ||
        ${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -o "$BIN/$p" "$ROOT/bench/$p.c"
done
make -s -C "$ROOT/06-echo-server" >/dev/null
make -s -C "$ROOT/09-multishot-echo" >/dev/null

# 2000 connections need 2000 fds in the load generator and as many in each
# server: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
max=0
for c in $CONNS; do [ "$c" -gt "$max" ] && max=$c; done
if [ "$(ulimit -n)" -lt $((max + 64)) ]; then
    echo "== 09-multishot-echo: skipped, ulimit -n is $(ulimit -n) (hard limit), $max connections need more"
    exit 0
fi

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    on_server=(taskset -c 0)
    on_load=(taskset -c 1)
    where="server on CPU 0, load on CPU 1"
else
    on_server=()
    on_load=()
    where="NOT pinned: one CPU, or no taskset"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/multishot-bench.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# start NAME PROG: start a server on a free port; sets PORT_NAME, PID_NAME.
start() {
    # Emptied here, not only by the redirection below: that one happens in
    # the child, perhaps after the loop has read the last server's line.
    : > "$work/$1.out"
    "${on_server[@]}" "$2" -p 0 > "$work/$1.out" 2> "$work/$1.err" &
    local pid=$! i
    pids+=("$pid")
    for i in $(seq 50); do
        grep -qs '^listening on ' "$work/$1.out" && break
        kill -0 "$pid" 2>/dev/null || { echo "echo bench: $1 did not start:" >&2; cat "$work/$1.err" >&2; exit 1; }
        sleep 0.1
    done
    printf -v "PORT_$1" '%s' "$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/$1.out")"
    printf -v "PID_$1" '%s' "$pid"
}
# stop NAME: SIGTERM, and wait for it.
stop() {
    local pid=PID_$1
    kill -TERM "${!pid}" 2>/dev/null || true
    wait "${!pid}" 2>/dev/null || true
}
tck=$(getconf CLK_TCK)

# measure NAME CONNS SIZE: one run; appends "rt/s p50 p99 cpu_us_per_rt" to its file.
measure() {
    local port=PORT_$1 pid=PID_$1 t0 t1 line
    t0=$(awk '{ print $14 + $15 }' "/proc/${!pid}/stat")
    line=$("${on_load[@]}" "$BIN/echo-load" -p "${!port}" -c "$2" -s "$3" -t "$SECS" -w "$WARM") ||
        { echo "echo bench: the load against $1 failed ($2 x $3 B): counted as 0" >&2; line="rt_per_s=0"; }
    t1=$(awk '{ print $14 + $15 }' "/proc/${!pid}/stat" 2>/dev/null) ||
        { echo "echo bench: $1 is gone" >&2; cat "$work/$1.err" >&2; exit 1; }
    awk -v l="$line" -v cpu=$((t1 - t0)) -v tck="$tck" -v wall="$SECS" -v warm="$WARM" 'BEGIN {
        n = split(l, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        # CPU over warm-up and run, spread over the round trips of both.
        rts = v["rt_per_s"] * (wall + warm)
        printf "%s %s %s %.1f\n", v["rt_per_s"], v["p50_us"], v["p99_us"], (rts > 0 ? cpu / tck * 1e6 / rts : 0)
    }' >> "$work/$1.$2.$3"
}

# median FILE COLUMN
median() { awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# spread FILE: (max - min) / median of round trips per second, in percent
spread() { sort -g "$1" | awk '{ a[NR] = $1 } END { printf "%.0f%%", (a[NR] - a[1]) / a[int((NR + 1) / 2)] * 100 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

names=(multi uring epoll)
echo "== 09-multishot-echo vs 06-echo-server vs epoll: echo round trips per second"
echo "   ($where; $RUNS x ${SECS} s per point, medians; us = server CPU microseconds per round trip)"
printf '%5s %6s | %8s %6s %6s %5s | %8s %6s %6s %5s | %8s %6s %6s %5s | %5s %5s | %6s %s\n' \
    conns size '09 rt/s' p50 p99 us '06 rt/s' p50 p99 us 'ep rt/s' p50 p99 us 09/ep 09/06 CQE:SQE spread
for c in $CONNS; do
    for s in $SIZES; do
        start multi "$ROOT/09-multishot-echo/multishot-echo"
        start uring "$ROOT/06-echo-server/echo-server"
        start epoll "$BIN/epoll-echo"
        for ((r = 0; r < RUNS; r++)); do
            for ((k = 0; k < 3; k++)); do
                measure "${names[$(((k + r) % 3))]}" "$c" "$s"
            done
        done
        stop multi
        stop uring
        stop epoll
        cqe_sqe=$(sed -n 's/.*SQEs \([0-9]*\), CQEs \([0-9]*\),.*/\2 \1/p' "$work/multi.err" |
            awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "-" }')
        m=$work/multi.$c.$s u=$work/uring.$c.$s e=$work/epoll.$c.$s
        mr=$(median "$m" 1) ur=$(median "$u" 1) er=$(median "$e" 1)
        printf '%5s %6s | %8s %6s %6s %5s | %8s %6s %6s %5s | %8s %6s %6s %5s | %5s %5s | %6s %s\n' \
            "$c" "${s}B" "$mr" "$(median "$m" 2)" "$(median "$m" 3)" "$(median "$m" 4)" \
            "$ur" "$(median "$u" 2)" "$(median "$u" 3)" "$(median "$u" 4)" \
            "$er" "$(median "$e" 2)" "$(median "$e" 3)" "$(median "$e" 4)" \
            "$(ratio "$mr" "$er")" "$(ratio "$mr" "$ur")" "${cqe_sqe:--}" \
            "$(spread "$m")/$(spread "$u")/$(spread "$e")"
    done
done
echo "(09/ep, 09/06: ratios of round trips per second, above 1.00 means 09 is faster."
echo " p50, p99: latency in microseconds.  spread: (max - min) / median of 09/06/epoll over the runs."
echo " CQE:SQE: CQEs per SQE in 09 over the point's runs, warm-up included.)"
