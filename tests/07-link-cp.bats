# tests/07-link-cp.bats - link-cp: each block a read linked to its write,
# chains that break and are finished, deadlines that fire and that do not
# bats file_tags=stage:07
bats_require_minimum_version 1.8.0
load helpers
load cp-family

setup() { cd "$BATS_TEST_TMPDIR"; }
teardown() { faultfs_cleanup; }

CP() { printf '%q' "$STAGE_DIR/link-cp"; }

# The defaults, from the source (07-link-cp/link-cp.c).
DEPTH=$(sed -n 's/^#define DEFAULT_DEPTH //p' "$SRC_DIR/link-cp.c")
BYTES=$(($(sed -n 's/^#define DEFAULT_BYTES //p' "$SRC_DIR/link-cp.c")))
USAGE="usage: link-cp [-q DEPTH] [-b BYTES] [-t MS] [-v] SRC DST"

# check_log FILE DEPTH: a -v log where every request is submitted once and
# accounted for once (a CQE, or a "no CQE" line for one the kernel skipped),
# never more than DEPTH blocks (two requests each) are in flight, and the
# summary counts them.
check_log() {
    local log=$1 depth=$2
    grep -E '^link-cp: \[ *[0-9.]+ ms\] submit +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > submitted
    grep -E '^link-cp: \[ *[0-9.]+ ms\] (complete|no CQE) +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > completed
    [ -s submitted ]
    cmp submitted completed
    [ "$(uniq -d submitted | wc -l)" -eq 0 ]
    local n cqes
    n=$(wc -l < submitted)
    seq 0 $((n - 1)) | cmp - submitted
    cqes=$(grep -cE '^link-cp: \[ *[0-9.]+ ms\] complete ' "$log")
    tail -n 2 "$log" | head -n 1 | grep -Eq "^link-cp: $n requests, $cqes completions, [0-9]+ out of submission order$"
    tail -n 1 "$log" | grep -Eq "^link-cp: $cqes CQEs for [0-9]+ chains \([0-9]+ broken\), [0-9]+ io_uring_enter calls$"
    # in flight: +1 at a submission, -1 at a completion (timeouts aside)
    grep -E '(submit|complete|no CQE) +#[0-9]+ (read|write)' "$log" |
        awk -v max="$((2 * depth))" '/submit/ { n++ } /complete|no CQE/ { n-- } n > max { exit 1 }'
}

@test "link-cp: files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte" { cpf_sizes_around_bytes; }

@test "link-cp: a 30 MiB file is copied byte for byte" { cpf_30_mib_file; }

@test "link-cp: any DEPTH >= 1 and BYTES >= 1 give the same bytes" { cpf_any_depth_and_bytes; }

@test "link-cp: a sparse source is copied byte for byte" { cpf_sparse_source; }

@test "link-cp: /proc sources, whose st_size is 0, are copied whole" { cpf_proc_sources; }

@test "link-cp: a pipe as SRC (/dev/stdin) is copied whole" { cpf_pipe_as_src; }

@test "link-cp: a new DST gets SRC's permission bits less the umask" { cpf_new_dst_mode; }

@test "link-cp: an existing DST is truncated and keeps its own mode" { cpf_existing_dst_truncated; }

@test "link-cp: DST /dev/null works and is left as it was (never chmod)" { cpf_dst_dev_null; }

@test "link-cp: DST /dev/full fails with a clear message, exit 1" { cpf_dst_dev_full; }

@test "link-cp: DST a FIFO with a reader gets the bytes in order" { cpf_dst_fifo_with_reader; }

@test "link-cp: DST a FIFO that nobody reads fails at once with a clear message, never hangs" { cpf_dst_fifo_no_reader; }

@test "link-cp: DST a pipe with a slow reader gets every byte (short writes are finished)" { cpf_dst_pipe_slow_reader; }

@test "link-cp: DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1" { cpf_dst_pipe_reader_gone; }

@test "link-cp: with SIGPIPE ignored and SRC a waiting pipe, a broken DST pipe still ends the copy" {
    # The read on the SRC pipe would wait 20 s: it is cancelled.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CP) /dev/stdin /dev/stdout 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\nlink-cp: write /dev/stdout: Broken pipe')" ]
}

@test "link-cp: DST a directory receives DST/basename(SRC)" { cpf_dst_directory; }

@test "link-cp: SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched" { cpf_src_dst_same_file; }

@test "link-cp: a missing SRC is named on stderr, exit 1, and no DST is left behind" { cpf_missing_src; }

