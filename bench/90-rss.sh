# bench/90-rss.sh - memory does not grow with the input: max RSS of every
# stage at a small and a large input (run through bench/run).
. "$ROOT/bench/lib.sh"
small=1 large=$([ -n "$QUICK" ] && echo 64 || echo 512)
make_file "$TMP/small" "$small"
make_file "$TMP/large" "$large"
row() { # NAME SMALL-CMD LARGE-CMD
    local name=$1 a b
    a=$(RUNS=1 measure bash -c "$2") || return 0
    b=$(RUNS=1 measure bash -c "$3") || return 0
    set -- $a; local ra=$4
    set -- $b; local rb=$4
    printf '%-16s %10s KiB %10s KiB %8s\n' "$name" "$ra" "$rb" "$(ratio "$rb" "$ra")x"
}
echo "== max RSS of each stage: ${small} MiB input vs ${large} MiB input (flat means ~1.00x)"
printf '%-16s %14s %14s %9s\n' stage small large ratio
S=$ROOT
[ -x "$S/02-mmap-rings/mmap-rings" ] && row mmap-rings \
    "'$S/02-mmap-rings/mmap-rings' 1000 >/dev/null" "'$S/02-mmap-rings/mmap-rings' 1000000 >/dev/null"
[ -x "$S/03-cat/cat" ] && row cat \
    "'$S/03-cat/cat' '$TMP/small' >/dev/null" "'$S/03-cat/cat' '$TMP/large' >/dev/null"
[ -x "$S/04-cp/cp" ] && row cp \
    "'$S/04-cp/cp' '$TMP/small' '$TMP/out'" "'$S/04-cp/cp' '$TMP/large' '$TMP/out'"
[ -x "$S/05-sqpoll/sqpoll" ] && row sqpoll \
    "'$S/05-sqpoll/sqpoll' '$TMP/small' '$TMP/out'" "'$S/05-sqpoll/sqpoll' '$TMP/large' '$TMP/out'"
rm -f "$TMP/out"
echo "(mmap-rings compares 1,000 with 1,000,000 NOPs.  For scale, coreutils cat on the large"
echo " input: $(RUNS=1 measure bash -c "cat '$TMP/large' >/dev/null" | awk '{ print $4 }') KiB)"
