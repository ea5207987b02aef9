# bench/03-cat.sh - 03-cat against coreutils cat (run it through bench/run):
# throughput to /dev/null and into a pipe, warm page cache and (where the
# cache can be dropped) cold, and system calls per MiB, the point of
# batching.  Full run: 1 MiB, 64 MiB and 1 GiB; QUICK: 1 and 64 MiB.
. "$ROOT/bench/lib.sh"
CAT=$ROOT/03-cat/cat
[ -x "$CAT" ] || { echo "== 03-cat: not built, no rows"; exit 0; }
SIZES=$([ -n "$QUICK" ] && echo "1 64" || echo "1 64 1024")
for m in $SIZES; do make_file "$TMP/$m.mib" "$m"; done

# row LABEL MIB PREP OURS THEIRS: a line of the throughput table.
row() {
    local label=$1 m=$2 out
    out=$(side_by_side "$3" "$4" "$5") || return 0
    set -- $out # ours: $1-$5, theirs: $6-$10
    local bytes=$((m * 1048576))
    printf '%-22s %8s | %8s %8s | %6sx  %4s/%-4s\n' "$label" "$(size "$m")" \
        "$(mib_per_s "$bytes" "$1")" "$(mib_per_s "$bytes" "$6")" "$(ratio "$6" "$1")" \
        "$(spread "$2" "$3" "$1")" "$(spread "$7" "$8" "$6")"
}
header() {
    printf '%-22s %8s | %8s %8s | %7s  %s\n' case size '03-cat' coreutils ratio 'spread ours/theirs'
}

devnull() { q "$1" "$TMP/$2.mib"; }
pipe() { q bash -c "$(q "$1" "$TMP/$2.mib") | cat > /dev/null"; }

echo "== 03-cat vs $(cat --version | head -n 1): throughput in MiB/s, warm page cache ($RUNS runs, medians)"
header
for m in $SIZES; do
    row "FILE > /dev/null" "$m" "" "$(devnull "$CAT" "$m")" "$(devnull cat "$m")"
done
for m in $SIZES; do
    row "FILE | cat > /dev/null" "$m" "" "$(pipe "$CAT" "$m")" "$(pipe cat "$m")"
done
COLD=$([ -n "$QUICK" ] && echo 64 || echo "64 1024")
if drop_caches; then
    echo "-- cold page cache: dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every run"
    for m in $COLD; do
        row "FILE > /dev/null cold" "$m" drop_caches "$(devnull "$CAT" "$m")" "$(devnull cat "$m")"
    done
    for m in $SIZES; do cat "$TMP/$m.mib" > /dev/null; done # warm again
else
    echo "-- no cold rows: the page cache cannot be dropped here (needs root)"
fi
echo "(ratio: 03-cat / coreutils throughput, above 1.00 means 03-cat is faster; the pipe"
echo " rows include starting bash and the reading cat, the same on both sides.)"

# syscalls PROG FILE [pipe]: "io total" system calls of one traced run of
# PROG, io being io_uring_enter for 03-cat and read + write for coreutils.
syscalls() {
    local out=$TMP/strace.out
    if [ "${3:-}" = pipe ]; then
        strace -f -c -o "$out" "$1" "$2" | cat > /dev/null
    else
        strace -f -c -o "$out" "$1" "$2" > /dev/null
    fi
    awk '$NF == "total" { t = $4 } $NF ~ /^(io_uring_enter|read|write)$/ { io += $4 }
         END { print io + 0, t + 0 }' "$out"
}
echo
if ! command -v strace > /dev/null || ! strace -o /dev/null true 2> /dev/null; then
    echo "== 03-cat system calls per MiB: strace is missing or cannot trace here, no table"
    exit 0
fi
echo "== 03-cat vs coreutils cat: system calls per MiB (strace -f -c, one run each; 03-cat's"
echo "   I/O calls are io_uring_enter, coreutils' are read + write; all = every system call)"
printf '%-22s %8s | %9s %9s | %9s %9s | %7s\n' case size '03-cat io' all 'cat io' all 'ratio'
per_mib() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.1f", n / m }'; }
for p in "" pipe; do
    for m in $SIZES; do
        set -- $(syscalls "$CAT" "$TMP/$m.mib" $p) $(syscalls cat "$TMP/$m.mib" $p)
        printf '%-22s %8s | %9s %9s | %9s %9s | %6sx\n' \
            "$([ -n "$p" ] && echo "FILE | cat > /dev/null" || echo "FILE > /dev/null")" "$(size "$m")" \
            "$(per_mib "$1" "$m")" "$(per_mib "$2" "$m")" "$(per_mib "$3" "$m")" "$(per_mib "$4" "$m")" \
            "$(ratio "$2" "$4")"
    done
done
echo "(ratio: 03-cat / coreutils, all system calls.  Into a pipe only the writer is traced;"
echo " the pipe holds 64 KiB, so every write completes short and 03-cat enters once per"
echo " 64 KiB, like coreutils' write(2).  At 1 MiB, starting the program dominates.)"
rm -f "$TMP/strace.out" "$TMP"/sbs.*
