# tests/05-sqpoll.bats - the copy of 04-cp, submitted by an SQ poller thread
# bats file_tags=stage:05
bats_require_minimum_version 1.8.0
load helpers
load cp-family

setup() { cd "$BATS_TEST_TMPDIR"; }
teardown() { faultfs_cleanup; }

CP() { printf '%q' "$STAGE_DIR/sqpoll"; }

# The defaults, from the source (05-sqpoll/sqpoll.c).
DEPTH=$(sed -n 's/^#define DEFAULT_DEPTH //p' "$SRC_DIR/sqpoll.c")
BYTES=$(($(sed -n 's/^#define DEFAULT_BYTES //p' "$SRC_DIR/sqpoll.c")))
USAGE="usage: sqpoll [-q DEPTH] [-b BYTES] [-i IDLE_MS] [-v] SRC DST"

# check_log FILE DEPTH: a -v log where every request is submitted once and
# completed once, never more than DEPTH reads and writes are in flight, and
# the last line counts them.
check_log() {
    local log=$1 depth=$2
    grep -E '^sqpoll: \[ *[0-9.]+ ms\] submit +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > submitted
    grep -E '^sqpoll: \[ *[0-9.]+ ms\] complete +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > completed
    [ -s submitted ]
    cmp submitted completed
    [ "$(uniq -d submitted | wc -l)" -eq 0 ]
    local n
    n=$(wc -l < submitted)
    seq 0 $((n - 1)) | cmp - submitted
    tail -n 2 "$log" | head -n 1 | grep -Eq "^sqpoll: $n requests, $n completions, [0-9]+ out of submission order$"
    # in flight: +1 at a submission, -1 at a completion (timeouts aside)
    grep -E '(submit|complete) +#[0-9]+ (read|write)' "$log" |
        awk -v max="$depth" '/submit/ { n++ } /complete/ { n-- } n > max { exit 1 }'
}

@test "sqpoll: files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte" { cpf_sizes_around_bytes; }

@test "sqpoll: a 30 MiB file is copied byte for byte" { cpf_30_mib_file; }

@test "sqpoll: any DEPTH >= 1 and BYTES >= 1 give the same bytes" { cpf_any_depth_and_bytes; }

@test "sqpoll: a sparse source is copied byte for byte" { cpf_sparse_source; }

@test "sqpoll: /proc sources, whose st_size is 0, are copied whole" { cpf_proc_sources; }

@test "sqpoll: a pipe as SRC (/dev/stdin) is copied whole" { cpf_pipe_as_src; }

@test "sqpoll: a new DST gets SRC's permission bits less the umask" { cpf_new_dst_mode; }

@test "sqpoll: an existing DST is truncated and keeps its own mode" { cpf_existing_dst_truncated; }

@test "sqpoll: DST /dev/null works and is left as it was (never chmod)" { cpf_dst_dev_null; }

@test "sqpoll: DST /dev/full fails with a clear message, exit 1" { cpf_dst_dev_full; }

@test "sqpoll: DST a FIFO with a reader gets the bytes in order" { cpf_dst_fifo_with_reader; }

@test "sqpoll: DST a FIFO that nobody reads fails at once with a clear message, never hangs" { cpf_dst_fifo_no_reader; }

@test "sqpoll: DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1" { cpf_dst_unix_socket; }

@test "sqpoll: DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it" { cpf_dst_dangling_symlink coreutils; }

@test "sqpoll: DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode" { cpf_dst_symlink_followed; }

@test "sqpoll: DST a pipe with a slow reader gets every byte (short writes are finished)" { cpf_dst_pipe_slow_reader; }

@test "sqpoll: DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1" { cpf_dst_pipe_reader_gone; }

@test "sqpoll: with SIGPIPE ignored and SRC a waiting pipe, a broken DST pipe still ends the copy" {
    # The read on the SRC pipe would wait 20 s: it is cancelled.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CP) /dev/stdin /dev/stdout 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\nsqpoll: write /dev/stdout: Broken pipe')" ]
}

@test "sqpoll: DST a directory receives DST/basename(SRC)" { cpf_dst_directory; }

@test "sqpoll: SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched" { cpf_src_dst_same_file; }

@test "sqpoll: a missing SRC is named on stderr, exit 1, and no DST is left behind" { cpf_missing_src; }

@test "sqpoll: SRC a directory is refused, exit 1, no DST left behind" { cpf_src_directory; }

@test "sqpoll: DST in a missing directory fails with a clear message, exit 1, nothing created" { cpf_dst_in_missing_directory; }

@test "sqpoll: bad options and operands are usage errors, exit 2, and create nothing" { cpf_usage_errors; }

@test "sqpoll: -h and --help print the usage on stdout and exit 0" { cpf_help; }

