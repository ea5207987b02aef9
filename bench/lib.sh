# bench/lib.sh - sourced by every bench/*.sh (run them through bench/run)
#
# Environment from bench/run: ROOT (the repository), BIN (bench/bin, with
# rusage and the baselines built), TMP (a scratch folder removed at the
# end), QUICK (1 for a run under a minute), RUNS (repetitions per figure).

# measure CMD...: run CMD $RUNS times (stdin from /dev/null unless the
# caller redirects), and print "median_wall min_wall max_wall max_rss_kib
# median_cpu" where cpu = user + sys.  Exits the bench if CMD fails.
measure() {
    local i out walls=() cpus=() rss=0
    for ((i = 0; i < RUNS; i++)); do
        out=$("$BIN/rusage" "$@" 2>&1 >/dev/null | grep '^rusage:' | tail -n 1)
        case "$out" in *" status=0") ;; *) echo "bench: '$*' failed: $out" >&2; return 1 ;; esac
        walls+=("$(sed 's/.*wall=\([0-9.]*\).*/\1/' <<<"$out")")
        cpus+=("$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["user"] + v["sys"] }' <<<"$out")")
        local r=$(sed 's/.*maxrss_kib=\([0-9]*\).*/\1/' <<<"$out")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    local sorted=($(printf '%s\n' "${walls[@]}" | sort -g))
    local csorted=($(printf '%s\n' "${cpus[@]}" | sort -g))
    echo "${sorted[$((RUNS / 2))]} ${sorted[0]} ${sorted[$((RUNS - 1))]} $rss ${csorted[$((RUNS / 2))]}"
}

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# mib_per_s BYTES SECONDS
mib_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / 1048576 / s; else print "-" }'; }

# spread MIN MAX MEDIAN: (max - min) / median as a percentage
spread() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { if (m > 0) printf "%.0f%%", (b - a) / m * 100; else print "-" }'; }

# make_file PATH MIB: a file of random-looking data, in the page cache.
make_file() {
    [ -f "$1" ] || head -c "$(($2 * 1048576))" /dev/urandom > "$1"
    cat "$1" > /dev/null
}

# drop_caches: 0 if the page cache could be dropped (root only).
drop_caches() {
    sync
    { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null
}

# side_by_side PREP CMD...: one measurement of each CMD (a string made with
# q) in turn, RUNS rounds, the order reversed every other round, so that
# every CMD sees the same machine.  PREP is run (untimed) before each
# measurement.  Prints one line per CMD in measure's format.
q() { printf '%q ' "$@"; }
side_by_side() {
    local prep=$1 i j k n=$(($# - 1)) argv
    shift
    local cmds=("$@")
    for ((j = 0; j < n; j++)); do : > "$TMP/sbs.$j"; done
    for ((i = 0; i < RUNS; i++)); do
        for ((k = 0; k < n; k++)); do
            j=$((i % 2 ? n - 1 - k : k))
            eval "$prep"
            eval "argv=(${cmds[$j]})"
            RUNS=1 measure "${argv[@]}" >> "$TMP/sbs.$j" || return 1
        done
    done
    for ((j = 0; j < n; j++)); do
        local f=$TMP/sbs.$j mid=$((RUNS / 2 + 1))
        echo "$(cut -d' ' -f1 "$f" | sort -g | sed -n "${mid}p") $(cut -d' ' -f1 "$f" | sort -g | head -n 1)" \
            "$(cut -d' ' -f1 "$f" | sort -g | tail -n 1) $(cut -d' ' -f4 "$f" | sort -g | tail -n 1)" \
            "$(cut -d' ' -f5 "$f" | sort -g | sed -n "${mid}p")"
    done
}
size() { [ "$1" -ge 1024 ] && echo "$(($1 / 1024)) GiB" || echo "$1 MiB"; }
kib() { [ "$1" -ge 1048576 ] && echo "$(($1 / 1048576))M" || echo "$(($1 / 1024))K"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
