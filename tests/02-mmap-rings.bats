# tests/02-mmap-rings.bats - NOPs through rings mapped by hand
# bats file_tags=stage:02
bats_require_minimum_version 1.8.0
load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

# check_all_once N FILE: FILE has exactly one "cqe user_data=I res=0" line
# for each I in 0..N-1, and nothing else but the summary line.
check_all_once() {
    local n=$1 file=$2
    [ "$(grep -c '^cqe ' "$file")" -eq "$n" ]
    [ "$(grep -c '^cqe user_data=[0-9]* res=0 flags=0$' "$file")" -eq "$n" ]
    sed -n 's/^cqe user_data=\([0-9]*\) .*/\1/p' "$file" | sort -n | uniq > seen
    seq 0 $((n - 1)) | cmp - seen
}

@test "mmap-rings: by default 4 NOPs complete with user_data 0 to 3 and res 0" {
    run_stage mmap-rings
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${lines[0]}" = "cqe user_data=0 res=0 flags=0" ]
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[4]}" = "completed 4 NOPs (0 failed, 0 dropped) through a ring of 4 SQEs and 8 CQEs" ]
}

@test "mmap-rings: COUNT 1 sends exactly one NOP" {
    run_stage mmap-rings 1
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "cqe user_data=0 res=0 flags=0" ]
}

@test "mmap-rings: 1000 NOPs through a 4-entry ring each complete exactly once" {
    run_sh "'$STAGE_DIR/mmap-rings' 1000 > out"
    [ "$status" -eq 0 ]
    check_all_once 1000 out
}

@test "mmap-rings: 1,000,000 NOPs wrap the indexes many times and each completes exactly once" {
    run_sh "'$STAGE_DIR/mmap-rings' 1000000 > out"
    [ "$status" -eq 0 ]
    check_all_once 1000000 out
    tail -n 1 out | grep -qx 'completed 1000000 NOPs (0 failed, 0 dropped) through a ring of 4 SQEs and 8 CQEs'
}

@test "mmap-rings: -v shows the SQ head and tail moving past the ring size" {
    run_stage mmap-rings -v 100
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "ring: sq_entries=4 cq_entries=8, "* ]]
    last=$(printf '%s\n' "$output" | grep '^  submitted' | tail -n 1)
    [[ "$last" == *"sq head=100 tail=100 (queued locally 0)  cq head=96 tail=100" ]]
}

@test "mmap-rings: -v shows a full SQ submitted, never overrun, and at most 8 CQEs waiting" {
    run_stage mmap-rings -v 1000
    [ "$status" -eq 0 ]
    printf '%s\n' "$output" |
        sed -n 's/^ *[a-z]* *sq head=\([0-9]*\) tail=\([0-9]*\) (queued locally \([0-9]*\))  cq head=\([0-9]*\) tail=\([0-9]*\)$/\1 \2 \3 \4 \5/p' > idx
    [ "$(wc -l < idx)" -ge 400 ]
    # SQEs filled but not consumed (tail + queued - head) never exceed 4;
    # CQEs waiting (tail - head) never exceed 8.
    while read -r sh st q ch ct; do
        [ $((st + q - sh)) -le 4 ]
        [ $((ct - ch)) -le 8 ]
    done < idx
}

@test "mmap-rings: a NOP batch costs one io_uring_enter per SQ-full, not one per NOP" {
    run_traced "strace -f -qq -e trace=io_uring_enter -o trace '$STAGE_DIR/mmap-rings' -v 800 > out"
    [ "$status" -eq 0 ]
    calls=$(grep -c 'io_uring_enter(' trace)
    # 800 NOPs in batches of 4 SQEs: about 200 calls, far fewer than 800.
    [ "$calls" -ge 100 ]
    [ "$calls" -le 220 ]
    # each call submitted up to 4 SQEs at once
    grep -q 'io_uring_enter([0-9]*, 4, ' trace
    # and the program's own count agrees with strace's
    [ "$(sed -n 's/^io_uring_enter: \([0-9]*\) calls$/\1/p' out)" -eq "$calls" ]
}

