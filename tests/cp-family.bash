# tests/cp-family.bash - the test bodies the copy programs share:
# 04-cp (cp), 05-sqpoll (sqpoll), 07-link-cp (link-cp), 08-fixed-cp
# (fixed-cp).  Loaded by their bats files with `load cp-family`, after
# `load helpers`.
#
# Each stage is its own binary, so each stage's file still runs every test
# it inherits (HOUSE-STYLE.md section 5), under its own name:
#     @test "cp: DST /dev/full fails with a clear message, exit 1" { cpf_dst_dev_full; }
# A body is here once it is the same in two or more of those files but for
# the program's name, which it takes from PROG (helpers.bash reads it from
# the stage's Makefile).  Each function says which stages run it and the
# test's name.  What differs from stage to stage stays in the stage's file,
# as do the helpers the bodies call by name (check_log, CP, DEPTH, BYTES,
# USAGE, summary, ...), which the stage's file defines.

# Stages 04, 05, 07, 08: "files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte"
cpf_sizes_around_bytes() {
    for n in 0 1 $((BYTES - 1)) $BYTES $((BYTES + 1)) $((DEPTH * BYTES + 1)); do
        head -c "$n" /dev/urandom > "src$n"
        run_stage "$PROG" "src$n" "dst$n"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        [ -z "$stderr" ]
        cmp "src$n" "dst$n"
    done
}

# Stages 04, 05, 07, 08: "a 30 MiB file is copied byte for byte"
cpf_30_mib_file() {
    head -c 31457280 /dev/urandom > src
    run_stage "$PROG" src dst
    [ "$status" -eq 0 ]
    cmp src dst
}

# Stages 04, 05, 07, 08: "any DEPTH >= 1 and BYTES >= 1 give the same bytes"
# fits_memlock Q B: Q registered buffers of B bytes (and the ring) fit in
# RLIMIT_MEMLOCK, or we are root (CAP_IPC_LOCK: nothing is charged).
fits_memlock() {
    [ "$(id -u)" -eq 0 ] && return 0
    local l
    l=$(ulimit -l)
    [ "$l" = unlimited ] && return 0
    [ $(($1 * $2 + 1048576)) -le $((l * 1024)) ]
}

# copied_or_memlock Q B SRC DST: after run_stage, the copy is exact; or, for
# fixed-cp where Q buffers of B bytes pass the memory-lock limit (an
# ordinary user's is 8 MiB), it failed saying so.
copied_or_memlock() {
    if [ "$PROG" = fixed-cp ] && ! fits_memlock "$1" "$2" && [ "$status" -ne 0 ]; then
        [ "$status" -eq 1 ]
        [[ "$stderr" == *"RLIMIT_MEMLOCK"* ]]
        return 0
    fi
    [ "$status" -eq 0 ]
    cmp "$3" "$4"
}

cpf_any_depth_and_bytes() {
    # -b 1 is two requests a byte: 4099 bytes keep it short on the slowest
    # machine (an emulated or busy one), and still end in a short block.
    head -c 4099 /dev/urandom > small
    head -c 3000017 /dev/urandom > big
    for q in 1 2 3 64; do
        for b in 1 7 4096; do
            run_stage "$PROG" -q "$q" -b "$b" small out
            copied_or_memlock "$q" "$b" small out
        done
        for b in 65537 1048576 4000000; do
            run_stage "$PROG" -q "$q" -b "$b" big out
            copied_or_memlock "$q" "$b" big out
        done
    done
}

# Stages 04, 05, 07, 08: "a sparse source is copied byte for byte"
cpf_sparse_source() {
    truncate -s 200M sparse
    printf 'start' | dd of=sparse conv=notrunc status=none
    printf 'middle' | dd of=sparse bs=1 seek=$((100 * 1024 * 1024 + 3)) conv=notrunc status=none
    printf 'end' >> sparse
    run_stage "$PROG" sparse copy
    [ "$status" -eq 0 ]
    cmp sparse copy
}

# Stages 04, 05, 07, 08: "/proc sources, whose st_size is 0, are copied whole"
cpf_proc_sources() {
    run_stage "$PROG" /proc/version v
    [ "$status" -eq 0 ]
    [ -s v ]
    cmp /proc/version v
    [ -r /proc/kallsyms ] || skip "/proc/kallsyms is not readable here"
    run_stage "$PROG" -q 4 -b 4096 /proc/kallsyms k
    [ "$status" -eq 0 ]
    cmp /proc/kallsyms k
}

