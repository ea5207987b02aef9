# tests/04-cp.bats - cp with many requests in flight, completed in any order
# bats file_tags=stage:04
bats_require_minimum_version 1.8.0
load helpers
load cp-family

setup() { cd "$BATS_TEST_TMPDIR"; }
teardown() { faultfs_cleanup; }

CP() { printf '%q' "$STAGE_DIR/cp"; }

# The defaults, from the source (04-cp/cp.c).
DEPTH=$(sed -n 's/^#define DEFAULT_DEPTH //p' "$SRC_DIR/cp.c")
BYTES=$(($(sed -n 's/^#define DEFAULT_BYTES //p' "$SRC_DIR/cp.c")))
USAGE="usage: cp [-q DEPTH] [-b BYTES] [-v] SRC DST"

# check_log FILE DEPTH: a -v log where every request is submitted once and
# completed once, never more than DEPTH reads and writes are in flight, and
# the last line counts them.
check_log() {
    local log=$1 depth=$2
    grep -E '^cp: \[ *[0-9.]+ ms\] submit +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > submitted
    grep -E '^cp: \[ *[0-9.]+ ms\] complete +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > completed
    [ -s submitted ]
    cmp submitted completed
    [ "$(uniq -d submitted | wc -l)" -eq 0 ]
    local n
    n=$(wc -l < submitted)
    seq 0 $((n - 1)) | cmp - submitted
    tail -n 1 "$log" | grep -Eq "^cp: $n requests, $n completions, [0-9]+ out of submission order$"
    # in flight: +1 at a submission, -1 at a completion (timeouts aside)
    grep -E '(submit|complete) +#[0-9]+ (read|write)' "$log" |
        awk -v max="$depth" '/submit/ { n++ } /complete/ { n-- } n > max { exit 1 }'
}

@test "cp: files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte" { cpf_sizes_around_bytes; }

@test "cp: a 30 MiB file is copied byte for byte" { cpf_30_mib_file; }

@test "cp: any DEPTH >= 1 and BYTES >= 1 give the same bytes" { cpf_any_depth_and_bytes; }

@test "cp: a sparse source is copied byte for byte" { cpf_sparse_source; }

@test "cp: /proc sources, whose st_size is 0, are copied whole" { cpf_proc_sources; }

@test "cp: a pipe as SRC (/dev/stdin) is copied whole" { cpf_pipe_as_src; }

@test "cp: a new DST gets SRC's permission bits less the umask" { cpf_new_dst_mode; }

@test "cp: an existing DST is truncated and keeps its own mode" { cpf_existing_dst_truncated; }

@test "cp: DST /dev/null works and is left as it was (never chmod)" { cpf_dst_dev_null; }

@test "cp: DST /dev/full fails with a clear message, exit 1" { cpf_dst_dev_full; }

@test "cp: DST a FIFO with a reader gets the bytes in order" { cpf_dst_fifo_with_reader; }

@test "cp: DST a FIFO that nobody reads fails at once with a clear message, never hangs" { cpf_dst_fifo_no_reader; }

@test "cp: DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1" { cpf_dst_unix_socket; }

@test "cp: DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it" { cpf_dst_dangling_symlink coreutils; }

@test "cp: DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode" { cpf_dst_symlink_followed; }

@test "cp: DST a pipe with a slow reader gets every byte (short writes are finished)" { cpf_dst_pipe_slow_reader; }

@test "cp: DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1" { cpf_dst_pipe_reader_gone; }

@test "cp: with SIGPIPE ignored and SRC a waiting pipe, a broken DST pipe still ends the copy" {
    # The read on the SRC pipe would wait 20 s: it is cancelled.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CP) /dev/stdin /dev/stdout 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\ncp: write /dev/stdout: Broken pipe')" ]
}

@test "cp: DST a directory receives DST/basename(SRC)" { cpf_dst_directory; }

@test "cp: SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched" { cpf_src_dst_same_file; }

@test "cp: a missing SRC is named on stderr, exit 1, and no DST is left behind" { cpf_missing_src; }

@test "cp: SRC a directory is refused, exit 1, no DST left behind" { cpf_src_directory; }

@test "cp: DST in a missing directory fails with a clear message, exit 1, nothing created" { cpf_dst_in_missing_directory; }

@test "cp: bad options and operands are usage errors, exit 2, and create nothing" { cpf_usage_errors; }

@test "cp: -h and --help print the usage on stdout and exit 0" { cpf_help; }

@test "cp: -v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight" { cpf_verbose_log; }

@test "cp: a short read is resubmitted for the rest, at the offset right after it" { cpf_short_read_resubmitted; }

@test "cp: CP_DELAY_FIRST holds the first read back: the copy is exact and block 0 completes last" {
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
    n=$(tail -n 1 log | sed -n 's/.* \([0-9]*\) out of submission order$/\1/p')
    [ "$n" -ge 10 ]
}