@test "sqpoll: -v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight" { cpf_verbose_log; }

@test "sqpoll: a short read is resubmitted for the rest, at the offset right after it" { cpf_short_read_resubmitted; }

@test "sqpoll: CP_DELAY_FIRST holds the first read back: the copy is exact and block 0 completes last" {
    head -c 1048576 /dev/urandom > src
    run_sh "CP_DELAY_FIRST=1000 $(CP) -v -q 4 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    check_log log 5
    grep -q 'submit   #0 timeout 1000 ms, hard-linked to #1$' log
    grep -q 'complete #0 timeout res -62 (Timer expired)$' log
    # A machine so slow (or busy) that the other 15 blocks took more than
    # the second proves nothing either way.
    timeout_at=$(grep -n 'complete #0 timeout' log | cut -d: -f1)
    others_at=$(grep -nE 'complete #[0-9]+ read  block [1-9][0-9]* res [1-9]' log | tail -n 1 | cut -d: -f1)
    [ "$others_at" -lt "$timeout_at" ] || skip "the machine was too slow: the others were not read within the delay"
    # Every other read of data completed before the first one did ...
    last_read=$(grep -E 'complete #[0-9]+ read  .* res [1-9]' log | tail -n 1)
    [[ "$last_read" == *"complete #1 read  block 0 res 65536" ]]
    # ... and the write of offset 0 is the last write to complete.
    w=$(sed -n 's/.*submit   #\([0-9]*\) write block [0-9]* offset 0 length .*/\1/p' log)
    [ -n "$w" ]
    grep -E 'complete #[0-9]+ write' log | tail -n 1 | grep -q "complete #$w write"
    n=$(tail -n 2 log | head -n 1 | sed -n 's/.* \([0-9]*\) out of submission order$/\1/p')
    [ "$n" -ge 10 ]
}

@test "sqpoll: SRC cut short while block 0 waits (CP_DELAY_FIRST): DST is the prefix SRC still had, no hole, nothing after it" {
    head -c 1048576 /dev/urandom > src
    cp src orig
    # Block 0's read waits 5 s behind its timeout; blocks 1 to 15 are read
    # and written meanwhile.  Once they are, SRC is cut to 30000 bytes:
    # block 0 then reads 30000 bytes and finds the end of SRC there.
    CP_DELAY_FIRST=5000 timeout 60 "$STAGE_DIR/sqpoll" -v -q 4 -b 65536 src dst 2> log &
    pid=$!
    for i in $(seq 1000); do
        [ "$(grep -c 'complete #[0-9]* write' log)" -ge 15 ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.01
    done
    truncate -s 30000 src
    if grep -q 'complete #1 read' log; then
        kill "$pid"
        skip "the machine was too slow: block 0 was read before SRC was cut"
    fi
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -ne 77 ] || skip "io_uring is not available here: $(head -n 1 log)"
    [ "$rc" -eq 0 ]
    grep -q 'complete #1 read  block 0 res 30000$' log
    [ "$(stat -c %s dst)" -eq 30000 ]
    cmp -n 30000 orig dst
}

@test "sqpoll: a read error in the middle of SRC (faultfs --eio-at) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1" { cpf_eio_in_middle; }

@test "sqpoll: SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0" { cpf_eof_before_st_size; }

@test "sqpoll: a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC" { cpf_efbig_while_block_0_waits; }

@test "sqpoll: CP_DELAY_FIRST that is not a number of milliseconds is a usage error" { cpf_delay_first_not_a_number; }

@test "sqpoll: memory does not grow with the file: max RSS under 16 MiB for 256 MiB" { cpf_memory_bounded; }

@test "sqpoll: SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)" { cpf_sigstop_sigcont; }

@test "sqpoll: a tracer attaching and leaving mid-copy does not break the copy" { cpf_tracer_attach_detach; }

@test "sqpoll: where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST" { cpf_forbidden_eperm; }

@test "sqpoll: on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST" { cpf_forbidden_enosys; }

# ---- What SQPOLL adds ----

@test "sqpoll: -v names the poller thread iou-sqp-PID, and it is a thread of this process" {
    head -c 65536 /dev/urandom > src
    run_stage sqpoll -v src dst
    [ "$status" -eq 0 ]
    line=$(printf '%s\n' "$stderr" | grep 'SQ poller thread')
    [[ "$line" =~ SQ\ poller\ thread\ iou-sqp-([0-9]+)\ was\ task\ ([0-9]+), ]]
    [ "${BASH_REMATCH[2]}" -gt "${BASH_REMATCH[1]}" ]
}

