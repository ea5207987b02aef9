# tests/08-fixed-cp.bats - fixed-cp: 07's chained copy on registered files
# and buffers; registration and its limits; O_DIRECT (-d)
# bats file_tags=stage:08
bats_require_minimum_version 1.8.0
load helpers
load cp-family

setup() { cd "$BATS_TEST_TMPDIR"; }
teardown() { faultfs_cleanup; }

CP() { printf '%q' "$STAGE_DIR/fixed-cp"; }

# The defaults, from the source (08-fixed-cp/fixed-cp.c).
DEPTH=$(sed -n 's/^#define DEFAULT_DEPTH //p' "$SRC_DIR/fixed-cp.c")
BYTES=$(($(sed -n 's/^#define DEFAULT_BYTES //p' "$SRC_DIR/fixed-cp.c")))
USAGE="usage: fixed-cp [-q DEPTH] [-b BYTES] [-t MS] [-d] [-v] SRC DST"

# check_log FILE DEPTH: a -v log where every request is submitted once and
# accounted for once (a CQE, or a "no CQE" line for one the kernel skipped),
# never more than DEPTH blocks (two requests each) are in flight, and the
# summary counts them.
check_log() {
    local log=$1 depth=$2
    grep -E '^fixed-cp: \[ *[0-9.]+ ms\] submit +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > submitted
    grep -E '^fixed-cp: \[ *[0-9.]+ ms\] (complete|no CQE) +#[0-9]+ ' "$log" | sed 's/.*#\([0-9]*\) .*/\1/' | sort -n > completed
    [ -s submitted ]
    cmp submitted completed
    [ "$(uniq -d submitted | wc -l)" -eq 0 ]
    local n cqes
    n=$(wc -l < submitted)
    seq 0 $((n - 1)) | cmp - submitted
    cqes=$(grep -cE '^fixed-cp: \[ *[0-9.]+ ms\] complete ' "$log")
    tail -n 2 "$log" | head -n 1 | grep -Eq "^fixed-cp: $n requests, $cqes completions, [0-9]+ out of submission order$"
    tail -n 1 "$log" | grep -Eq "^fixed-cp: $cqes CQEs for [0-9]+ chains \([0-9]+ broken\), [0-9]+ io_uring_enter calls$"
    # in flight: +1 at a submission, -1 at a completion (timeouts aside)
    grep -E '(submit|complete|no CQE) +#[0-9]+ (read|write)' "$log" |
        awk -v max="$((2 * depth))" '/submit/ { n++ } /complete|no CQE/ { n-- } n > max { exit 1 }'
}

@test "fixed-cp: files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte" { cpf_sizes_around_bytes; }

@test "fixed-cp: a 30 MiB file is copied byte for byte" { cpf_30_mib_file; }

@test "fixed-cp: any DEPTH >= 1 and BYTES >= 1 give the same bytes" { cpf_any_depth_and_bytes; }

@test "fixed-cp: a sparse source is copied byte for byte" { cpf_sparse_source; }

@test "fixed-cp: /proc sources, whose st_size is 0, are copied whole" { cpf_proc_sources; }

@test "fixed-cp: a pipe as SRC (/dev/stdin) is copied whole" { cpf_pipe_as_src; }

@test "fixed-cp: a new DST gets SRC's permission bits less the umask" { cpf_new_dst_mode; }

@test "fixed-cp: an existing DST is truncated and keeps its own mode" { cpf_existing_dst_truncated; }

@test "fixed-cp: DST /dev/null works and is left as it was (never chmod)" { cpf_dst_dev_null; }

@test "fixed-cp: DST /dev/full fails with a clear message, exit 1" { cpf_dst_dev_full; }

@test "fixed-cp: DST a FIFO with a reader gets the bytes in order" { cpf_dst_fifo_with_reader; }

@test "fixed-cp: DST a FIFO that nobody reads fails at once with a clear message, never hangs" { cpf_dst_fifo_no_reader; }

@test "fixed-cp: DST a pipe with a slow reader gets every byte (short writes are finished)" { cpf_dst_pipe_slow_reader; }

@test "fixed-cp: DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1" { cpf_dst_pipe_reader_gone; }

@test "fixed-cp: with SIGPIPE ignored and SRC a waiting pipe, a broken DST pipe still ends the copy" {
    # The read on the SRC pipe would wait 20 s: it is cancelled.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CP) /dev/stdin /dev/stdout 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\nfixed-cp: write /dev/stdout: Broken pipe')" ]
}

@test "fixed-cp: DST a directory receives DST/basename(SRC)" { cpf_dst_directory; }