# Stages 04, 05, 07, 08: "a pipe as SRC (/dev/stdin) is copied whole"
cpf_pipe_as_src() {
    head -c 2000000 /dev/urandom > data
    run_sh "cat data | $(CP) -q 4 -b 3000 /dev/stdin out"
    [ "$status" -eq 0 ]
    cmp data out
}

# Stages 04, 05, 07, 08: "a new DST gets SRC's permission bits less the umask"
cpf_new_dst_mode() {
    printf 'x\n' > src
    chmod 755 src
    run_sh "umask 027; $(CP) src new"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a new)" = 750 ]
    chmod 640 src
    run_sh "umask 0; $(CP) src new2"
    [ "$(stat -c %a new2)" = 640 ]
}

# Stages 04, 05, 07, 08: "an existing DST is truncated and keeps its own mode"
cpf_existing_dst_truncated() {
    head -c 100000 /dev/urandom > long
    printf 'short\n' > src
    cp long dst
    chmod 604 dst
    run_stage "$PROG" src dst
    [ "$status" -eq 0 ]
    cmp src dst
    [ "$(stat -c %a dst)" = 604 ]
}

# Stages 04, 05, 07, 08: "DST /dev/null works and is left as it was (never chmod)"
cpf_dst_dev_null() {
    head -c 1000000 /dev/urandom > src
    chmod 600 src
    before=$(stat -c '%a %F' /dev/null)
    run_stage "$PROG" src /dev/null
    [ "$status" -eq 0 ]
    [ "$(stat -c '%a %F' /dev/null)" = "$before" ]
}

# Stages 04, 05, 07, 08: "DST /dev/full fails with a clear message, exit 1"
cpf_dst_dev_full() {
    printf 'x\n' > src
    run_stage "$PROG" src /dev/full
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: write /dev/full: No space left on device" ]
}

# Stages 04, 05, 07, 08: "DST a FIFO with a reader gets the bytes in order"
cpf_dst_fifo_with_reader() {
    head -c 1000000 /dev/urandom > src
    mkfifo fifo
    # The copy does not wait for a reader (without one it fails, next
    # test), so the shell holds the FIFO open for reading and writing
    # (O_RDWR never blocks on a FIFO) while cat reads it: cat's open does
    # not wait, and the copy finds a reader.  cat sees the end once both
    # the copy and the shell have closed it (so cat must not inherit it).
    # No race with cat's open, and nothing to poll: waiting for the
    # reader in /proc/PID/wchan failed on 5.10, where it reads "0".
    run_sh "exec 7<> fifo; cat fifo > out 7>&- & pid=\$!
        $(CP) -q 8 -b 4096 src fifo; rc=\$?; exec 7>&-; wait \$pid; exit \$rc"
    [ "$status" -eq 0 ]
    cmp src out
}

# Stages 04, 05, 07, 08: "DST a FIFO that nobody reads fails at once with a clear message, never hangs"
cpf_dst_fifo_no_reader() {
    printf 'x\n' > src
    mkfifo fifo
    SECONDS=0
    run_stage "$PROG" src fifo
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: open fifo (a FIFO that nobody reads): No such device or address" ]
    [ "$SECONDS" -lt 5 ]
}

# Stages 04, 05, 07, 08: "DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1"
cpf_dst_unix_socket() {
    command -v python3 >/dev/null || skip "python3 is not installed"
    printf 'x\n' > src
    python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
    run_stage "$PROG" src sock
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: open sock (a socket: open(2) cannot open one): No such device or address" ]
}

# Stages 04, 05, 07, 08: "DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it"
# cpf_dst_dangling_symlink [coreutils]: with coreutils (04 and 05), also
# check that cp(1) says the same.
cpf_dst_dangling_symlink() {
    printf 'x\n' > src
    mkdir d
    ln -s target link
    ln -s d/target link2
    for dst in link link2; do
        run_stage "$PROG" src "$dst"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "$PROG: not writing through dangling symlink $dst" ]
        [ ! -e target ] && [ ! -e d/target ]
        [ -L "$dst" ]
    done
    [ "${1:-}" = coreutils ] || return 0
    # coreutils says the same, with quotes
    run -1 cp src link
    [ "$output" = "cp: not writing through dangling symlink 'link'" ]
}