@test "sqpoll: the poller is a thread of the process (/proc/PID/task), not a kernel thread under kthreadd" {
    mkfifo in
    run_sh "
        $(CP) in out &
        pid=\$!
        exec 3> in
        for i in \$(seq 50); do
            ls /proc/\$pid/task/*/comm >/dev/null 2>&1 && grep -qx \"iou-sqp-\$pid\" /proc/\$pid/task/*/comm && break
            sleep 0.02
        done
        grep -lx \"iou-sqp-\$pid\" /proc/\$pid/task/*/comm
        echo hello >&3
        exec 3>&-
        wait \$pid"
    [ "$status" -eq 0 ]
    [[ "$output" == /proc/*/task/*/comm ]]
    [ "$(cat out)" = hello ]
}

@test "sqpoll: io_uring_enter calls counted by -v agree exactly with strace's count" {
    head -c $((8 * 1048576)) /dev/urandom > src
    run_traced "strace -f -qq -e trace=io_uring_enter -o trace $(CP) -v -i 5 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    calls=$(grep -c 'io_uring_enter(' trace)
    summary=$(tail -n 1 log)
    [[ "$summary" =~ ^sqpoll:\ ([0-9]+)\ requests,\ ([0-9]+)\ io_uring_enter\ calls:\ ([0-9]+)\ wake-ups,\ ([0-9]+)\ waits$ ]]
    [ "${BASH_REMATCH[2]}" -eq "$calls" ]
    # every call woke the poller, waited, or both
    [ $((BASH_REMATCH[3] + BASH_REMATCH[4])) -ge "$calls" ]
}

@test "sqpoll: in steady state no request costs a system call to submit: apart from at most two wake-ups, every io_uring_enter waits for completions" {
    head -c $((16 * 1048576)) /dev/urandom > src
    cat src > /dev/null
    run_sh "$(CP) -v -i 5000 -b 16384 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    summary=$(tail -n 1 log)
    [[ "$summary" =~ ^sqpoll:\ ([0-9]+)\ requests,\ ([0-9]+)\ io_uring_enter\ calls:\ ([0-9]+)\ wake-ups,\ ([0-9]+)\ waits$ ]]
    echo "# $summary" >&3
    # 2049 requests.  How many waits they need depends on the machine (on
    # a quiet one about 1 % of the requests, docs/05-sqpoll.md; under
    # emulation far more); what does not: the poller, awake for 5 s after
    # any work, is woken at most twice, no call is made only to submit,
    # and each wait reaps at least one completion.
    [ "${BASH_REMATCH[3]}" -le 2 ]
    [ $((BASH_REMATCH[2] - BASH_REMATCH[4])) -le "${BASH_REMATCH[3]}" ]
    [ "${BASH_REMATCH[4]}" -le "${BASH_REMATCH[1]}" ]
}

@test "sqpoll: it wakes the poller only when it sleeps: a copy shorter than the idle time needs at most two wake-ups" {
    head -c $((16 * 1048576)) /dev/urandom > src
    run_sh "$(CP) -v -i 5000 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    summary=$(tail -n 1 log)
    [[ "$summary" =~ ([0-9]+)\ wake-ups ]]
    # The poller may be asleep before the first request (it starts that way
    # on some kernels); after that it stays awake for 5 s.
    [ "${BASH_REMATCH[1]}" -le 2 ]
}

@test "sqpoll: with a 1 ms idle time the poller sleeps between slow reads, and the copy is still exact" {
    # The poller sleeps 1 ms after each read is armed on the empty pipe; the
    # data arriving wakes it (it runs the read's completion), so the copy
    # needs at most the first wake-up from us, and waits.
    run_sh "
        ( for i in \$(seq 30); do echo \$i; sleep 0.01; done ) | $(CP) -v -i 1 -q 2 -b 3 /dev/stdin out 2> log"
    [ "$status" -eq 0 ]
    seq 30 | cmp - out
    summary=$(tail -n 1 log)
    # Whether any wake-up is needed depends on timing (the poller sleeps at
    # its first idle check, unless our first SQE is there by then), so
    # count only the waits: the data comes slowly.
    [[ "$summary" =~ ([0-9]+)\ wake-ups,\ ([0-9]+)\ waits$ ]]
    [ "${BASH_REMATCH[2]}" -ge 1 ]
}

@test "sqpoll: on one CPU (taskset -c 0) it never spins on the CQ, which would take the poller's CPU; on two it does" {
    command -v taskset >/dev/null || skip "taskset is not installed"
    head -c 4194304 /dev/urandom > src
    run_sh "taskset -c 0 $(CP) -v -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    printf '%s\n' "$stderr" | grep -q 'CQ not watched before a wait: the poller may need the CPU we run on$'
    ! printf '%s\n' "$stderr" | grep -q 'CQ watched'
    [ "$(nproc)" -ge 2 ] || skip "one CPU only: the two-CPU half needs two"
    run_sh "taskset -c 0,1 $(CP) -v -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    printf '%s\n' "$stderr" | grep -Eq 'CQ watched [1-9][0-9]* times for up to 1000 us before a wait, [0-9]+ times with success$'
}