@test "fixed-cp: SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched" { cpf_src_dst_same_file; }

@test "fixed-cp: a missing SRC is named on stderr, exit 1, and no DST is left behind" { cpf_missing_src; }

@test "fixed-cp: SRC a directory is refused, exit 1, no DST left behind" { cpf_src_directory; }

@test "fixed-cp: DST in a missing directory fails with a clear message, exit 1, nothing created" { cpf_dst_in_missing_directory; }

@test "fixed-cp: bad options and operands are usage errors, exit 2, and create nothing" { cpf_usage_errors; }

@test "fixed-cp: -h and --help print the usage on stdout and exit 0" { cpf_help; }

@test "fixed-cp: -v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight" { cpf_verbose_log_chained; }

@test "fixed-cp: CP_DELAY_FIRST holds the first read back: the copy is exact and block 0 completes last" { cpf_delay_first_chained; }

@test "fixed-cp: CP_DELAY_FIRST that is not a number of milliseconds is a usage error" { cpf_delay_first_not_a_number; }

@test "fixed-cp: reads and writes go through the ring, several per io_uring_enter" { cpf_through_the_ring; }

@test "fixed-cp: memory does not grow with the file: max RSS under 16 MiB for 256 MiB" { cpf_memory_bounded; }

@test "fixed-cp: SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)" { cpf_sigstop_sigcont; }

@test "fixed-cp: a tracer attaching and leaving mid-copy does not break the copy" { cpf_tracer_attach_detach; }

@test "fixed-cp: where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST" { cpf_forbidden_eperm; }

@test "fixed-cp: on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST" { cpf_forbidden_enosys; }


# ---- Chains: what the links do, what breaks them, and deadlines ----

# cqes_per_chain: from the summary line of $1, "CQES CHAINS BROKEN".
summary() {
    tail -n 1 "$1" | sed -n 's/^fixed-cp: \([0-9]*\) CQEs for \([0-9]*\) chains (\([0-9]*\) broken), .*/\1 \2 \3/p'
}

@test "fixed-cp: -v says whether the kernel skips a chained read's CQE (IORING_FEAT_CQE_SKIP), and it is so" { cpf_verbose_says_cqe_skip; }

@test "fixed-cp: each block is one chain (read linked to write, in one submission), and with CQE skipping one CQE per block" { cpf_one_chain_per_block; }

@test "fixed-cp: the read and write of a chain enter the kernel in the same io_uring_enter (strace)" { cpf_chain_in_one_enter; }

@test "fixed-cp: a file's last block is chained with its exact length, so the end of the file breaks no chain" { cpf_last_block_exact_length; }

# a sysfs file whose st_size (4096) says more than it holds
short_sysfs() {
    local f
    for f in /sys/devices/system/cpu/online /sys/devices/system/cpu/possible; do
        [ -r "$f" ] && [ "$(stat -c %s "$f")" -gt "$(wc -c < "$f")" ] && { echo "$f"; return; }
    done
    skip "no sysfs file here whose st_size is larger than its content"
}

@test "fixed-cp: a short read (a sysfs file whose st_size lies) breaks the chain: the write is cancelled, the rest is read, the bytes are written once" { cpf_short_read_breaks_chain; }

# a regular file with a size whose reads fail with EIO (sysfs runtime PM)
eio_sysfs() {
    local f
    for f in /sys/devices/*/power/autosuspend_delay_ms /sys/devices/*/*/power/autosuspend_delay_ms; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 0 ] && ! head -c 1 "$f" > /dev/null 2>&1 &&
            { echo "$f"; return; }
    done
    skip "no sysfs file here whose read fails"
}

@test "fixed-cp: a read that fails breaks the chain: its write never runs, 'read SRC: Input/output error', exit 1, DST empty" { cpf_read_that_fails_breaks_chain; }

@test "fixed-cp: a write that fails (EFBIG past ulimit -f) ends the copy, exit 1, and DST holds exactly SRC's first bytes, no hole" { cpf_efbig_ends_copy; }

@test "fixed-cp: LINK_CP_NO_SKIP=1 (as on a kernel before 5.17) posts a CQE for every read too, and copies the same" { cpf_no_skip_env; }

@test "fixed-cp: -t with time to spare changes nothing but the CQEs: every deadline is cancelled (-ECANCELED)" { cpf_deadline_to_spare; }

@test "fixed-cp: -t fires when SRC (a FIFO) stalls: 'read SRC: Timer expired', exit 1, what came before is copied, nothing left in flight" { cpf_deadline_src_stalls; }

@test "fixed-cp: -t fires when DST (a FIFO) stops being read: 'write DST: Timer expired', exit 1, never a hang" { cpf_deadline_dst_stalls; }

