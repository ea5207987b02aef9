# bench/05-sqpoll.sh - 05-sqpoll against 04-cp on the same copy (run it
# through bench/run): wall time, CPU time (the poller thread's included:
# it is a thread of the process, so wait4 charges it to us), and the
# io_uring_enter calls each made, which is what SQPOLL saves.
# Full run: 256 MiB and 1 GiB in 64 KiB blocks; QUICK: 64 MiB.
. "$ROOT/bench/lib.sh"
CP=$ROOT/04-cp/cp SQ=$ROOT/05-sqpoll/sqpoll
[ -x "$CP" ] && [ -x "$SQ" ] || { echo "== 05-sqpoll: not built, no rows"; exit 0; }
SIZES=$([ -n "$QUICK" ] && echo 64 || echo "256 1024")
BS=65536
DST=$TMP/sq.dst
for m in $SIZES; do make_file "$TMP/$m.mib" "$m"; done

# enters PROG SRC: io_uring_enter calls of one copy, counted by strace
# (-f: the poller is a thread; it makes no system calls of its own).
enters() {
    strace -f -qq -c -e trace=io_uring_enter -o "$TMP/sq.strace" "$1" -b $BS "$2" "$DST" > /dev/null 2>&1
    awk '$NF == "io_uring_enter" { print $4 }' "$TMP/sq.strace"
}

echo "== 05-sqpoll vs 04-cp: the same copy in $((BS / 1024)) KiB blocks, warm page cache ($RUNS runs, medians)"
printf '%-8s | %9s %9s %6s | %9s %9s %6s | %8s %8s %9s\n' size 'cp ms' 'sqpoll ms' ratio \
    'cp CPU' 'sq CPU' ratio 'cp enter' 'sq enter' requests
for m in $SIZES; do
    src=$TMP/$m.mib
    read -r cw cmin cmax crss ccpu sw smin smax srss scpu < <(side_by_side "rm -f '$DST'" \
        "$(q "$CP" -b $BS "$src" "$DST")" "$(q "$SQ" -b $BS "$src" "$DST")" | tr '\n' ' ')
    requests=$((2 * m * 1048576 / BS + 1))
    if command -v strace >/dev/null; then
        ce=$(enters "$CP" "$src") se=$(enters "$SQ" "$src")
    else
        ce=- se=-
    fi
    printf '%-8s | %9s %9s %5sx | %9s %9s %5sx | %8s %8s %9s\n' "$(size "$m")" \
        "$(ms "$cw")" "$(ms "$sw")" "$(ratio "$sw" "$cw")" \
        "$(ms "$ccpu")" "$(ms "$scpu")" "$(ratio "$scpu" "$ccpu")" "$ce" "$se" "$requests"
    echo "         spread: cp $(spread "$cmin" "$cmax" "$cw"), sqpoll $(spread "$smin" "$smax" "$sw")"
done
rm -f "$DST"
echo "(time ratio < 1: SQPOLL faster.  CPU includes the poller thread, which spins while there is"
echo " work and for sq_thread_idle ms after; on $(nproc) CPUs it competes with the copy itself."
echo " sq enter / requests is the share of requests that still cost a system call.)"