# Stages 04, 05, 07, 08: "DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode"
cpf_dst_symlink_followed() {
    head -c 300000 /dev/urandom > src
    head -c 900000 /dev/urandom > target
    chmod 604 target
    ln -s target link
    run_stage "$PROG" src link
    [ "$status" -eq 0 ]
    [ -L link ]
    cmp src target
    [ "$(stat -c %a target)" = 604 ]
}

# Stages 04, 05, 07, 08: "DST a pipe with a slow reader gets every byte (short writes are finished)"
cpf_dst_pipe_slow_reader() {
    head -c 4194304 /dev/urandom > src
    run_sh "$(CP) src /dev/stdout | { sleep 0.2; cat; } | cmp - src"
    [ "$status" -eq 0 ]
}

# Stages 04, 05, 07, 08: "DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1"
cpf_dst_pipe_reader_gone() {
    truncate -s 1G src
    SECONDS=0
    run_sh "$(CP) src /dev/stdout | head -c1 > /dev/null; echo \"\${PIPESTATUS[0]}\""
    [ "$SECONDS" -lt 5 ]
    # A write that io_uring hands to a worker thread (a pipe opened by
    # name) gets -EPIPE; one it does inline raises SIGPIPE, as write(2).
    if [ "$output" != 141 ]; then
        [ "$output" = 1 ]
        [ "$stderr" = "$PROG: write /dev/stdout: Broken pipe" ]
    fi
}

# Stages 04, 05, 07, 08: "DST a directory receives DST/basename(SRC)"
cpf_dst_directory() {
    mkdir -p in/sub dir
    head -c 5000 /dev/urandom > in/sub/file
    run_stage "$PROG" in/sub/file dir
    [ "$status" -eq 0 ]
    cmp in/sub/file dir/file
    run_stage "$PROG" in/sub/file dir/
    [ "$status" -eq 0 ]
    cmp in/sub/file dir/file
}

# Stages 04, 05, 07, 08: "SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched"
cpf_src_dst_same_file() {
    head -c 5000 /dev/urandom > f
    cp f orig
    ln f hard
    ln -s f soft
    mkdir d
    ln f d/f
    touch -d '2001-01-01 00:00' f
    for dst in f hard soft d; do
        run_stage "$PROG" f "$dst"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "$PROG: f and "*" are the same file" ]]
        cmp f orig
        [ "$(stat -c %Y f)" = "$(date -d '2001-01-01 00:00' +%s)" ]
    done
}

# Stages 04, 05, 07, 08: "a missing SRC is named on stderr, exit 1, and no DST is left behind"
cpf_missing_src() {
    run_stage "$PROG" nope dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: open nope: No such file or directory" ]
    [ -z "$output" ]
    [ ! -e dst ]
}

# Stages 04, 05, 07, 08: "SRC a directory is refused, exit 1, no DST left behind"
cpf_src_directory() {
    mkdir srcdir
    run_stage "$PROG" srcdir dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: open srcdir: Is a directory" ]
    [ ! -e dst ]
}

# Stages 04, 05, 07, 08: "DST in a missing directory fails with a clear message, exit 1, nothing created"
cpf_dst_in_missing_directory() {
    printf 'x\n' > src
    run_stage "$PROG" src missing/dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: open missing/dst: No such file or directory" ]
    [ ! -e missing ]
}

# Stages 04, 05, 07, 08: "bad options and operands are usage errors, exit 2, and create nothing"
cpf_usage_errors() {
    printf 'x\n' > src
    for args in "-q 0 src dst" "-q x src dst" "-q 4097 src dst" "-q -1 src dst" \
                "-b 0 src dst" "-b x src dst" "-b 1x src dst" "-q 4096 -b 1048576 src dst" \
                "" "src" "src dst extra" "-z src dst" "--zz src dst" "src dst -q"; do
        run_stage "$PROG" $args
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"$USAGE" ]]
        [ ! -e dst ]
    done
}

# Stages 04, 05, 07, 08: "-h and --help print the usage on stdout and exit 0"
cpf_help() {
    for h in -h --help; do
        run_stage "$PROG" "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "$USAGE" ]
    done
}

