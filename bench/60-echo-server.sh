#!/usr/bin/env bash
# bench/60-echo-server.sh - 06-echo-server against bench/epoll-echo, driven by
# bench/echo-load: echo round trips per second at 1, 50 and 500
# connections with 128 B and 4 KiB messages, server and load generator
# pinned to different CPUs.  Runs on its own or from bench/run.
#
#   bench/60-echo-server.sh                   3 runs of 3 s per point (about 4 minutes)
#   QUICK=1 bench/60-echo-server.sh           1 run of 1 s per point (under a minute)
#   ECHO_RUNS=5 ECHO_SECONDS=5 ...  more
#
# For every point the two servers run alternately, the order swapped from
# run to run, and the table shows medians.  Besides round trips per second
# it shows how busy the server's CPU was, and the ratio per second of server
# CPU: on a shared machine, other work takes CPU from both processes and
# moves round trips per second a lot, round trips per CPU-second little.
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bench/bin}
QUICK=${QUICK:-}
RUNS=${ECHO_RUNS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
SECS=${ECHO_SECONDS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
WARM=0.5
CONNS=${ECHO_CONNS:-1 50 500}
SIZES=${ECHO_SIZES:-128 4096}

mkdir -p "$BIN"
for p in epoll-echo echo-load; do
    [ "$BIN/$p" -nt "$ROOT/bench/$p.c" ] ||
        ${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -o "$BIN/$p" "$ROOT/bench/$p.c"
done
make -s -C "$ROOT/06-echo-server" >/dev/null

# Plain commands (no functions), so that $! is the server itself: taskset
# execs it in place, and its CPU time is in /proc/$!/stat.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    on_server=(taskset -c 0)
    on_load=(taskset -c 1)
    where="server on CPU 0, load on CPU 1"
else
    on_server=()
    on_load=()
    where="NOT pinned: one CPU, or no taskset"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/echo-bench.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# start NAME PROG: start a server on a free port; sets PORT_NAME, PID_NAME.
start() {
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
start uring "$ROOT/06-echo-server/echo-server"
start epoll "$BIN/epoll-echo"
tck=$(getconf CLK_TCK)

# measure NAME CONNS SIZE: one run; appends "rt/s p50 p99 cpu%" to its file.
measure() {
    local port=PORT_$1 pid=PID_$1 t0 t1 line
    t0=$(awk '{ print $14 + $15 }' "/proc/${!pid}/stat")
    line=$("${on_load[@]}" "$BIN/echo-load" -p "${!port}" -c "$2" -s "$3" -t "$SECS" -w "$WARM")
    t1=$(awk '{ print $14 + $15 }' "/proc/${!pid}/stat")
    awk -v l="$line" -v cpu=$((t1 - t0)) -v tck="$tck" -v wall="$SECS" -v warm="$WARM" 'BEGIN {
        n = split(l, f, " "); for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        printf "%s %s %s %.0f\n", v["rt_per_s"], v["p50_us"], v["p99_us"], 100 * cpu / tck / (wall + warm)
    }' >> "$work/$1.$2.$3"
}

# median FILE COLUMN
median() { awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# spread FILE: (max - min) / median of round trips per second, in percent
spread() { sort -g "$1" | awk '{ a[NR] = $1 } END { printf "%.0f%%", (a[NR] - a[1]) / a[int((NR + 1) / 2)] * 100 }'; }

echo "== 06-echo-server vs epoll: echo round trips per second ($where; $RUNS x ${SECS} s per point, medians)"
printf '%5s %6s | %9s %7s %7s %4s | %9s %7s %7s %4s | %6s %6s | %7s\n' \
    conns size 'uring/s' 'p50 us' 'p99 us' cpu 'epoll/s' 'p50 us' 'p99 us' cpu ratio spread 'per-CPU'
for c in $CONNS; do
    for s in $SIZES; do
        for ((r = 0; r < RUNS; r++)); do
            if ((r % 2 == 0)); then measure uring "$c" "$s"; measure epoll "$c" "$s"
            else measure epoll "$c" "$s"; measure uring "$c" "$s"; fi
        done
        u=$work/uring.$c.$s e=$work/epoll.$c.$s
        ur=$(median "$u" 1) er=$(median "$e" 1) uc=$(median "$u" 4) ec=$(median "$e" 4)
        printf '%5s %6s | %9s %7s %7s %3s%% | %9s %7s %7s %3s%% | %5sx %6s | %6sx\n' \
            "$c" "${s}B" "$ur" "$(median "$u" 2)" "$(median "$u" 3)" "$uc" \
            "$er" "$(median "$e" 2)" "$(median "$e" 3)" "$ec" \
            "$(awk -v a="$ur" -v b="$er" 'BEGIN { printf "%.2f", a / b }')" \
            "$(spread "$u")/$(spread "$e")" \
            "$(awk -v a="$ur" -v b="$er" -v x="$uc" -v y="$ec" 'BEGIN { printf "%.2f", (a / x) / (b / y) }')"
    done
done
echo "(ratio: io_uring / epoll round trips per second, above 1.00 means io_uring is faster."
echo " cpu: the server's CPU time over the run; per-CPU: the ratio of round trips per second"
echo " of server CPU.  spread: (max - min) / median of io_uring / epoll over the runs.)"