@test "sqpoll: -i 0, -i x and -i 60001 are usage errors, exit 2, and create nothing" {
    printf 'x\n' > src
    for bad in 0 x 60001 ''; do
        run_stage sqpoll -i "$bad" src dst
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"$USAGE"* ]]
        [ ! -e dst ]
    done
}

# refused [ENV=VALUE]...: run sqpoll src dst with SQPOLL refused (EPERM)
# by tests/tools/refuse-sqpoll.so, whatever this kernel allows.
refused() {
    [ -f "$TESTS_DIR/tools/refuse-sqpoll.so" ] || skip "tests/tools/refuse-sqpoll.so was not built (make test builds it)"
    printf 'x\n' > src
    run --separate-stderr env "$@" LD_PRELOAD="$TESTS_DIR/tools/refuse-sqpoll.so" \
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
        timeout "$TEST_TIMEOUT" "$STAGE_DIR/sqpoll" src dst
    [ "$status" -eq 77 ]
    [ -z "$output" ]
    [ ! -e dst ]
}

@test "sqpoll: where only SQPOLL is refused on a kernel before 5.13 (no IORING_FEAT_RSRC_TAGS), it says it needs 5.13 or a capability, exits 77, and leaves no DST" {
    refused REFUSE_SQPOLL_HIDE_FEATURES=1024
    [[ "$stderr" == "sqpoll: io_uring is not available here: this kernel lacks SQPOLL for unprivileged users"* ]]
    [[ "$stderr" == *"CAP_SYS_NICE"*"(Linux 5.13 and newer have it)" ]]
}

@test "sqpoll: where only SQPOLL is refused on a kernel that allows it to every user (5.13+), it blames a security module, not the kernel's age, exits 77" {
    require_io_uring
    "$TESTS_DIR/../01-syscalls/syscalls" | grep -q '^features: .*RSRC_TAGS' ||
        skip "this kernel is older than 5.13 (no IORING_FEAT_RSRC_TAGS)"
    refused
    [ "$(printf '%s\n' "$stderr" | head -n 1)" = "sqpoll: io_uring is not available here: IORING_SETUP_SQPOLL: Operation not permitted" ]
    [[ "$stderr" == *"security module"* ]]
    [[ "$stderr" != *"5.13 and newer have it"* ]]
}

# ---- Exercises (make grade STAGE=05-sqpoll; left out of make test) ----

# the poller's task id, once it exists: poller_tid PID
poller_tid() {
    local i f
    for i in $(seq 100); do
        for f in /proc/$1/task/*/comm; do
            if [ "$(cat "$f" 2>/dev/null)" = "iou-sqp-$1" ]; then
                f=${f%/comm}
                echo "${f##*/}"
                return 0
            fi
        done
        sleep 0.02
    done
    return 1
}

# bats test_tags=exercise
@test "[5] 5.1 (easy): -c CPU pins the poller thread to that CPU (IORING_SETUP_SQ_AFF)" {
    [ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
    mkfifo in
    run_sh "
        $(CP) -c 1 in out &
        pid=\$!
        # read-write, so that the open cannot block if sqpoll is gone
        exec 3<> in
        $(declare -f poller_tid)
        tid=\$(poller_tid \$pid) || { echo 'no poller'; kill \$pid 2>/dev/null; exit 1; }
        sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/\$pid/task/\$tid/status
        echo done >&3
        exec 3>&-
        wait \$pid"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 1 ]
    [ "$(cat out)" = done ]
}

# bats test_tags=exercise
@test "[5] 5.1 (easy): -c x and -c 99999 are usage errors, exit 2" {
    printf 'x\n' > src
    for bad in x 99999 ''; do
        run_stage sqpoll -c "$bad" src dst
        [ "$status" -eq 2 ]
        [ ! -e dst ]
    done
}

# bats test_tags=exercise
@test "[10] 5.2 (moderate): -F registers SRC and DST (IORING_REGISTER_FILES) and the copy is exact" {
    head -c 3000000 /dev/urandom > src
    run_traced "strace -f -qq -e trace=io_uring_register -o trace $(CP) -F -q 4 -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    grep -q 'IORING_REGISTER_FILES' trace
}

# bats test_tags=exercise
@test "[5] 5.2 (moderate): -F copies from a pipe and into /dev/null as well" {
    head -c 300000 /dev/urandom > src
    run_sh "cat src | $(CP) -F -q 2 -b 1000 /dev/stdin out && $(CP) -F src /dev/null"
    [ "$status" -eq 0 ]
    cmp src out
}