# min_complete larger than the CQ: the kernel caps it at cq_entries and
# waits for that many (io_cqring_wait() in io_uring/io_uring.c).  With one
# CQE ready it sleeps until a signal; with a full CQ it returns at once.
# (Whether the alarm rang before the call returned tells which: the call
# itself returns 0 either way, since 6.x reports no EINTR while CQEs wait.)
MIN_COMPLETE_C='
#include <stdio.h>
#include "uring.h"
static volatile sig_atomic_t rang;
static void on_alarm(int sig) { (void)sig; rang = 1; }
static void nops(struct ring *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = sq_get(r);
        sqe->opcode = IORING_OP_NOP;
        sq_publish(r);
        ring_enter(r, 1, 0, 0);
    }
}
int main(void)
{
    struct io_uring_params p = {0};
    struct ring r;
    if (ring_init(&r, 4, &p) < 0)
        return 77;
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, 0);
    nops(&r, 1);
    alarm(1);
    ring_enter(&r, 0, 1000, IORING_ENTER_GETEVENTS);
    printf("1 ready, wait for 1000: %s\n",
           rang ? "slept until the signal" : "returned");
    alarm(0);
    rang = 0;
    nops(&r, r.cq_entries - 1);
    alarm(5);
    ring_enter(&r, 0, 1000, IORING_ENTER_GETEVENTS);
    printf("%u ready (the CQ holds %u), wait for 1000: %s\n", cq_ready(&r),
           r.cq_entries, rang ? "slept until the signal" : "returned");
    return 0;
}
'

@test "mmap-rings: io_uring_enter asked to wait for more CQEs than the CQ holds waits for a full CQ; it does not return at once" {
    printf '%s' "$MIN_COMPLETE_C" > min.c
    cc -std=c11 -D_GNU_SOURCE -I "$SRC_DIR" -o min min.c
    run --separate-stderr timeout "$TEST_TIMEOUT" ./min
    skip_if_unavailable
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "1 ready, wait for 1000: slept until the signal" ]
    [ "${lines[1]}" = "8 ready (the CQ holds 8), wait for 1000: returned" ]
}

@test "mmap-rings: COUNT 0, negative or not a number is a usage error, exit 2" {
    for bad in 0 -1 x 10x ''; do
        run_stage mmap-rings "$bad"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"usage: mmap-rings [-v] [COUNT]"* ]]
    done
}

@test "mmap-rings: an unknown option or a second COUNT is a usage error, exit 2" {
    run_stage mmap-rings -z
    [ "$status" -eq 2 ]
    run_stage mmap-rings 1 2
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"too many arguments"* ]]
}

@test "mmap-rings: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage mmap-rings "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "usage: mmap-rings [-v] [COUNT]" ]
    done
}

@test "mmap-rings: where seccomp forbids io_uring (EPERM, as Docker does) it explains and exits 77" {
    assert_forbidden EPERM mmap-rings
}

@test "mmap-rings: on a kernel without io_uring (ENOSYS) it explains and exits 77" {
    assert_forbidden ENOSYS mmap-rings
}

# ---- Exercises (make grade STAGE=02-mmap-rings; left out of make test) ----

# bats test_tags=exercise
@test "[5] 2.1 (easy): -e 1 pushes 100 NOPs through a ring of one SQE and two CQEs" {
    run_sh "'$STAGE_DIR/mmap-rings' -e 1 100 > out"
    [ "$status" -eq 0 ]
    check_all_once 100 out
    tail -n 1 out | grep -q 'through a ring of 1 SQEs and 2 CQEs$'
}

# bats test_tags=exercise
@test "[5] 2.1 (easy): -e 64 gives a ring of 64 SQEs and 128 CQEs, -e 0 and -e x are usage errors" {
    run_stage mmap-rings -e 64 1000
    [ "$status" -eq 0 ]
    [[ "${lines[-1]}" == *"through a ring of 64 SQEs and 128 CQEs" ]]
    for bad in 0 x 5x; do
        run_stage mmap-rings -e "$bad" 10
        [ "$status" -eq 2 ]
    done
}

# bats test_tags=exercise
@test "[10] 2.2 (moderate): -n maps a ring without the SQ index array (IORING_SETUP_NO_SQARRAY)" {
    run_sh "'$STAGE_DIR/mmap-rings' -n -v 1000 > out"
    if [ "$status" -eq 1 ] && grep -q 'Invalid argument' <<<"$stderr"; then
        skip "this kernel predates IORING_SETUP_NO_SQARRAY (6.6)"
    fi
    [ "$status" -eq 0 ]
    check_all_once 1000 out
    grep -q '^ring: .*, no SQ index array$' out
}