@test "fixed-cp: -t that is not a number of milliseconds from 1 to 3600000 is a usage error" { cpf_deadline_usage; }

# ---- Registered files and buffers, and O_DIRECT ----

@test "fixed-cp: registers SRC, DST and one buffer per block once, and unregisters buffers, then files, before closing the ring (strace)" {
    head -c $((10 * 65536 + 3)) /dev/urandom > src
    run_traced "strace -f -qq -e trace=io_uring_setup,io_uring_register,close -o trace $(CP) -q 3 -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    # only the two registrations and the two unregistrations
    grep 'io_uring_register(' trace > reg
    [ "$(wc -l < reg)" -eq 4 ]
    sed -n 1p reg | grep -Eq 'IORING_REGISTER_FILES, \[[0-9]+, [0-9]+\], 2\) = 0'
    sed -n 2p reg | grep -Eq 'IORING_REGISTER_BUFFERS, .*, 3\) = 0'
    sed -n 3p reg | grep -Eq 'IORING_UNREGISTER_BUFFERS, NULL, 0\) = 0'
    sed -n 4p reg | grep -Eq 'IORING_UNREGISTER_FILES, NULL, 0\) = 0'
    # the ring is closed after the unregistrations
    ring=$(sed -n 's/.*io_uring_setup(.*) = \([0-9]*\)$/\1/p' trace)
    [ -n "$ring" ]
    grep -n "close($ring)" trace | cut -d: -f1 > at
    [ "$(cat at)" -gt "$(grep -n IORING_UNREGISTER_FILES trace | cut -d: -f1)" ]
}

@test "fixed-cp: -v says what it registered, and a block is still one chain and one CQE" {
    head -c $((16 * 65536)) /dev/urandom > src
    run_sh "$(CP) -v -q 4 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    grep -Eq '^fixed-cp: \[ *[0-9.]+ ms\] registered 2 files and 4 buffers of 65536 bytes \(256 KiB pinned\)$' log
    check_log log 4
    read -r cqes chains broken < <(summary log)
    [ "$chains" -eq 16 ]
    if grep -q 'IOSQE_CQE_SKIP_SUCCESS: yes' log; then [ "$cqes" -eq 17 ]; fi
}

@test "fixed-cp: more buffers than UIO_MAXIOV (-q 2000) register where the kernel allows it, or fail with the limit explained" {
    head -c 5000000 /dev/urandom > src
    run_stage fixed-cp -q 2000 -b 4096 src dst
    if [ "$status" -eq 0 ]; then
        cmp src dst
    elif ! fits_memlock 2000 4096; then
        copied_or_memlock 2000 4096 src dst
    else
        [ "$status" -eq 1 ]
        [[ "$stderr" == "fixed-cp: register 2000 buffers (this kernel takes at most 1024: use -q 1024 or less): Invalid argument" ]]
    fi
}

# run_as_new_user CMD: CMD as a user id no other process has (the memlock
# charge is per user), with a tight RLIMIT_MEMLOCK.  Root only.
run_as_new_user() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (to run as another user)"
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    require_io_uring
    chmod 755 "$BATS_TEST_TMPDIR"
    mkdir -p out
    chmod 777 out
    local uid=$((50000 + RANDOM % 10000))
    # A copy of the program in this folder, run by a relative path: the
    # other user may not be able to reach the build (a checkout under a
    # private /root, say) nor this folder's parents.
    mkdir -p own
    cp "$STAGE_DIR/fixed-cp" own/fixed-cp
    chmod 755 own own/fixed-cp
    local cmd=${1//"$(CP)"/./own/fixed-cp}
    # Root lifts the hard limit first (where it may), so that CMD's ulimit
    # -l may set any value: the default was 64 KiB before Linux 5.16 (8 MiB
    # since), below what the tests ask for.
    run_sh "ulimit -H -l unlimited 2> /dev/null; setpriv --reuid=$uid --regid=$uid --clear-groups bash -c '$cmd'"
}

@test "fixed-cp: buffers past RLIMIT_MEMLOCK: ENOMEM, explained with the limit and what to do, exit 1; within the limit it copies" {
    head -c 3000000 /dev/urandom > src
    chmod 644 src
    run_as_new_user "ulimit -l 256; $(CP) -q 8 -b 262144 src out/dst"
    [ "$status" -eq 1 ]
    printf '%s\n' "$stderr" | head -n 1 | grep -Eqx 'fixed-cp: (register the buffers|io_uring_setup): Cannot allocate memory'
    [[ "$stderr" == *"RLIMIT_MEMLOCK (ulimit -l: 256 KiB here,"* ]]
    [[ "$stderr" == *"CAP_IPC_LOCK"* ]]
    # and within the limit the same user copies fine
    run_as_new_user "ulimit -l 2048; $(CP) -q 4 -b 65536 src out/dst2"
    [ "$status" -eq 0 ]
    cmp src out/dst2
}

