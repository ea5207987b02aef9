#!/usr/bin/env bash
# 09-multishot-echo/tour.sh - what `make tour` runs for this stage: start the
# server on a free port, send it three lines one by one through bash's
# /dev/tcp, print each echo, stop the server with SIGINT.  Its summary shows
# one RECV armed for all three.  Every wait is bounded.
set -u
cd "$(dirname "$0")"
out=$(mktemp)
err=$(mktemp)
./multishot-echo -p 0 > "$out" 2> "$err" &
pid=$!
trap 'kill -KILL $pid 2>/dev/null; rm -f "$out" "$err"' EXIT
for _ in $(seq 50); do
    grep -q '^listening on ' "$out" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
if ! grep -q '^listening on ' "$out"; then
    # It did not start: show why and pass its exit code on (77: skipped).
    kill -KILL $pid 2>/dev/null
    wait $pid
    rc=$?
    cat "$err" >&2
    exit $rc
fi
cat "$out"
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out")
exec 3<> "/dev/tcp/127.0.0.1/$port"
for line in 'hello, ring' 'one RECV' 'many CQEs'; do
    printf '%s\n' "$line" >&3
    reply=
    IFS= read -r -t 2 reply <&3
    echo "client sent '$line', got back '$reply'"
done
exec 3<&-
kill -INT $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
wait $pid
rc=$?
cat "$err"
exit $rc