@test "link-cp: SRC a directory is refused, exit 1, no DST left behind" { cpf_src_directory; }

@test "link-cp: DST in a missing directory fails with a clear message, exit 1, nothing created" { cpf_dst_in_missing_directory; }

@test "link-cp: bad options and operands are usage errors, exit 2, and create nothing" { cpf_usage_errors; }

@test "link-cp: -h and --help print the usage on stdout and exit 0" { cpf_help; }

@test "link-cp: -v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight" { cpf_verbose_log_chained; }

@test "link-cp: CP_DELAY_FIRST holds the first read back: the copy is exact and block 0 completes last" { cpf_delay_first_chained; }

@test "link-cp: CP_DELAY_FIRST that is not a number of milliseconds is a usage error" { cpf_delay_first_not_a_number; }

@test "link-cp: reads and writes go through the ring, several per io_uring_enter" { cpf_through_the_ring; }

@test "link-cp: memory does not grow with the file: max RSS under 16 MiB for 256 MiB" { cpf_memory_bounded; }

@test "link-cp: SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)" { cpf_sigstop_sigcont; }

@test "link-cp: a tracer attaching and leaving mid-copy does not break the copy" { cpf_tracer_attach_detach; }

@test "link-cp: where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST" { cpf_forbidden_eperm; }

@test "link-cp: on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST" { cpf_forbidden_enosys; }


# ---- Chains: what the links do, what breaks them, and deadlines ----

# cqes_per_chain: from the summary line of $1, "CQES CHAINS BROKEN".
summary() {
    tail -n 1 "$1" | sed -n 's/^link-cp: \([0-9]*\) CQEs for \([0-9]*\) chains (\([0-9]*\) broken), .*/\1 \2 \3/p'
}

@test "link-cp: -v says whether the kernel skips a chained read's CQE (IORING_FEAT_CQE_SKIP), and it is so" { cpf_verbose_says_cqe_skip; }

@test "link-cp: each block is one chain (read linked to write, in one submission), and with CQE skipping one CQE per block" { cpf_one_chain_per_block; }

@test "link-cp: the read and write of a chain enter the kernel in the same io_uring_enter (strace)" { cpf_chain_in_one_enter; }

@test "link-cp: a file's last block is chained with its exact length, so the end of the file breaks no chain" { cpf_last_block_exact_length; }

# a sysfs file whose st_size (4096) says more than it holds
short_sysfs() {
    local f
    for f in /sys/devices/system/cpu/online /sys/devices/system/cpu/possible; do
        [ -r "$f" ] && [ "$(stat -c %s "$f")" -gt "$(wc -c < "$f")" ] && { echo "$f"; return; }
    done
    skip "no sysfs file here whose st_size is larger than its content"
}

@test "link-cp: a short read (a sysfs file whose st_size lies) breaks the chain: the write is cancelled, the rest is read, the bytes are written once" { cpf_short_read_breaks_chain; }

# a regular file with a size whose reads fail with EIO (sysfs runtime PM)
eio_sysfs() {
    local f
    for f in /sys/devices/*/power/autosuspend_delay_ms /sys/devices/*/*/power/autosuspend_delay_ms; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 0 ] && ! head -c 1 "$f" > /dev/null 2>&1 &&
            { echo "$f"; return; }
    done
    skip "no sysfs file here whose read fails"
}

@test "link-cp: a read that fails breaks the chain: its write never runs, 'read SRC: Input/output error', exit 1, DST empty" { cpf_read_that_fails_breaks_chain; }

@test "link-cp: a write that fails (EFBIG past ulimit -f) ends the copy, exit 1, and DST holds exactly SRC's first bytes, no hole" { cpf_efbig_ends_copy; }

@test "link-cp: LINK_CP_NO_SKIP=1 (as on a kernel before 5.17) posts a CQE for every read too, and copies the same" { cpf_no_skip_env; }

@test "link-cp: -t with time to spare changes nothing but the CQEs: every deadline is cancelled (-ECANCELED)" { cpf_deadline_to_spare; }

@test "link-cp: -t fires when SRC (a FIFO) stalls: 'read SRC: Timer expired', exit 1, what came before is copied, nothing left in flight" { cpf_deadline_src_stalls; }

@test "link-cp: -t fires when DST (a FIFO) stops being read: 'write DST: Timer expired', exit 1, never a hang" { cpf_deadline_dst_stalls; }

@test "link-cp: -t that is not a number of milliseconds from 1 to 3600000 is a usage error" { cpf_deadline_usage; }