# Stages 04, 05: "-v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight"
cpf_verbose_log() {
    head -c 1000000 /dev/urandom > src
    run_sh "$(CP) -v -q 3 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    cmp src dst
    check_log log 3
    grep -q 'submit   #0 read  block 0 offset 0 length 10000$' log
    grep -Eq 'complete #[0-9]+ write block [0-9]+ res 10000' log
}

# Stages 07, 08: "-v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight"
cpf_verbose_log_chained() {
    head -c 1000000 /dev/urandom > src
    run_sh "$(CP) -v -q 3 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    cmp src dst
    check_log log 3
    grep -q 'submit   #0 read  block 0 offset 0 length 10000, linked' log
    grep -q 'submit   #1 write block 0 offset 0 length 10000, after #0$' log
    grep -Eq 'complete #[0-9]+ write block [0-9]+ res 10000' log
}

# Stages 04, 05: "a short read is resubmitted for the rest, at the offset right after it"
cpf_short_read_resubmitted() {
    head -c 10003 /dev/urandom > src
    run_sh "$(CP) -v -q 1 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    # The second block gets 3 bytes of 10000; the rest is asked for at 10003.
    grep -q 'submit   #2 read  block 0 offset 10000 length 10000$' log
    grep -q 'complete #2 read  block 0 res 3$' log
    grep -q 'submit   #3 read  block 0 offset 10003 length 9997$' log
    grep -q 'complete #3 read  block 0 res 0$' log
    grep -q 'submit   #4 write block 0 offset 10000 length 3$' log
}

# Stages 07, 08: "CP_DELAY_FIRST holds the first read back: the copy is exact and block 0 completes last"
cpf_delay_first_chained() {
    head -c 1048576 /dev/urandom > src
    run_sh "CP_DELAY_FIRST=1000 $(CP) -v -q 4 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    check_log log 5
    grep -q 'submit   #0 timeout 1000 ms, hard-linked to #1$' log
    grep -q 'submit   #1 read  block 0 offset 0 length 65536, linked' log
    grep -q 'complete #0 timeout res -62 (Timer expired)$' log
    # A machine so slow (or busy) that the other 15 blocks took more than
    # the second proves nothing either way.
    timeout_at=$(grep -n 'complete #0 timeout' log | cut -d: -f1)
    others_at=$(grep -nE 'complete #[0-9]+ write block [0-9]+ res [1-9]' log | sed -n 15p | cut -d: -f1)
    [ -n "$others_at" ] && [ "$others_at" -lt "$timeout_at" ] ||
        skip "the machine was too slow: the others were not copied within the delay"
    # The write of offset 0, linked behind the read behind the timeout, is
    # the last write to complete.
    w=$(sed -n 's/.*submit   #\([0-9]*\) write block [0-9]* offset 0 length .*/\1/p' log)
    [ -n "$w" ]
    grep -E 'complete #[0-9]+ write' log | tail -n 1 | grep -q "complete #$w write"
    n=$(tail -n 2 log | sed -n 's/.* \([0-9]*\) out of submission order$/\1/p')
    [ "$n" -ge 10 ]
}

# A read error in the middle of SRC, where the blocks after the bad
# stretch read fine (faultfs --eio-at OFF:LEN, root only): they were read
# ahead, and some written, before the error came.
# Stages 04, 05: "a read error in the middle of SRC (faultfs --eio-at) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1"
# Stages 07, 08: the same with "(faultfs --eio-at OFF:LEN)", and -t 20000 too.
# cpf_eio_in_middle [OPTIONS]...: each OPTIONS word ("-t 20000") is one
# more set of options to copy with.
cpf_eio_in_middle() {
    head -c 4194304 /dev/urandom > src
    faultfs_mount mnt --source src --eio-at 300000:4096
    run -1 cp mnt/data theirs
    [ "$(stat -c %s theirs)" -eq 300000 ]
    for args in "" "-q 1 -b 4096" "-q 16 -b 4096" "-q 4 -b 1000000" "$@"; do
        run_stage "$PROG" $args mnt/data dst
        echo "$args: $status $(stat -c %s dst)"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "$PROG: read mnt/data: Input/output error" ]
        cmp theirs dst
    done
    # The same at once while block 0 waits behind a minute's delay: the
    # error removes the timeout, and block 0 is still read and written (in
    # 07 and 08, its chain still runs).
    CP_DELAY_FIRST=60000 run_stage "$PROG" -q 4 -b 65536 mnt/data dst
    [ "$status" -eq 1 ]
    cmp theirs dst
}