@test "cp: SRC cut short while block 0 waits (CP_DELAY_FIRST): DST is the prefix SRC still had, no hole, nothing after it" {
    head -c 1048576 /dev/urandom > src
    cp src orig
    # Block 0's read waits 5 s behind its timeout; blocks 1 to 15 are read
    # and written meanwhile.  Once they are, SRC is cut to 30000 bytes:
    # block 0 then reads 30000 bytes and finds the end of SRC there.
    CP_DELAY_FIRST=5000 timeout 60 "$STAGE_DIR/cp" -v -q 4 -b 65536 src dst 2> log &
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

@test "cp: a read error in the middle of SRC (faultfs --eio-at) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1" { cpf_eio_in_middle; }

@test "cp: SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0" { cpf_eof_before_st_size; }

@test "cp: a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC" { cpf_efbig_while_block_0_waits; }

@test "cp: CP_DELAY_FIRST that is not a number of milliseconds is a usage error" { cpf_delay_first_not_a_number; }

@test "cp: reads and writes go through the ring, several per io_uring_enter" { cpf_through_the_ring; }

@test "cp: memory does not grow with the file: max RSS under 16 MiB for 256 MiB" { cpf_memory_bounded; }

@test "cp: SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)" { cpf_sigstop_sigcont; }

@test "cp: a tracer attaching and leaving mid-copy does not break the copy" { cpf_tracer_attach_detach; }

@test "cp: where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST" { cpf_forbidden_eperm; }

@test "cp: on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST" { cpf_forbidden_enosys; }

@test "cp: tools/cp-timeline.py draws a fresh -v log as an SVG" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    head -c 262144 /dev/urandom > src
    run_sh "CP_DELAY_FIRST=50 $(CP) -v -q 4 -b 16384 src dst 2> log"
    [ "$status" -eq 0 ]
    run python3 "$TESTS_DIR/../tools/cp-timeline.py" log out.svg
    [ "$status" -eq 0 ]
    grep -q '<svg' out.svg
    grep -q 'block 0' out.svg
}

# ---- Exercises (make grade STAGE=04-cp; left out of make test) ----

# fsync_log: $stderr is a -v log with one fsync, submitted after the last
# write completed and completed with res 0.
fsync_log() {
    printf '%s\n' "$stderr" > log
    [ "$(grep -cE '^cp: \[ *[0-9.]+ ms\] submit +#[0-9]+ fsync$' log)" -eq 1 ]
    [ "$(grep -cE '^cp: \[ *[0-9.]+ ms\] complete #[0-9]+ fsync res 0$' log)" -eq 1 ]
    last_write=$(grep -nE 'complete #[0-9]+ write' log | tail -n 1 | cut -d: -f1)
    fsync_at=$(grep -nE 'submit +#[0-9]+ fsync' log | cut -d: -f1)
    [ "$fsync_at" -gt "${last_write:-0}" ]
}

# bats test_tags=exercise
@test "[5] 4.1 (easy): -s ends the copy with one IORING_OP_FSYNC of DST, once every write has completed" {
    head -c $((3 * BYTES + 100)) /dev/urandom > src
    run_stage cp -s -v src dst
    [ "$status" -eq 0 ]
    cmp src dst
    fsync_log
    check_log log "$DEPTH"
    # through the ring: no fsync(2) or fdatasync(2) of its own
    run_traced "strace -f -qq -e trace=fsync,fdatasync,sync_file_range,sync,syncfs -o trace $(CP) -s src dst2"
    [ "$status" -eq 0 ]
    cmp src dst2
    [ ! -s trace ]
}

# bats test_tags=exercise
@test "[5] 4.1 (easy): -s with an empty SRC, a one-block DEPTH, and DST a pipe (nothing to sync there)" {
    : > empty
    run_stage cp -s -v empty dst
    [ "$status" -eq 0 ]
    [ ! -s dst ]
    fsync_log
    head -c 100000 /dev/urandom > src
    run_stage cp -s -v -q 1 -b 4096 src dst
    [ "$status" -eq 0 ]
    cmp src dst
    fsync_log
    check_log log 1
    run_sh "$(CP) -s src /dev/stdout | cmp - src"
    [ "$status" -eq 0 ]
}

# direct_here: skip unless this folder's filesystem takes O_DIRECT (tmpfs
# before Linux 6.6 does not, nor do some overlay setups).
direct_here() {
    dd if=/dev/zero of=probe bs=4096 count=1 oflag=direct status=none 2> /dev/null ||
        skip "this filesystem ($(stat -f -c %T .)) refuses O_DIRECT"
    rm -f probe
}

# bats test_tags=exercise
@test "[5] 4.2 (moderate): -d opens SRC and DST with O_DIRECT and copies files of every size byte for byte" {
    direct_here
    for n in 0 1 4095 4096 4097 $BYTES $((BYTES + 1)) $((DEPTH * BYTES + 12345)); do
        head -c "$n" /dev/urandom > "src$n"
        run_traced "strace -f -qq -e trace=open,openat -o trace $(CP) -d src$n dst$n"
        [ "$status" -eq 0 ]
        cmp "src$n" "dst$n"
        grep -Eq "\"src$n\", [^)]*O_DIRECT" trace
        grep -Eq "\"dst$n\", [^)]*O_DIRECT" trace
    done
}

# bats test_tags=exercise
@test "[5] 4.2 (moderate): -d works with any DEPTH and BYTES a multiple of 4096; other BYTES are a usage error" {
    direct_here
    head -c 3000017 /dev/urandom > src
    for q in 1 3 16; do
        for b in 4096 12288 1048576; do
            run_stage cp -d -q "$q" -b "$b" src dst
            [ "$status" -eq 0 ]
            cmp src dst
        done
    done
    for b in 1 4097 1000; do
        run_stage cp -d -b "$b" src dst2
        [ "$status" -eq 2 ]
        [ ! -e dst2 ]
    done
}