@test "link-cp: SRC that ends before its st_size (faultfs --eof-at): the chains past the end break, DST is exactly the bytes SRC had" { cpf_eof_at_chains_break; }

@test "link-cp: DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1" { cpf_dst_unix_socket; }

@test "link-cp: DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it" { cpf_dst_dangling_symlink; }

@test "link-cp: DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode" { cpf_dst_symlink_followed; }

@test "link-cp: SRC cut short while block 0 waits (CP_DELAY_FIRST): block 0's chain breaks, DST is the prefix SRC still had, no hole, nothing after it" {
    head -c 1048576 /dev/urandom > src
    cp src orig
    # Block 0's chain waits 5 s behind its timeout; blocks 1 to 15 are read
    # and written meanwhile.  Once they are, SRC is cut to 30000 bytes:
    # block 0's read then gets 30000 bytes (a short read: its chain breaks)
    # and finds the end of SRC there.
    CP_DELAY_FIRST=5000 timeout 60 "$STAGE_DIR/link-cp" -v -q 4 -b 65536 src dst 2> log &
    pid=$!
    for i in $(seq 1000); do
        [ "$(grep -c 'complete #[0-9]* write' log)" -ge 15 ] && break
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.01
    done
    truncate -s 30000 src
    if grep -qE '(complete|no CQE) +#1 read' log; then
        kill "$pid"
        skip "the machine was too slow: block 0 was read before SRC was cut"
    fi
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -ne 77 ] || skip "io_uring is not available here: $(head -n 1 log)"
    [ "$rc" -eq 0 ]
    grep -q 'complete #1 read  block 0 res 30000: the chain is broken$' log
    [ "$(stat -c %s dst)" -eq 30000 ]
    cmp -n 30000 orig dst
}

@test "link-cp: a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC" { cpf_efbig_while_block_0_waits_chained; }

@test "link-cp: a read that fails mid-file (faultfs --eio-at) breaks its chain; DST holds exactly the bytes before it, as cp(1) leaves it, exit 1" { cpf_eio_mid_file_breaks_chain; }

@test "link-cp: a read error in the middle of SRC (faultfs --eio-at OFF:LEN) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1" { cpf_eio_in_middle "-t 20000"; }

@test "link-cp: SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0" { cpf_eof_before_st_size "-t 20000"; }

# ---- Exercises (make grade STAGE=07-link-cp; left out of make test) ----

# bats test_tags=exercise
@test "[10] 7.1 (easy): after a failure one ASYNC_CANCEL with IORING_ASYNC_CANCEL_ANY | _ALL cancels what is in flight, and -v logs it" {
    head -c 1000000 /dev/urandom > src
    run_sh "trap '' XFSZ; ulimit -f 100; $(CP) -v -q 8 -b 4096 src dst 2> log"
    [ "$status" -eq 1 ]
    tail -n 1 log | grep -qx 'link-cp: write dst: File too large'
    [ "$(grep -cE 'submit   #[0-9]+ cancel all$' log)" -eq 1 ]
    grep -Eq 'complete #[0-9]+ cancel res -?[0-9]+$' log
    size=$(stat -c %s dst)
    cmp -n "$size" src dst
    head -n -1 log > log2
    check_log log2 8
    # and a copy that does not fail cancels nothing
    run_sh "$(CP) -v -q 8 -b 4096 src dst2 2> log"
    [ "$status" -eq 0 ]
    cmp src dst2
    ! grep -q cancel log
}

# bats test_tags=exercise
@test "[10] 7.2 (moderate): with -t the deadlines post no CQE either (one CQE per block), and a missed one is still 'Timer expired'" {
    head -c $((64 * 65536)) /dev/urandom > src
    run_sh "$(CP) -v -t 20000 -q 8 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    grep -q 'IOSQE_CQE_SKIP_SUCCESS: yes' log || skip "this kernel does not skip CQEs"
    check_log log 8
    [ "$(summary log)" = "65 64 0" ]
    [ "$(grep -c 'submit   #[0-9]* deadline 20000 ms on #' log)" -eq 129 ]
    mkfifo fifo
    run_sh "{ printf abc; sleep 20; } > fifo & w=\$!
        $(CP) -v -t 300 fifo dst2 2> log; rc=\$?; kill \$w; echo \$rc"
    [ "$output" = 1 ]
    tail -n 1 log | grep -qx 'link-cp: read fifo: Timer expired'
    printf abc | cmp - dst2
    ! grep -qE 'complete #[0-9]+ deadline' log
    head -n -1 log > log2
    check_log log2 8
}
