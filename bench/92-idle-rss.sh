#!/usr/bin/env bash
# bench/92-idle-rss.sh - what an idle connection costs: the resident memory
# (VmRSS) of 09-multishot-echo, 06-echo-server and bench/epoll-echo holding
# 5,000 idle connections, each of which has echoed one message first (of
# 128 B, then of 16 KiB: 06's and epoll's whole buffer).  Runs on its own or
# from bench/run.
#
#   bench/92-idle-rss.sh                   5000 connections
#   IDLE_CONNS=1000 bench/92-idle-rss.sh
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bench/bin}
N=${IDLE_CONNS:-5000}

mkdir -p "$BIN"
for p in epoll-echo echo-load; do
    [ "$BIN/$p" -nt "$ROOT/bench/$p.c" ] ||
        ${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -o "$BIN/$p" "$ROOT/bench/$p.c"
done
make -s -C "$ROOT/06-echo-server" >/dev/null
make -s -C "$ROOT/09-multishot-echo" >/dev/null

# Each side needs an fd per connection: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt $((N + 64)) ]; then
    echo "== idle RSS: skipped, ulimit -n is $(ulimit -n) (hard limit), $N connections need more"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/idle-rss.XXXXXX")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

# row NAME PROG SIZE: "RSS before, RSS with N idle connections" in KiB.
row() {
    local out=$work/$1.$3.out
    "$2" -p 0 > "$out" 2> "$work/$1.$3.err" &
    local pid=$! i
    pids+=("$pid")
    for i in $(seq 50); do
        grep -qs '^listening on ' "$out" && break
        sleep 0.1
    done
    local port before after
    port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
    before=$(rss "$pid")
    mkfifo "$work/hold"
    "$BIN/echo-load" -i -p "$port" -c "$N" -s "$3" < "$work/hold" > "$work/load" &
    local load=$!
    exec 7> "$work/hold"
    for i in $(seq 600); do
        grep -qs '^idle: ' "$work/load" && break
        kill -0 "$load" 2>/dev/null || break
        sleep 0.1
    done
    after=$(rss "$pid")
    grep -qs '^idle: ' "$work/load" || after="(load failed)"
    exec 7>&-
    wait "$load" || true
    rm -f "$work/hold"
    kill -TERM "$pid"
    wait "$pid" || true
    echo "$before $after"
}

echo "== resident memory of the server holding $N idle connections (KiB, VmRSS)"
printf '%-16s %8s | %10s %10s %10s | %10s %10s %10s\n' \
    message before '09' '06' epoll '09 /conn' '06 /conn' 'ep /conn'
for size in 128 16384; do
    read -r b9 a9 <<< "$(row multi "$ROOT/09-multishot-echo/multishot-echo" "$size")"
    read -r b6 a6 <<< "$(row uring "$ROOT/06-echo-server/echo-server" "$size")"
    read -r be ae <<< "$(row epoll "$BIN/epoll-echo" "$size")"
    per() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.2f", (a - b) / n }'; }
    printf '%-16s %8s | %10s %10s %10s | %10s %10s %10s\n' "one of ${size} B" "$b9/$b6/$be" \
        "$a9" "$a6" "$ae" "$(per "$a9" "$b9")" "$(per "$a6" "$b6")" "$(per "$ae" "$be")"
done
echo "(before: at start, 09/06/epoll.  /conn: KiB per connection over the start.  09's ring of"
echo " 1024 buffers of 4 KiB (4 MiB) is shared: it counts once, however many connections there are.)"