# Stages 04, 05, 07, 08 (07 and 08 add "-t 20000"): "SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0"
# cpf_eof_before_st_size [OPTIONS]...: each OPTIONS word ("-t 20000")
# is one more set of options to copy with.
cpf_eof_before_st_size() {
    head -c 4194304 /dev/urandom > src
    faultfs_mount mnt --source src --eof-at 1000000
    for args in "" "-q 1 -b 4096" "-q 16 -b 4096" "-q 4 -b 1000000" "$@"; do
        run_stage "$PROG" $args mnt/data dst
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        cmp <(head -c 1000000 src) dst
    done
}

# Stages 04, 05: "a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC"
cpf_efbig_while_block_0_waits() {
    head -c 1048576 /dev/urandom > src
    # ulimit -f 100: a write past 100 KiB fails with EFBIG (SIGXFSZ, which
    # would kill the copy first, is ignored).  Blocks 1 to 3 are written meanwhile.
    SECONDS=0
    run_sh "trap '' XFSZ; ulimit -f 100; CP_DELAY_FIRST=60000 $(CP) -q 4 -b 65536 src dst"
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: write dst: File too large" ]
    [ "$SECONDS" -lt 20 ]
    # Block 0 was never written: DST was cut back to before it, no hole.
    [ "$(stat -c %s dst)" -eq 0 ]
}

# Stages 07, 08: "a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC"
cpf_efbig_while_block_0_waits_chained() {
    head -c 1048576 /dev/urandom > src
    # ulimit -f 100: a write past 100 KiB fails with EFBIG (SIGXFSZ, which
    # would kill the copy first, is ignored).  Blocks 1 to 3 are written
    # meanwhile.
    SECONDS=0
    run_sh "trap '' XFSZ; ulimit -f 100; CP_DELAY_FIRST=60000 $(CP) -q 4 -b 65536 src dst"
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: write dst: File too large" ]
    [ "$SECONDS" -lt 20 ]
    # Once the delay is removed, block 0's chain runs: its write, linked to
    # its read, lands too (04-cp never queues it).  Either way DST is a
    # plain prefix of SRC: all that fits under the limit, or less (on a
    # busy machine block 2's write can fail before block 1's read is
    # back, and block 1 is then never written: 64 KiB), or nothing.
    size=$(stat -c %s dst)
    echo "DST is $size bytes"
    [ "$size" -le 102400 ]
    cmp -n "$size" src dst
}

# Stages 04, 05, 07, 08: "CP_DELAY_FIRST that is not a number of milliseconds is a usage error"
cpf_delay_first_not_a_number() {
    printf 'x\n' > src
    CP_DELAY_FIRST=soon run_stage "$PROG" src dst
    [ "$status" -eq 2 ]
    [ ! -e dst ]
}

# Stages 04, 07, 08: "reads and writes go through the ring, several per io_uring_enter"
cpf_through_the_ring() {
    head -c $((16 * BYTES)) /dev/urandom > data
    run_traced "strace -f -qq -y -e trace=io_uring_enter,read,write,pread64,pwrite64,readv,writev,copy_file_range,sendfile,splice -o trace $(CP) data out"
    [ "$status" -eq 0 ]
    cmp data out
    ! grep -E '(read|pread64|readv|write|pwrite64|writev)\([0-9]+<[^>]*/(data|out)>' trace
    ! grep -E '(copy_file_range|sendfile|splice)\(' trace
    # 16 blocks: 32 reads and writes (and an EOF read) in far fewer calls,
    # some with several SQEs.
    calls=$(grep -c 'io_uring_enter(' trace)
    # about 20 calls on a quiet machine.  Each call reaps at least one
    # completion, so never more calls than the 33 requests, even on a busy
    # machine where writes finishing on worker threads add waits.
    [ "$calls" -le 33 ]
    grep -Eq "io_uring_enter\([0-9]+<[^>]*>, ([2-9]|[1-9][0-9]+), " trace
}

