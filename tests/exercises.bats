# tests/exercises.bats - the classroom tools (docs/teaching.md): make
# exercise, make grade and tools/grade-all, on fake submissions made from a
# starter and from a reference solution.  Not the exercises themselves:
# those are tagged exercise and left out of make test.
# bats file_tags=exercises
bats_require_minimum_version 1.8.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

setup() { cd "$BATS_TEST_TMPDIR"; }

# A class of four: alice solved 3.1 (the reference), bob handed in the
# starter untouched, carol's copy does not build, dave handed in nothing.
make_class() {
    mkdir -p class/alice class/bob/exercises class/carol class/dave
    python3 "$ROOT/tools/exercise.py" apply 03-cat 3.1 class/alice/03-cat
    python3 "$ROOT/tools/exercise.py" start 03-cat class/bob/exercises/03-cat > /dev/null
    python3 "$ROOT/tools/exercise.py" start 03-cat class/carol/03-cat > /dev/null
    echo 'this is not C' >> class/carol/03-cat/cat.c
}

@test "grade-all: one line per student with the score, a failed build or a missing copy" {
    "$ROOT/01-syscalls/syscalls" > /dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    make_class
    run --separate-stderr "$ROOT/tools/grade-all" 03-cat class 3.1
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 5 ]
    [[ "${lines[0]}" =~ ^student\ +03-cat\ 3\.1$ ]]
    [[ "${lines[1]}" =~ ^alice\ +10/10$ ]]
    [[ "${lines[2]}" =~ ^bob\ +0/10$ ]]
    [[ "${lines[3]}" =~ ^carol\ +build\ failed$ ]]
    [[ "${lines[4]}" =~ ^dave\ +no\ 03-cat/\ folder$ ]]
    # each student's full report is left beside the copy
    grep -q '^== \[5\] 3.1 (easy): .* == OK$' class/alice/grade-03-cat-3.1.txt
    grep -q '^== \[5\] 3.1 (easy): .* == FAIL$' class/bob/grade-03-cat-3.1.txt
    tail -n 1 class/bob/grade-03-cat-3.1.txt | grep -qx 'Score: 0/10'
}

@test "grade-all: a missing stage, a missing folder or no arguments is a usage error, exit 2" {
    mkdir class
    for args in "" "03-cat" "99-nope class" "03-cat nowhere" "03-cat class 3.1 extra"; do
        run --separate-stderr "$ROOT/tools/grade-all" $args
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"usage: tools/grade-all STAGE FOLDER [TASK]" ]]
    done
}

@test "make exercise: the starter has the chosen bodies cut, its helpers kept, and builds warning-free" {
    python3 "$ROOT/tools/exercise.py" start 04-cp ex/04-cp > /dev/null
    grep -q '// Exercise 4.0: write the body of read_done()' ex/04-cp/cp.c
    grep -q '// Exercise 4.0: write the body of write_done()' ex/04-cp/cp.c
    # fail() was called only from the cut bodies: kept, marked unused
    grep -q '^__attribute__((unused)) static void fail(' ex/04-cp/cp.c
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -fsyntax-only ex/04-cp/cp.c
}

@test "make grade: one line per test with OK or FAIL, the failing check, then Score: N/M" {
    "$ROOT/01-syscalls/syscalls" > /dev/null 2>&1 || [ $? -ne 77 ] || skip "io_uring is not available here"
    python3 "$ROOT/tools/exercise.py" start 03-cat ex/03-cat > /dev/null
    GRADE_ROOT=$PWD/ex run python3 "$ROOT/tools/exercise.py" grade 03-cat 3.2
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^== \[5\] 3.2 (moderate): .* == FAIL$' <<< "$output")" -eq 2 ]
    grep -q '^    `grep -q .IORING_OP_READ_FIXED. ' <<< "$output"
    [ "${lines[-1]}" = "Score: 0/10" ]
}
