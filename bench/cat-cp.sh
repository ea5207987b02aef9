#!/usr/bin/env bash
# bench/cat-cp.sh [RUNS [cat|cp|grid]] - 03-cat and 04-cp against
# coreutils, warm cache.  "grid" times 04-cp at several -q DEPTH and
# -b BYTES on the 1 GiB file instead: how its defaults were chosen.
#
# Runs each pair of commands RUNS times (default 15), ours and coreutils'
# alternately so both see the same machine, and prints for each the best
# and the median wall time, the ratios (time: ours / theirs; throughput:
# theirs / ours) and our largest max RSS (/usr/bin/time).  The files are
# made once in BENCH_DIR (default /tmp/uring-bench) and read once before
# timing, so the page cache is warm.  A benchmark, not a test: on a shared
# or small machine the median moves from run to run; the best of N is the
# steadier figure.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-15}
what=${2:-all}
dir=${BENCH_DIR:-/tmp/uring-bench}
CAT=$root/03-cat/cat
CP=$root/04-cp/cp
make -s -C "$root" >/dev/null
mkdir -p "$dir"
cd "$dir"

make_file() { # NAME MiB
    [ -f "$1" ] && [ "$(stat -c %s "$1")" -eq $(($2 * 1048576)) ] && return
    head -c $(($2 * 1048576)) /dev/urandom > "$1"
}
make_file f64 64
make_file f1g 1024
cat f64 f1g > /dev/null

# seconds CMD: wall time of one run of CMD (bash's microsecond clock).
seconds() {
    local t0=$EPOCHREALTIME
    sh -c "$1"
    echo "$EPOCHREALTIME - $t0" | bc -l
}

stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s", v[1], v[int((NR + 1) / 2)] }'; }

# compare LABEL OURS THEIRS
compare() {
    local label=$1 ours=$2 theirs=$3 i rss
    : > t.ours; : > t.theirs
    for i in $(seq "$runs"); do
        seconds "$ours" >> t.ours
        seconds "$theirs" >> t.theirs
    done
    rss=$(/usr/bin/time -f %M sh -c "$ours" 2>&1 >/dev/null | tail -n 1)
    set -- $(stats < t.ours) $(stats < t.theirs)
    printf '%-26s best: ours %.3fs coreutils %.3fs (time %.2fx, throughput %.2fx)   median: ours %.3fs coreutils %.3fs (time %.2fx, throughput %.2fx)   max RSS %d KiB\n' \
        "$label" "$1" "$3" "$(echo "$1 / $3" | bc -l)" "$(echo "$3 / $1" | bc -l)" \
        "$2" "$4" "$(echo "$2 / $4" | bc -l)" "$(echo "$4 / $2" | bc -l)" "$rss"
}

if [ "$what" = grid ]; then
    for qb in "1 131072" "2 131072" "4 131072" "8 131072" "16 65536" \
              "4 262144" "8 262144" "16 262144" "8 524288" "8 1048576"; do
        set -- $qb
        compare "cp -q $1 -b $2 f1g copy" "rm -f copy && $CP -q $1 -b $2 f1g copy" \
            "rm -f copy && cp f1g copy"
    done
    rm -f copy t.ours t.theirs
    exit 0
fi
[ "$what" = cp ] || for f in f64 f1g; do
    compare "cat $f > /dev/null" "$CAT $f > /dev/null" "cat $f > /dev/null"
    compare "cat $f | cat > /dev/null" "$CAT $f | cat > /dev/null" "cat $f | cat > /dev/null"
done
if [ "$what" != cat ] && [ -x "$CP" ]; then
    for f in f64 f1g; do
        compare "cp $f copy" "rm -f copy && $CP $f copy" "rm -f copy && cp $f copy"
    done
    rm -f copy
fi
rm -f t.ours t.theirs