# Stages 04, 05, 07, 08: "memory does not grow with the file: max RSS under 16 MiB for 256 MiB"
cpf_memory_bounded() {
    truncate -s 256M big
    run_sh "$(printf %q "$MAXRSS") rss $(CP) big copy"
    [ "$status" -eq 0 ]
    echo "max RSS: $(cat rss) KiB"
    [ "$(cat rss)" -lt 16384 ]
    cmp big copy
}

# Stages 04, 05, 07, 08: "SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)"
cpf_sigstop_sigcont() {
    run_sh "
        ( for i in \$(seq 40); do echo \$i; sleep 0.02; done ) | $(CP) -q 4 -b 7 /dev/stdin out &
        pid=\$!
        for i in 1 2 3 4 5; do
            sleep 0.1
            kill -STOP \$pid && kill -CONT \$pid
        done
        wait \$pid"
    [ "$status" -eq 0 ]
    seq 40 | cmp - out
}

# Stages 04, 05, 07, 08: "a tracer attaching and leaving mid-copy does not break the copy"
cpf_tracer_attach_detach() {
    run_traced "
        ( for i in \$(seq 40); do echo \$i; sleep 0.02; done ) | $(CP) -q 4 -b 7 /dev/stdin out &
        pid=\$!
        sleep 0.2
        timeout 0.3 strace -qq -p \$pid -o /dev/null
        wait \$pid"
    [ "$status" -eq 0 ]
    seq 40 | cmp - out
}

# Stages 04, 05, 07, 08: "where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST"
cpf_forbidden_eperm() {
    printf 'x\n' > src
    assert_forbidden EPERM "$PROG" src dst
    [ ! -e dst ]
}

# Stages 04, 05, 07, 08: "on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST"
cpf_forbidden_enosys() {
    printf 'x\n' > src
    assert_forbidden ENOSYS "$PROG" src dst
    [ ! -e dst ]
}

# Stages 07, 08: "-v says whether the kernel skips a chained read's CQE (IORING_FEAT_CQE_SKIP), and it is so"
cpf_verbose_says_cqe_skip() {
    head -c 100000 /dev/urandom > src
    run_sh "$(CP) -v -q 2 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    head -n 1 log | grep -Eq "^$PROG: IOSQE_CQE_SKIP_SUCCESS: (yes \(IORING_FEAT_CQE_SKIP\)|no \(Linux 5.17 has it\))"
    if grep -q 'IOSQE_CQE_SKIP_SUCCESS: yes' log; then
        # no read of a chain completes: every one is accounted "no CQE"
        [ "$(grep -c 'no CQE   #[0-9]* read  block [0-9]*: it succeeded' log)" -eq 10 ]
        ! grep -E 'complete #[0-9]+ read  block [0-9]+ res 10000' log
    else
        [ "$(grep -cE 'complete #[0-9]+ read  block [0-9]+ res 10000' log)" -eq 10 ]
    fi
}

