# bench/08-fixed-cp.sh - 08-fixed-cp (registered files and buffers) against
# 07-link-cp (the same chains, plain fds and buffers), buffered; then with
# O_DIRECT (-d) against 04-cp with its exercise 4.2 applied (-d, neither
# links nor registration: the reference solution), on the same file in one
# run (through bench/run).  The figure registration should move is the
# kernel's CPU time: system CPU ms per GiB, from wait4(2); and cycles from
# perf stat where perf can count them (in many VMs it cannot).
# Full run: 1 GiB; QUICK: 64 MiB.
. "$ROOT/bench/lib.sh"
FIXED=$ROOT/08-fixed-cp/fixed-cp LINK=$ROOT/07-link-cp/link-cp
[ -x "$FIXED" ] && [ -x "$LINK" ] || { echo "== 08-fixed-cp: not built, no rows"; exit 0; }
m=$([ -n "$QUICK" ] && echo 64 || echo 1024)
src=$TMP/$m.mib
make_file "$src" "$m"
DST=$TMP/fixed.dst

# 04-cp -d, from the reference solution of exercise 4.2, built here.
CP4D=
if python3 "$ROOT/tools/exercise.py" apply 04-cp 4.2 "$TMP/04d" > /dev/null 2>&1 &&
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$TMP/04d/cp" "$TMP/04d/cp.c" 2> /dev/null; then
    CP4D=$TMP/04d/cp
fi
direct=yes
dd if=/dev/zero of="$TMP/probe" bs=4096 count=1 oflag=direct status=none 2> /dev/null || direct=
rm -f "$TMP/probe"

# sys_ms CMD...: RUNS runs, alternating with nothing: "wall_ms sys_ms" medians.
sysrow() {
    local i out walls=() syss=()
    for ((i = 0; i < RUNS; i++)); do
        rm -f "$DST"
        out=$("$BIN/rusage" "$@" 2>&1 >/dev/null | grep '^rusage:' | tail -n 1)
        case "$out" in *" status=0") ;; *) echo "- -"; return ;; esac
        walls+=("$(sed 's/.*wall=\([0-9.]*\).*/\1/' <<< "$out")")
        syss+=("$(sed 's/.* sys=\([0-9.]*\).*/\1/' <<< "$out")")
    done
    local w=($(printf '%s\n' "${walls[@]}" | sort -g)) s=($(printf '%s\n' "${syss[@]}" | sort -g))
    echo "${w[$((RUNS / 2))]} ${s[$((RUNS / 2))]}"
}
per_gib_ms() { awk -v s="$1" -v m="$m" 'BEGIN { if (s == "-") print "-"; else printf "%.0f", s * 1000 * 1024 / m }'; }
cycles() { # CMD...: kernel cycles per GiB, or "-"
    local out
    out=$(perf stat -x, -e cycles:k "$@" 2>&1 >/dev/null | grep ',cycles:k' | cut -d, -f1)
    rm -f "$DST"
    case "$out" in ''|*'not '*) echo - ;; *) awk -v c="$out" -v m="$m" 'BEGIN { printf "%.0f M", c * 1024 / m / 1e6 }' ;; esac
}
perf_ok=
command -v perf > /dev/null && [ "$(cycles true)" != - ] && perf_ok=yes

echo "== 08-fixed-cp vs 07-link-cp on $(size "$m"), defaults: wall ms and system CPU ms per GiB ($RUNS runs, medians)"
printf '%-26s | %9s | %12s | %s\n' program 'wall ms' 'sys ms/GiB' 'kernel cycles/GiB'
row() { # LABEL CMD...
    local label=$1
    shift
    set -- "$@"
    local r
    r=($(sysrow "$@"))
    printf '%-26s | %9s | %12s | %s\n' "$label" "$(ms "${r[0]}" 2>/dev/null)" "$(per_gib_ms "${r[1]}")" \
        "$([ -n "$perf_ok" ] && cycles "$@" || echo 'perf cannot count here')"
}
row "07-link-cp (buffered)" "$LINK" "$src" "$DST"
row "08-fixed-cp (buffered)" "$FIXED" "$src" "$DST"
if [ -n "$direct" ]; then
    [ -n "$CP4D" ] && row "04-cp -d (4.2, O_DIRECT)" "$CP4D" -d "$src" "$DST"
    row "08-fixed-cp -d (O_DIRECT)" "$FIXED" -d "$src" "$DST"
else
    echo "(no -d rows: this file system refuses O_DIRECT)"
fi
rm -f "$DST"
echo "(sys: the kernel's CPU time for this process and its io-wq workers.  Buffered, the data is"
echo " copied through the page cache either way and registration saves only per-request lookups;"
echo " with O_DIRECT the kernel pins the buffer's pages for every request unless they are registered.)"
