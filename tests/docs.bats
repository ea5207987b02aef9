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
