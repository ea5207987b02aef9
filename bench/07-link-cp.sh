# bench/07-link-cp.sh - 07-link-cp (each block a read linked to its write)
# against 04-cp (read, CQE, then write) and coreutils cp, on the same files
# in one run (through bench/run): time and CPU, warm cache; then what each
# costs in CQEs and io_uring_enter calls per GiB.
# Full run: 64 MiB and 1 GiB; QUICK: 64 MiB.
. "$ROOT/bench/lib.sh"
LINK=$ROOT/07-link-cp/link-cp CP4=$ROOT/04-cp/cp
[ -x "$LINK" ] && [ -x "$CP4" ] || { echo "== 07-link-cp: not built, no rows"; exit 0; }
SIZES=$([ -n "$QUICK" ] && echo 64 || echo "64 1024")
for m in $SIZES; do make_file "$TMP/$m.mib" "$m"; done
DST=$TMP/link.dst

echo "== 07-link-cp vs 04-cp and coreutils cp, defaults: time in ms, warm cache ($RUNS runs, medians)"
printf '%-8s | %8s %8s %8s | %7s %7s | %-14s | %s\n' size 07-link 04-cp cp '/04-cp' '/cp' 'spread' 'CPU ms 07/04/cp'
for m in $SIZES; do
    src=$TMP/$m.mib
    out=$(side_by_side "rm -f '$DST'" "$(q "$LINK" "$src" "$DST")" "$(q "$CP4" "$src" "$DST")" \
        "$(q cp "$src" "$DST")") || continue
    set -- $out # 07: $1-$5, 04: $6-$10, cp: $11-$15
    printf '%-8s | %8s %8s %8s | %6sx %6sx | %-14s | %s/%s/%s\n' "$(size "$m")" \
        "$(ms "$1")" "$(ms "$6")" "$(ms "${11}")" "$(ratio "$1" "$6")" "$(ratio "$1" "${11}")" \
        "$(spread "$2" "$3" "$1")/$(spread "$7" "$8" "$6")/$(spread "${12}" "${13}" "${11}")" \
        "$(ms "$5")" "$(ms "${10}")" "$(ms "${15}")"
done
echo "(/04-cp, /cp: 07's time over theirs, below 1.00 means 07 is faster.  spread: 07/04/cp.)"

# Counts, from one run of each on the largest file, scaled to a GiB: CQEs
# from the programs' own -v summaries, io_uring_enter calls from strace
# where it works (else from 07's own count, and none for 04).
m=${SIZES##* }
src=$TMP/$m.mib
per_gib() { awk -v n="$1" -v m="$m" 'BEGIN { printf "%.0f", n * 1024 / m }'; }
l7=$("$LINK" -v "$src" "$DST" 2>&1 >/dev/null | tail -n 1)
c7=$(sed -n 's/^link-cp: \([0-9]*\) CQEs for \([0-9]*\) chains.*/\1/p' <<< "$l7")
ch7=$(sed -n 's/^link-cp: [0-9]* CQEs for \([0-9]*\) chains.*/\1/p' <<< "$l7")
e7=$(sed -n 's/.* \([0-9]*\) io_uring_enter calls$/\1/p' <<< "$l7")
c4=$("$CP4" -v "$src" "$DST" 2>&1 >/dev/null | tail -n 1 | sed -n 's/.* \([0-9]*\) completions,.*/\1/p')
e4=-
if command -v strace > /dev/null && strace -o /dev/null true 2> /dev/null; then
    enters() { strace -f -qq -c -e trace=io_uring_enter -o "$TMP/strace.out" "$@" > /dev/null 2>&1
               awk '$NF == "io_uring_enter" { print $4 }' "$TMP/strace.out"; }
    e4=$(enters "$CP4" "$src" "$DST")
    e7s=$(enters "$LINK" "$src" "$DST")
fi
rm -f "$DST" "$TMP/strace.out" "$TMP"/sbs.*
echo "   per GiB ($(size "$m") copied, blocks of 256 KiB: $(per_gib "$ch7") blocks):" \
    "CQEs 07 $(per_gib "$c7"), 04 $(per_gib "$c4");" \
    "io_uring_enter calls 07 $(per_gib "$e7")${e7s:+ (strace: $(per_gib "$e7s"))}, 04 $([ "$e4" = - ] && echo - || per_gib "$e4")"
echo "   (links halve the CQEs; a call still waits for each write that a worker thread finishes)"