# direct_here: skip unless this folder's file system takes O_DIRECT.
direct_here() {
    dd if=/dev/zero of=probe bs=4096 count=1 oflag=direct status=none 2> /dev/null ||
        skip "this file system ($(stat -f -c %T .)) refuses O_DIRECT"
    rm -f probe
}

@test "fixed-cp: -d copies files of every size byte for byte through O_DIRECT, the unaligned tail included, DST exactly as long" {
    direct_here
    for n in 0 1 511 512 513 4095 4096 4097 $BYTES $((BYTES + 1)) $((DEPTH * BYTES + 12345)); do
        head -c "$n" /dev/urandom > "src$n"
        run_traced "strace -f -qq -e trace=open,openat -o trace $(CP) -d src$n dst$n"
        [ "$status" -eq 0 ]
        cmp "src$n" "dst$n"
        [ "$(stat -c %s "dst$n")" -eq "$n" ]
        grep -Eq "\"src$n\", [^)]*O_DIRECT" trace
        grep -Eq "\"dst$n\", [^)]*O_DIRECT" trace
    done
}

@test "fixed-cp: -d chains the aligned blocks and writes the unaligned tail padded, then cuts DST back (-v)" {
    direct_here
    head -c $((3 * 4096 + 100)) /dev/urandom > src
    run_sh "$(CP) -v -d -q 2 -b 4096 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    check_log log 2
    read -r cqes chains broken < <(summary log)
    [ "$chains" -eq 3 ]
    [ "$broken" -eq 0 ]
    grep -q 'registered 2 files and 2 buffers of 4096 bytes (8 KiB pinned), O_DIRECT$' log
    grep -Eq 'submit   #[0-9]+ read  block [0-9] offset 12288 length 4096$' log
    grep -Eq 'complete #[0-9]+ read  block [0-9] res 100' log
    # padded to the file's alignment (512 on ext4, the page elsewhere)
    grep -Eq 'submit   #[0-9]+ write block [0-9] offset 12288 length (512|4096)$' log
}

@test "fixed-cp: -d works with -t, any DEPTH and BYTES a multiple of 4096; other BYTES are a usage error" {
    direct_here
    head -c 3000017 /dev/urandom > src
    for q in 1 3 16; do
        for b in 4096 12288 1048576; do
            run_stage fixed-cp -d -t 20000 -q "$q" -b "$b" src dst
            copied_or_memlock "$q" "$b" src dst
        done
    done
    for b in 1 4097 1000; do
        run_stage fixed-cp -d -b "$b" src dst2
        [ "$status" -eq 2 ]
        [ "${stderr%%$'\n'*}" = "fixed-cp: with -d, BYTES must be a multiple of 4096" ]
        [ ! -e dst2 ]
    done
}

@test "fixed-cp: -d where direct I/O is not supported (/proc, /dev/null) is said clearly, exit 1, no DST left" {
    run_stage fixed-cp -d /proc/version dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "fixed-cp: open /proc/version with O_DIRECT (direct I/O is not supported there): Invalid argument" ]
    [ ! -e dst ]
    # DST /dev/null: SRC must take O_DIRECT, or the copy fails on SRC first
    # (a tmpfs before Linux 6.6, as in the guests of make test-kernels).
    dd if=/dev/zero of=probe bs=4096 count=1 oflag=direct status=none 2> /dev/null ||
        skip "the /proc half passed; the /dev/null half needs SRC where O_DIRECT works, not on $(stat -f -c %T .)"
    printf 'x\n' > src
    run_stage fixed-cp -d src /dev/null
    [ "$status" -eq 1 ]
    [ "$stderr" = "fixed-cp: open /dev/null with O_DIRECT (direct I/O is not supported there): Invalid argument" ]
}

@test "fixed-cp: -d on tmpfs copies exactly where tmpfs does direct I/O (Linux 6.6+), or says it does not, exit 1" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (to mount a tmpfs)"
    mkdir t
    mount -t tmpfs -o size=8m tmpfs t || skip "cannot mount a tmpfs here"
    head -c 1000001 /dev/urandom > t/src
    run_stage fixed-cp -d t/src t/dst
    if dd if=/dev/zero of=t/probe bs=4096 count=1 oflag=direct status=none 2> /dev/null; then
        rc=0; [ "$status" -eq 0 ] && cmp t/src t/dst || rc=1
    else
        rc=0; [ "$status" -eq 1 ] && [[ "$stderr" == *"direct I/O is not supported there"* ]] || rc=1
    fi
    umount t
    [ "$rc" -eq 0 ]
}