# Stages 07, 08: "each block is one chain (read linked to write, in one submission), and with CQE skipping one CQE per block"
cpf_one_chain_per_block() {
    head -c $((64 * 65536)) /dev/urandom > src
    run_sh "$(CP) -v -q 8 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    check_log log 8
    read -r cqes chains broken < <(summary log)
    [ "$chains" -eq 64 ]
    [ "$broken" -eq 0 ]
    # 64 writes, and the read at the end of the file that returns 0
    if grep -q 'IOSQE_CQE_SKIP_SUCCESS: yes' log; then
        [ "$cqes" -eq 65 ]
    else
        [ "$cqes" -eq 129 ]
    fi
    # every write was submitted together with (right after) its read
    grep -E 'submit   #[0-9]+ (read|write)' log | awk '
        /read .*, linked/ { r = $0; sub(/.*#/, "", r); sub(/ .*/, "", r); next }
        /write/ { w = $0; sub(/.*after #/, "", w); if (w != r) exit 1 }'
}

# Stages 07, 08: "the read and write of a chain enter the kernel in the same io_uring_enter (strace)"
cpf_chain_in_one_enter() {
    head -c $((16 * 65536)) /dev/urandom > src
    run_traced "strace -f -qq -e trace=io_uring_enter -o trace $(CP) -q 1 -b 65536 src dst"
    [ "$status" -eq 0 ]
    cmp src dst
    # -q 1: one chain at a time, two SQEs per call: 16 chains then the EOF
    # read, each submitted with what it waits for
    [ "$(grep -cE 'io_uring_enter\([0-9]+, 2, 1, ' trace)" -eq 16 ]
}

# Stages 07, 08: "a file's last block is chained with its exact length, so the end of the file breaks no chain"
cpf_last_block_exact_length() {
    for n in 1 4095 $((3 * 4096 + 5)); do
        head -c "$n" /dev/urandom > src
        run_sh "$(CP) -v -q 2 -b 4096 src dst 2> log"
        [ "$status" -eq 0 ]
        cmp src dst
        read -r cqes chains broken < <(summary log)
        [ "$broken" -eq 0 ]
        grep -q "read  block [0-9]* offset $((n / 4096 * 4096)) length $((n % 4096)), linked" log
        check_log log 2
    done
}

# Stages 07, 08: "a short read (a sysfs file whose st_size lies) breaks the chain: the write is cancelled, the rest is read, the bytes are written once"
cpf_short_read_breaks_chain() {
    f=$(short_sysfs)
    run_sh "$(CP) -v -q 2 -b 4096 $f dst 2> log"
    [ "$status" -eq 0 ]
    cmp "$f" dst
    check_log log 2
    n=$(wc -c < "$f")
    grep -q "complete #0 read  block 0 res $n: the chain is broken$" log
    if grep -q 'IOSQE_CQE_SKIP_SUCCESS: yes' log; then
        grep -q 'no CQE   #1 write block 0: cancelled with its read, CQE skipped$' log
    else
        grep -q 'complete #1 write block 0 res -125$' log
    fi
    grep -q "submit   #2 read  block 0 offset $n length $((4096 - n))$" log
    grep -q "submit   #3 write block 0 offset 0 length $n$" log
    [ "$(summary log)" = "$(grep -c ' complete ' log) 1 1" ]
}

# Stages 07, 08: "a read that fails breaks the chain: its write never runs, 'read SRC: Input/output error', exit 1, DST empty"
cpf_read_that_fails_breaks_chain() {
    f=$(eio_sysfs)
    run_sh "$(CP) -v $f dst 2> log"
    [ "$status" -eq 1 ]
    tail -n 1 log | grep -qx "$PROG: read $f: Input/output error"
    [ -f dst ] && [ ! -s dst ]
    grep -q 'complete #0 read  block 0 res -5: the chain is broken$' log
    head -n -1 log > log2
    check_log log2 1
}

# Stages 07, 08: "a write that fails (EFBIG past ulimit -f) ends the copy, exit 1, and DST holds exactly SRC's first bytes, no hole"
cpf_efbig_ends_copy() {
    head -c 1000000 /dev/urandom > src
    run_sh "trap '' XFSZ; ulimit -f 100; $(CP) -q 4 -b 30000 src dst"
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: write dst: File too large" ]
    # (how much of it: what the blocks before the failure had written;
    # one of theirs still queued is cancelled, and DST ends before it)
    size=$(stat -c %s dst)
    [ "$size" -le 102400 ]
    cmp -n "$size" src dst
}

# Stages 07, 08: "LINK_CP_NO_SKIP=1 (as on a kernel before 5.17) posts a CQE for every read too, and copies the same"
cpf_no_skip_env() {
    head -c 100000 /dev/urandom > src
    run_sh "LINK_CP_NO_SKIP=1 $(CP) -v -q 2 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    grep -q 'IOSQE_CQE_SKIP_SUCCESS: no' log
    check_log log 2
    [ "$(summary log)" = "21 10 0" ]
    f=$(short_sysfs)
    run_sh "LINK_CP_NO_SKIP=1 $(CP) -v -q 2 -b 4096 $f dst 2> log"
    [ "$status" -eq 0 ]
    cmp "$f" dst
    grep -q 'complete #1 write block 0 res -125$' log
    check_log log 2
}

# Stages 07, 08: "-t with time to spare changes nothing but the CQEs: every deadline is cancelled (-ECANCELED)"
cpf_deadline_to_spare() {
    head -c $((20 * 65536 + 17)) /dev/urandom > src
    run_sh "$(CP) -v -t 20000 -q 4 -b 65536 src dst 2> log"
    [ "$status" -eq 0 ]
    cmp src dst
    check_log log 4
    d=$(grep -c 'submit   #[0-9]* deadline 20000 ms on #' log)
    [ "$d" -ge 43 ]
    [ "$(grep -cE 'complete #[0-9]+ deadline block [0-9]+ res -125' log)" -eq "$d" ]
    # a chain: read, its deadline, write, its deadline
    grep -q 'submit   #1 deadline 20000 ms on #0$' log
    grep -q 'submit   #2 write block 0 offset 0 length 65536, after #0$' log
    grep -q 'submit   #3 deadline 20000 ms on #2$' log
}

# Stages 07, 08: "-t fires when SRC (a FIFO) stalls: 'read SRC: Timer expired', exit 1, what came before is copied, nothing left in flight"
cpf_deadline_src_stalls() {
    mkfifo fifo
    run_sh "{ printf abc; sleep 20; } > fifo & w=\$!
        $(CP) -v -t 300 fifo dst 2> log; rc=\$?; kill \$w; echo \$rc"
    [ "$output" = 1 ]
    tail -n 1 log | grep -qx "$PROG: read fifo: Timer expired"
    printf abc | cmp - dst
    grep -qE 'complete #[0-9]+ deadline block [0-9]+ res -62$' log
    grep -qE 'complete #[0-9]+ read  block [0-9]+ res -125$' log
    head -n -1 log > log2
    check_log log2 8
}

# Stages 07, 08: "-t fires when DST (a FIFO) stops being read: 'write DST: Timer expired', exit 1, never a hang"
cpf_deadline_dst_stalls() {
    head -c 1000000 /dev/urandom > src
    mkfifo fifo
    SECONDS=0
    # The reader that never reads: the shell itself, holding the FIFO
    # open (O_RDWR never blocks on a FIFO).  64 KiB fit in the pipe, and
    # then every write waits.
    run_sh "exec 7<> fifo; $(CP) -t 300 src fifo"
    [ "$status" -eq 1 ]
    [ "$stderr" = "$PROG: write fifo: Timer expired" ]
    [ "$SECONDS" -lt 15 ]
}

# Stages 07, 08: "-t that is not a number of milliseconds from 1 to 3600000 is a usage error"
cpf_deadline_usage() {
    printf 'x\n' > src
    for t in 0 x -5 3600001 1.5; do
        run_stage "$PROG" -t "$t" src dst
        [ "$status" -eq 2 ]
        [[ "$stderr" == *"$USAGE" ]]
        [ ! -e dst ]
    done
}

# Stages 07, 08: "SRC that ends before its st_size (faultfs --eof-at): the chains past the end break, DST is exactly the bytes SRC had"
cpf_eof_at_chains_break() {
    head -c 1000000 /dev/urandom > src
    faultfs_mount mnt --source src --eof-at 300000
    [ "$(stat -c %s mnt/data)" -eq 1000000 ]
    run_sh "$(CP) -v -q 4 -b 65536 mnt/data dst 2> log"
    [ "$status" -eq 0 ]
    [ "$(stat -c %s dst)" -eq 300000 ]
    cmp -n 300000 src dst
    check_log log 4
    # block 4 reads 37856 of 65536 bytes (the blocks after it, if they
    # were started before that was known, read nothing: broken too)
    grep -Eq 'complete #[0-9]+ read  block [0-9] res 37856: the chain is broken' log
    read -r cqes chains broken < <(summary log)
    [ "$broken" -ge 1 ]
}

# Stages 07, 08: "a read that fails mid-file (faultfs --eio-at) breaks its chain; DST holds exactly the bytes before it, as cp(1) leaves it, exit 1"
cpf_eio_mid_file_breaks_chain() {
    head -c 1000000 /dev/urandom > src
    faultfs_mount mnt --source src --eio-at 300000
    run_sh "$(CP) -v -q 4 -b 65536 mnt/data dst 2> log"
    [ "$status" -eq 1 ]
    tail -n 1 log | grep -qx "$PROG: read mnt/data: Input/output error"
    [ "$(stat -c %s dst)" -eq 300000 ]
    cmp -n 300000 src dst
    grep -Eq 'complete #[0-9]+ read  block [0-9] res 37856: the chain is broken' log
    head -n -1 log > log2
    check_log log2 4
}
