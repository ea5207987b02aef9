# tests/docs.bats - the chapters show what the programs really print
# bats file_tags=docs
bats_require_minimum_version 1.8.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

@test "docs: every command shown with its output in a chapter prints that output today" {
    # Numbers may differ (the kernel's fds and offsets); words may not.
    "$ROOT/01-syscalls/syscalls" >/dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    run --separate-stderr python3 "$ROOT/tools/doccode.py" --check-output "$ROOT"/docs/*.md "$ROOT/README.md"
    echo "$stderr"
    [ "$status" -eq 0 ]
}

@test "docs: every quoted function and diff matches the source" {
    run --separate-stderr python3 "$ROOT/tools/doccode.py" --check "$ROOT"/docs/*.md "$ROOT/README.md"
    echo "$stderr"
    [ "$status" -eq 0 ]
}

# The SVG's rect for FIELD: "offset x y width height" (tools/ring-diagram.py
# tags every field with data-field, data-offset and data-bytes).
svg_field() {
    python3 - "$1" "$2" <<'PY'
import re, sys
svg, field = open(sys.argv[1]).read(), sys.argv[2]
m = re.search(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*'
              r'data-field="' + re.escape(field) + r'" data-offset="(\d+)"', svg)
print(m.group(5), m.group(1), m.group(2), m.group(3), m.group(4)) if m else sys.exit(1)
PY
}

@test "ring-diagram.py places sq_off.array and cq_off.cqes at the offsets syscalls reports" {
    "$ROOT/01-syscalls/syscalls" >/dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    cd "$BATS_TEST_TMPDIR"
    "$ROOT/01-syscalls/syscalls" 4 > facts
    python3 "$ROOT/tools/ring-diagram.py" < facts > layout.svg
    for f in sq_off.array cq_off.cqes sq_off.head cq_off.tail sq_off.flags cq_off.overflow; do
        want=$(sed -n "s/^$f: //p" facts)
        read -r off x y w h < <(svg_field layout.svg "$f")
        [ "$off" -eq "$want" ]
    done
}

@test "ring-diagram.py draws to scale: a field's position and width follow from its byte offset" {
    cd "$BATS_TEST_TMPDIR"
    # A made-up kernel (no io_uring needed): 8 entries, no SINGLE_MMAP, odd offsets.
    cat > facts <<'IN'
sq_entries: 8
cq_entries: 16
features: NODROP
sq_off.head: 0
sq_off.tail: 4
sq_off.ring_mask: 8
sq_off.ring_entries: 12
sq_off.flags: 16
sq_off.dropped: 20
sq_off.array: 48
cq_off.head: 0
cq_off.tail: 4
cq_off.ring_mask: 8
cq_off.ring_entries: 12
cq_off.overflow: 16
cq_off.cqes: 32
cq_off.flags: 20
IN
    python3 "$ROOT/tools/ring-diagram.py" < facts > layout.svg
    grep -q 'IORING_OFF_CQ_RING' layout.svg           # two ring mappings, not one
    read -r _ x0 y0 _ _ < <(svg_field layout.svg sq_off.head)
    for f in sq_off.array:48 sq_off.dropped:20 sq_off.flags:16; do
        read -r off x y w h < <(svg_field layout.svg "${f%%:*}")
        [ "$off" -eq "${f##*:}" ]
        # 16 bytes a row, 38 px a byte, 40 px a row (data-* on the <svg>)
        [ "${x%.*}" -eq $((${x0%.*} + (off % 16) * 38)) ]
        [ "${y%.*}" -eq $((${y0%.*} + (off / 16) * 40)) ]
        [ "${w%.*}" -eq $((4 * 38)) ]
    done
}

@test "docs/img/ring-layout.svg is what ring-diagram.py draws from the numbers kept in it" {
    cd "$BATS_TEST_TMPDIR"
    python3 - "$ROOT/docs/img/ring-layout.svg" > facts <<'PY'
import html, re, sys
print(html.unescape(re.search(r"<desc>(.*?)</desc>", open(sys.argv[1]).read(), re.S).group(1)))
PY
    python3 "$ROOT/tools/ring-diagram.py" < facts > again.svg
    diff -u "$ROOT/docs/img/ring-layout.svg" again.svg
}

@test "every stage builds with the README's own stand-alone command, with gcc and with clang" {
    # The command as the README shows it, for 02: cc -D_GNU_SOURCE -o mmap-rings mmap-rings.c
    cmd=$(tr '\n' ' ' < "$ROOT/README.md" | grep -o '`cc -D_GNU_SOURCE -o mmap-rings *mmap-rings\.c`' | tr -d '`')
    [ -n "$cmd" ]
    cd "$BATS_TEST_TMPDIR"
    local cc built=0
    for cc in gcc clang; do
        command -v "$cc" > /dev/null || continue
        for mk in "$ROOT"/[0-9][0-9]-*/Makefile; do
            stage=$(dirname "$mk")
            prog=$(sed -n 's/^PROG *= *//p' "$mk")
            rm -rf src && cp -r "$stage" src && rm -f "src/$prog"
            # the README's words, with this stage's program and this compiler
            words=${cmd//mmap-rings/$prog}
            (cd src && "$cc" ${words#cc }) || { echo "fails in $(basename "$stage"): $cc ${words#cc }"; false; }
            [ -x "src/$prog" ]
            built=$((built + 1))
        done
    done
    [ "$built" -gt 0 ]
    command -v clang > /dev/null || skip "clang is not installed (package clang): checked with gcc only"
    command -v gcc > /dev/null || skip "gcc is not installed (package gcc): checked with clang only"
}

@test "docs: a command a chapter shows with files in /tmp runs in a folder of its own, leaving nothing in /tmp" {
    name=uring-doccode-probe-$$-$RANDOM
    python3 - "$ROOT/tools" "$name" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import doccode
out = doccode.run("03-cat", f"echo hi > /tmp/{sys.argv[2]} && ls /tmp/{sys.argv[2]}")
assert out == f"/tmp/{sys.argv[2]}\n", out
PY
    [ ! -e "/tmp/$name" ]
}

@test "docs: an output block marked kernel=X.Y is checked only on Linux X.Y or newer, and says so elsewhere" {
    cd "$BATS_TEST_TMPDIR"
    for k in 1.0 99.0; do
        printf '%s\n' "<!-- output: 01-syscalls echo now | kernel=$k -->" '~~~console' '$ echo now' 'then' '~~~' '<!-- /output -->' > "doc-$k.md"
    done
    # Shown "then", prints "now": a change of shape where it is checked...
    run --separate-stderr python3 "$ROOT/tools/doccode.py" --check-output doc-1.0.md
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"has changed shape"* ]]
    # ...and on a kernel older than it asks for, left out, saying so.
    run --separate-stderr python3 "$ROOT/tools/doccode.py" --check-output doc-99.0.md
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"not checked on $(uname -r): 'echo now' shows Linux 99.0+"* ]]
}