@test "fixed-cp: SRC that ends before its st_size (faultfs --eof-at): the chains past the end break, DST is exactly the bytes SRC had" { cpf_eof_at_chains_break; }

@test "fixed-cp: DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1" { cpf_dst_unix_socket; }

@test "fixed-cp: DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it" { cpf_dst_dangling_symlink; }

@test "fixed-cp: DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode" { cpf_dst_symlink_followed; }

@test "fixed-cp: SRC cut short while block 0 waits (CP_DELAY_FIRST): block 0's chain breaks, DST is the prefix SRC still had, no hole, nothing after it" {
    head -c 1048576 /dev/urandom > src
    cp src orig
    # Block 0's chain waits 5 s behind its timeout; blocks 1 to 15 are read
    # and written meanwhile.  Once they are, SRC is cut to 30000 bytes:
    # block 0's read then gets 30000 bytes (a short read: its chain breaks)
    # and finds the end of SRC there.
    CP_DELAY_FIRST=5000 timeout 60 "$STAGE_DIR/fixed-cp" -v -q 4 -b 65536 src dst 2> log &
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

@test "fixed-cp: a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC" { cpf_efbig_while_block_0_waits_chained; }

@test "fixed-cp: a read that fails mid-file (faultfs --eio-at) breaks its chain; DST holds exactly the bytes before it, as cp(1) leaves it, exit 1" { cpf_eio_mid_file_breaks_chain; }

@test "fixed-cp: a read error in the middle of SRC (faultfs --eio-at OFF:LEN) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1" { cpf_eio_in_middle "-t 20000"; }

@test "fixed-cp: SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0" { cpf_eof_before_st_size "-t 20000"; }

# ---- Exercises (make grade STAGE=08-fixed-cp; left out of make test) ----

# bats test_tags=exercise
@test "[5] 8.1 (easy): one registered buffer for all blocks (one iovec, buf_index 0): any DEPTH, the same bytes" {
    head -c 3000017 /dev/urandom > src
    for q in 1 3 2000; do
        run_traced "strace -f -qq -e trace=io_uring_register -o trace $(CP) -q $q -b 4096 src dst"
        [ "$status" -eq 0 ]
        cmp src dst
        grep -Eq "IORING_REGISTER_BUFFERS, \[\{iov_base=0x[0-9a-f]+, iov_len=$((q * 4096))\}\], 1\) = 0" trace
    done
}

# bats test_tags=exercise
@test "[5] 8.1 (easy): one registered buffer with chains broken, -d and -t: the same bytes" {
    f=$(short_sysfs)
    run_stage fixed-cp -q 2 -b 4096 "$f" dst
    [ "$status" -eq 0 ]
    cmp "$f" dst
    head -c $((5 * 65536 + 77)) /dev/urandom > src
    run_stage fixed-cp -t 20000 -q 3 -b 65536 src dst
    [ "$status" -eq 0 ]
    cmp src dst
    direct_here
    run_traced "strace -f -qq -e trace=io_uring_register -o trace $(CP) -d -q 3 -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    grep -Eq 'IORING_REGISTER_BUFFERS, \[\{iov_base=0x[0-9a-f]+, iov_len=196608\}\], 1\) = 0' trace
}

# bats test_tags=exercise
@test "[10] 8.2 (moderate): the ring's own fd is registered, and every io_uring_enter uses its index (IORING_ENTER_REGISTERED_RING)" {
    head -c 3000017 /dev/urandom > src
    run_traced "strace -f -qq -e trace=io_uring_register,io_uring_enter -o trace $(CP) -q 4 -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    if grep -q 'IORING_REGISTER_RING_FDS.* = -1 EINVAL' trace; then
        skip "this kernel cannot register a ring fd (Linux 5.18 can)"
    fi
    grep -Eq 'IORING_REGISTER_RING_FDS, \[\{offset=-1, data=[0-9]+\}\], 1\) = 1' trace
    n=$(grep -c 'io_uring_enter(' trace)
    [ "$n" -gt 0 ]
    [ "$(grep -c 'io_uring_enter(.*IORING_ENTER_REGISTERED_RING' trace)" -eq "$n" ]
    run_stage fixed-cp -v -t 20000 -q 2 -b 4096 src dst
    [ "$status" -eq 0 ]
    cmp src dst
}
