# bench/04-cp.sh - 04-cp against coreutils cp and bench/rwcopy (plain
# read/write, the same block size) on the same files (run it through
# bench/run): time, CPU, warm and (where the cache can be dropped) cold;
# then the DEPTH x BYTES sweep that chose 04-cp's defaults.
# Full run: 64 MiB and 1 GiB, 6 x 4 sweep; QUICK: 64 MiB, 3 x 2 sweep.
. "$ROOT/bench/lib.sh"
CP=$ROOT/04-cp/cp
[ -x "$CP" ] || { echo "== 04-cp: not built, no rows"; exit 0; }
SIZES=$([ -n "$QUICK" ] && echo 64 || echo "64 1024")
for m in $SIZES; do make_file "$TMP/$m.mib" "$m"; done
DST=$TMP/cp.dst
# The defaults, from the source, so that the baseline and the mark follow them.
DEPTH=$(sed -n 's/^#define DEFAULT_DEPTH \([0-9]*\).*/\1/p' "$ROOT/04-cp/cp.c")
BYTES=$(($(sed -n 's/^#define DEFAULT_BYTES \(.*\)/\1/p' "$ROOT/04-cp/cp.c")))


# What coreutils cp calls to move the data, from one traced copy: the
# copying calls, and reads and writes of more than 4 KiB (not the loader's).
how=$(strace -f -o "$TMP/strace.out" cp "$TMP/64.mib" "$DST" 2> /dev/null &&
    awk '{ sub(/^[0-9]+ +/, ""); call = $0; sub(/\(.*/, "", call); ret = $NF }
         call ~ /^(copy_file_range|sendfile|splice)$/ || (call ~ /^(read|write)$/ && ret > 4096) { n[call]++ }
         call == "ioctl" && /FICLONE/ { r = match($0, /= -1 [A-Z]+/) ? substr($0, RSTART + 5, RLENGTH - 5) : "cloned"
                                        n["ioctl FICLONE (" r ")"]++ }
         END { for (c in n) { printf "%s%s x%d", sep, c, n[c]; sep = ", " } }' "$TMP/strace.out")
rm -f "$DST"
# ... and how often each program enters the kernel for that 64 MiB.
count() { # PROG...: "N name, ..." for the data-moving calls of one run
    strace -f -c -o "$TMP/strace.out" "$@" > /dev/null 2>&1
    rm -f "$DST"
    awk '$NF ~ /^(io_uring_enter|read|write|copy_file_range)$/ { printf "%s%s %s", sep, $4, $NF; sep = ", " }' "$TMP/strace.out"
}

echo "== 04-cp (-q $DEPTH -b $BYTES) vs coreutils cp and rwcopy (read/write, -b $BYTES): time in ms, warm cache ($RUNS runs, medians)"
case "$how" in
*copy_file_range*) echo "   coreutils cp uses copy_file_range(2), which copies inside the kernel, never through user space" ;;
*) echo "   coreutils cp did not use copy_file_range(2) here" ;;
esac
echo "   (strace of its 64 MiB copy: ${how:-strace unavailable})"
printf '%-14s | %8s %8s %8s | %7s %7s | %-14s | %s\n' size 04-cp cp rwcopy '/cp' '/rwcopy' 'spread' 'CPU ms 04-cp/cp/rwcopy'
row() { # LABEL MIB PREP
    local label=$1 src=$TMP/$2.mib out
    out=$(side_by_side "rm -f '$DST'; $3" "$(q "$CP" "$src" "$DST")" "$(q cp "$src" "$DST")" \
        "$(q "$BIN/rwcopy" -b "$BYTES" "$src" "$DST")") || return 0
    set -- $out # 04-cp: $1-$5, cp: $6-$10, rwcopy: $11-$15
    printf '%-14s | %8s %8s %8s | %6sx %6sx | %-14s | %s/%s/%s\n' "$label" \
        "$(ms "$1")" "$(ms "$6")" "$(ms "${11}")" "$(ratio "$1" "$6")" "$(ratio "$1" "${11}")" \
        "$(spread "$2" "$3" "$1")/$(spread "$7" "$8" "$6")/$(spread "${12}" "${13}" "${11}")" \
        "$(ms "$5")" "$(ms "${10}")" "$(ms "${15}")"
}
for m in $SIZES; do row "$(size "$m")" "$m" ""; done
if drop_caches; then
    echo "-- cold page cache: dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every run"
    row "64 MiB cold" 64 drop_caches
    for m in $SIZES; do cat "$TMP/$m.mib" > /dev/null; done # warm again
else
    echo "-- no cold rows: the page cache cannot be dropped here (needs root)"
fi
echo "(/cp, /rwcopy: 04-cp's time over theirs, below 1.00 means 04-cp is faster.  spread:"
echo " 04-cp/cp/rwcopy.  CPU: user + system of all threads, io_uring's io-wq workers included."
echo " DST is removed, untimed, before every run.)"
if command -v strace > /dev/null && strace -o /dev/null true 2> /dev/null; then
    echo "system calls for 64 MiB: 04-cp $(count "$CP" "$TMP/64.mib" "$DST");" \
        "rwcopy $(count "$BIN/rwcopy" -b "$BYTES" "$TMP/64.mib" "$DST");" \
        "cp $(count cp "$TMP/64.mib" "$DST")"
fi

# The sweep: every DEPTH x BYTES on the 64 MiB file, coreutils cp in every
# round as the bar, so each cell is a ratio measured side by side.
if [ -n "$QUICK" ]; then DEPTHS="1 4 $DEPTH" BYTESES="131072 $BYTES"
else DEPTHS="1 2 4 8 16 32" BYTESES="65536 131072 262144 1048576"; fi
cmds=("$(q cp "$TMP/64.mib" "$DST")")
for d in $DEPTHS; do
    for b in $BYTESES; do cmds+=("$(q "$CP" -q "$d" -b "$b" "$TMP/64.mib" "$DST")"); done
done
echo
if out=$(side_by_side "rm -f '$DST'" "${cmds[@]}"); then
    base=($(sed -n 1p <<< "$out"))
    echo "== 04-cp -q DEPTH -b BYTES on 64 MiB, warm: time / coreutils cp's time ($RUNS runs, medians;"
    echo "   coreutils cp: $(ms "${base[0]}") ms, spread $(spread "${base[1]}" "${base[2]}" "${base[0]}")), each cell: ratio and spread; [ ] = the default"
    printf '%-8s' 'DEPTH'
    for b in $BYTESES; do printf ' | %13s' "$(kib "$b")"; done
    echo
    line=2
    for d in $DEPTHS; do
        printf '%-8s' "$d"
        for b in $BYTESES; do
            set -- $(sed -n "${line}p" <<< "$out")
            cell="$(ratio "$1" "${base[0]}")x $(spread "$2" "$3" "$1")"
            [ "$d" = "$DEPTH" ] && [ "$b" = "$BYTES" ] && cell="[$cell]"
            printf ' | %13s' "$cell"
            line=$((line + 1))
        done
        echo
    done
    echo "(below 1.00x: faster than coreutils cp.  Memory is DEPTH x BYTES of buffers.)"
fi
rm -f "$DST" "$TMP/strace.out" "$TMP"/sbs.*
