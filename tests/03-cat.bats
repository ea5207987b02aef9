# tests/03-cat.bats - cat(1) through the ring, batched
# bats file_tags=stage:03
bats_require_minimum_version 1.8.0
load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

CAT() { printf '%q' "$STAGE_DIR/cat"; }

# The blocks cat reads in, from the source (03-cat/cat.c).
BLOCK=$(($(sed -n 's/^#define BLOCK_BYTES //p' "$SRC_DIR/cat.c")))
NBLOCKS=$(sed -n 's/^#define NBLOCKS //p' "$SRC_DIR/cat.c")

# same_as_coreutils ARG...: our cat and coreutils' cat print the same
# bytes on stdout, the same stderr and exit with the same status.
same_as_coreutils() {
    run_stage cat "$@"
    local ours_status=$status
    printf '%s' "$output" > ours.out
    printf '%s' "$stderr" > ours.err
    run --separate-stderr cat "$@"
    printf '%s' "$output" > theirs.out
    printf '%s' "$stderr" > theirs.err
    cmp ours.out theirs.out
    cmp ours.err theirs.err
    [ "$ours_status" -eq "$status" ]
}

@test "cat: files of 0, 1, BLOCK-1, BLOCK, BLOCK+1, NBLOCKS blocks and NBLOCKS blocks + 1 byte come out byte for byte" {
    for n in 0 1 $((BLOCK - 1)) $BLOCK $((BLOCK + 1)) $((NBLOCKS * BLOCK)) $((NBLOCKS * BLOCK + 1)); do
        head -c "$n" /dev/urandom > "f$n"
        run_sh "$(CAT) f$n > out"
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        cmp "f$n" out
    done
}

@test "cat: a 20 MiB file comes out byte for byte, through a pipe too" {
    head -c 20971520 /dev/urandom > big
    run_sh "$(CAT) big | cmp - big"
    [ "$status" -eq 0 ]
}

@test "cat: several files come out one after the other, like cat(1)" {
    head -c 300000 /dev/urandom > a
    printf 'tiny' > b
    : > empty
    head -c $((3 * BLOCK)) /dev/urandom > c
    run_sh "$(CAT) a b empty c a > out"
    [ "$status" -eq 0 ]
    cat a b empty c a | cmp - out
}

@test "cat: with no FILE it copies stdin, from a pipe and from a file" {
    head -c 1000000 /dev/urandom > data
    run_sh "cat data | $(CAT) | cmp - data"
    [ "$status" -eq 0 ]
    run_sh "$(CAT) < data | cmp - data"
    [ "$status" -eq 0 ]
}

@test "cat: - is stdin, and may come between and around files" {
    printf 'one\n' > one
    run_sh "printf 'in\n' | $(CAT) - one - one"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf 'in\none\none')" ]
}

@test "cat: reading stdin starts where the shell left it and leaves it at the end, as cat(1) does" {
    seq 100000 > lines
    run_sh "{ read -r first; $(CAT); } < lines > ours; { read -r first; cat; } < lines > theirs; cmp ours theirs"
    [ "$status" -eq 0 ]
    run_sh "{ $(CAT) > /dev/null; cat; } < lines"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "cat: a slow writer's bytes come out in order (only one read in flight on a pipe)" {
    run_sh "( for c in a b c d e f g h; do printf \$c; sleep 0.01; done ) | $(CAT) | ( sleep 0.3; cat )"
    [ "$status" -eq 0 ]
    [ "$output" = abcdefgh ]
}

@test "cat: output into a slow pipe is complete and in order (short writes are finished)" {
    head -c 4194304 /dev/urandom > big
    run_sh "$(CAT) big | { sleep 0.2; cat; } | cmp - big"
    [ "$status" -eq 0 ]
}

@test "cat: output into a pipe that reads 1000 bytes at a time is complete" {
    head -c 1000000 /dev/urandom > data
    run_sh "$(CAT) data | dd bs=1000 status=none | cmp - data"
    [ "$status" -eq 0 ]
}

@test "cat: big | head -c1 ends at once, killed by SIGPIPE like cat(1)" {
    truncate -s 1G big
    SECONDS=0
    run_sh "$(CAT) big | head -c1 > /dev/null; echo \"\${PIPESTATUS[0]}\""
    [ "$status" -eq 0 ]
    [ "$output" = 141 ]
    [ "$SECONDS" -lt 5 ]
}

@test "cat: killed by SIGPIPE too where the write runs in a worker thread that the signal never reaches (CAT_ASYNC; kernels before 6.4)" {
    # The kernel sends SIGPIPE to the thread that ran the write: here an
    # io-wq worker, which ignores it, and the CQE says -EPIPE.  cat(1)
    # would have died of it, so cat raises it itself.
    truncate -s 1G big
    run_sh "CAT_ASYNC=1 $(CAT) big | head -c1 > /dev/null; echo \"\${PIPESTATUS[0]}\""
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "$output" = 141 ]
}

@test "cat: with SIGPIPE ignored it reports the broken pipe and exits 1" {
    truncate -s 1G big
    for async in "" CAT_ASYNC=1; do
        run_sh "trap '' PIPE; $async $(CAT) big | head -c1 > /dev/null; echo \"\${PIPESTATUS[0]}\""
        [ "$status" -eq 0 ]
        [ "$output" = 1 ]
        [ "$stderr" = "cat: write error: Broken pipe" ]
    done
}

@test "cat: with SIGPIPE ignored and stdin waiting, a broken pipe still ends it" {
    # The reader is gone before x arrives; the writer then keeps the pipe
    # open for 20 s.  The read in flight is cancelled: cat is done long before.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CAT) 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\ncat: write error: Broken pipe')" ]
}

# nonblock FD CMD...: run CMD with O_NONBLOCK set on its fd FD (the open
# file, shared with whoever else holds it), as a parent may leave it.
nonblock() {
    local fd=$1
    shift
    python3 -c 'import fcntl, os, sys
fd = int(sys.argv[1])
fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
os.execvp(sys.argv[2], sys.argv[2:])' "$fd" "$@"
}

@test "cat: a read that would wait (-EAGAIN: CAT_NOWAIT, or an O_NONBLOCK stdin on 5.6-5.14) waits on a POLL_ADD, it does not spin" {
    # A slow writer: five bytes, 0.2 s apart.  Each -EAGAIN costs a poll
    # and a read again, a few calls per byte; resubmitting the read at
    # once would make tens of thousands of calls in that second.
    # First an O_NONBLOCK stdin as it is: whatever this kernel makes of it.
    export -f nonblock
    run_traced "( for c in a b c d e; do printf \$c; sleep 0.2; done ) |
        strace -qq -o trace -e trace=io_uring_enter bash -c 'nonblock 0 $(CAT)' > out"
    [ "$status" -eq 0 ]
    [ "$(cat out)" = abcde ]
    [ "$(grep -c 'io_uring_enter(' trace)" -le 100 ]
    # Then every read made to say -EAGAIN (RWF_NOWAIT), as 5.6-5.14 did.
    run_traced "( for c in a b c d e; do printf \$c; sleep 0.2; done ) |
        CAT_NOWAIT=1 strace -qq -o trace -e trace=io_uring_enter $(CAT) > out"
    if [[ "$stderr" == *"Operation not supported"* ]]; then
        # Pipes accept RWF_NOWAIT since Linux 6.4 (FMODE_NOWAIT on pipes);
        # some file systems (a tmpfs before 6.6) refuse it for out.
        skip "this kernel refuses RWF_NOWAIT here (a pipe before 6.4, or the file system of out), so CAT_NOWAIT cannot be tried: $stderr"
    fi
    [ "$status" -eq 0 ]
    [ "$(cat out)" = abcde ]
    calls=$(grep -c 'io_uring_enter(' trace)
    echo "io_uring_enter calls: $calls"
    [ "$calls" -le 100 ]
}

@test "cat: a write that would wait (-EAGAIN: CAT_NOWAIT, or an O_NONBLOCK stdout on 5.6-5.14) waits on a POLL_ADD, it does not spin" {
    # 1 MB into a pipe whose reader sleeps 0.5 s first: about 16 pipefuls,
    # a few calls each.
    head -c 1000000 /dev/urandom > data
    export -f nonblock
    run_traced "strace -qq -o trace -e trace=io_uring_enter bash -c 'nonblock 1 $(CAT) data' | { sleep 0.5; cat; } > out"
    [ "$status" -eq 0 ]
    cmp data out
    [ "$(grep -c 'io_uring_enter(' trace)" -le 300 ]
    run_traced "CAT_NOWAIT=1 strace -qq -o trace -e trace=io_uring_enter $(CAT) data | { sleep 0.5; cat; } > out"
    if [[ "$stderr" == *"Operation not supported"* ]]; then
        skip "this kernel refuses RWF_NOWAIT here (a pipe before 6.4), so CAT_NOWAIT cannot be tried: $stderr"
    fi
    [ "$status" -eq 0 ]
    cmp data out
    calls=$(grep -c 'io_uring_enter(' trace)
    echo "io_uring_enter calls: $calls"
    [ "$calls" -le 300 ]
}

@test "cat: a regular file that says -EAGAIN (CAT_NOWAIT, nothing cached) is read and written again from a worker thread (IOSQE_ASYNC)" {
    # Polling a regular file says "ready" at once: no use waiting on it.
    head -c 1000000 /dev/urandom > data
    # Out of the page cache, so a read that may not wait cannot be served.
    python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' data
    run_traced "CAT_NOWAIT=1 strace -qq -f -o trace -e trace=io_uring_enter $(CAT) data data > out"
    if [[ "$stderr" == *"Operation not supported"* ]]; then
        skip "this file system refuses RWF_NOWAIT writes: $stderr"
    fi
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    cat data data | cmp - out
    calls=$(grep -c 'io_uring_enter(' trace)
    echo "io_uring_enter calls: $calls"
    [ "$calls" -le 100 ]
}

@test "cat: /proc files, whose st_size is 0, come out whole" {
    same_as_coreutils /proc/version /proc/filesystems
    [ "$status" -eq 0 ]
    [ -s ours.out ]
    [ -r /proc/kallsyms ] || skip "/proc/kallsyms is not readable here"
    # several blocks' worth of a file that says it is empty
    run_sh "$(CAT) /proc/kallsyms | cmp - /proc/kallsyms"
    [ "$status" -eq 0 ]
}

@test "cat: character devices work: /dev/null is empty, /dev/zero feeds head" {
    run_stage cat /dev/null
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    run_sh "$(CAT) /dev/zero | head -c 3000000 | cmp - <(head -c 3000000 /dev/zero)"
    [ "$status" -eq 0 ]
}

@test "cat: a missing FILE among good ones is reported, the others printed, exit 1" {
    printf 'a\n' > a
    printf 'b\n' > b
    run_stage cat a nope b
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'a\nb')" ]
    [ "$stderr" = "cat: nope: No such file or directory" ]
    same_as_coreutils a nope b
}

@test "cat: more missing FILEs in a row than it has blocks are all reported, and the FILE after them is printed" {
    # Each error travels in a block of its own; freeing them needs no
    # system call, and the loop must not take "nothing in flight" for "done".
    printf 'a\n' > a
    run_stage cat n1 n2 n3 n4 n5 n6 n7 n8 n9 a
    [ "$status" -eq 1 ]
    [ "$output" = a ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 9 ]
    same_as_coreutils n1 n2 n3 n4 n5 n6 n7 n8 n9 a
}

@test "cat: a directory among files is reported as cat(1) reports it, exit 1" {
    printf 'a\n' > a
    mkdir dir
    run_stage cat a dir a
    [ "$status" -eq 1 ]
    [ "$stderr" = "cat: dir: Is a directory" ]
    same_as_coreutils a dir a
}

@test "cat: a read error (EIO from /proc/self/mem) is reported from the CQE, exit 1" {
    printf 'a\n' > a
    run_stage cat a /proc/self/mem a
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'a\na')" ]
    [ "$stderr" = "cat: /proc/self/mem: Input/output error" ]
}

# same_as_cat_on_faultfs OPTION...: a 1 MiB file served by faultfs with
# OPTIONs (tests/tools/faultfs.c), then a good file: our cat prints what
# cat(1) prints, stdout and stderr in one, and exits 1 if cat(1) does.
same_as_cat_on_faultfs() {
    head -c 1048576 /dev/urandom > src
    printf 'after\n' > after
    faultfs_mount ffs --source src "$@"
    run_sh "$(CAT) ffs/data after > ours 2>&1"
    local ours=$status
    run bash -c "cat ffs/data after > theirs 2>&1"
    echo "ours: $ours $(stat -c %s ours), theirs: $status $(stat -c %s theirs)"
    [ "$ours" -eq "$status" ]
    cmp ours theirs
}

@test "cat: an EIO in the middle of a file (faultfs, at 300000) ends that file there, as in cat(1): the blocks read ahead past it are not written" {
    # Bytes 300000-304095 are bad, and what follows is served: the block
    # read ahead at 393216 comes back whole, and must be dropped.
    same_as_cat_on_faultfs --eio-at 300000:4096
    msg='cat: ffs/data: Input/output error'
    grep -qa "$msg\$" ours
    [ "$(stat -c %s ours)" -eq $((300000 + ${#msg} + 1 + 6)) ]
    # and bad to the end, and bad from the first byte
    same_as_cat_on_faultfs --eio-at 300000
    same_as_cat_on_faultfs --eio-at 0:4096
}

@test "cat: a file that ends before its st_size (faultfs: stat says 1 MiB, the data ends at 300000) ends there, as in cat(1)" {
    same_as_cat_on_faultfs --eof-at 300000
    [ "$(stat -c %s ours)" -eq $((300000 + 6)) ]
    same_as_cat_on_faultfs --eof-at $((3 * BLOCK))
}

@test "cat: an unreadable FILE is reported, the others printed, exit 1" {
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    printf 'a\n' > a
    printf 'secret\n' > locked
    chmod 000 locked # unreadable to its owner too; root reads it anyway, hence nobody below
    chmod 755 .
    if [ "$(id -u)" -eq 0 ]; then
        chown 65534 a
        as_nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
    fi
    run_sh "${as_nobody:-} $(CAT) a locked a"
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'a\na')" ]
    [ "$stderr" = "cat: locked: Permission denied" ]
}

@test "cat: error messages come out in their place among the data, as with cat(1)" {
    printf 'first\n' > a
    printf 'last\n' > b
    run_sh "$(CAT) a nope b missing a 2>&1"
    [ "$status" -eq 1 ]
    [ "$output" = "$(cat a nope b missing a 2>&1)" ]
    # into a file that stdout and stderr share: written at explicit
    # offsets, the data must still leave room for the messages
    head -c 300000 /dev/urandom > big
    run_sh "$(CAT) big nope a big missing > ours 2>&1; cat big nope a big missing > theirs 2>&1"
    cmp ours theirs
}

@test "cat: appending a file to itself is refused, as cat(1) does, and the file is untouched" {
    printf 'abc\n' > self
    run_sh "$(CAT) self >> self"
    [ "$status" -eq 1 ]
    [ "$stderr" = "cat: self: input file is output file" ]
    [ "$(cat self)" = abc ]
}

@test "cat: 'cat a out > out' is refused every time, as cat(1) refuses it: out is a, once (100 runs)" {
    # out looks empty until the write of a has landed: the check must wait
    # for it, or it lets out through and cat appends out to itself.
    printf 'abc\n' > a
    head -c 100000 /dev/urandom > b
    for f in a b; do
        run_sh "for i in \$(seq 100); do $(CAT) $f out > out 2> err
                    echo \$? \$(cmp -s $f out && echo same) \"\$(cat err)\"
                done | sort | uniq -c"
        [ "$status" -eq 0 ]
        echo "$f: $output"
        [ "$output" = "    100 1 same cat: out: input file is output file" ]
    done
}

@test "cat: output to a file goes where the shell's file position is, appending with >>" {
    head -c 500000 /dev/urandom > data
    run_sh "{ echo before; $(CAT) data; echo after; } > ours; { echo before; cat data; echo after; } > theirs"
    [ "$status" -eq 0 ]
    cmp ours theirs
    run_sh "$(CAT) data >> ours; cat data >> theirs"
    cmp ours theirs
}

# limited OUT CMD: run CMD (a shell command line writing OUT) under a
# 100 KiB file-size limit (ulimit -f 100); print its exit status.
limited() {
    run_sh "ulimit -f 100; $2; echo \$? > $1.rc"
}

@test "cat: under a file-size limit (ulimit -f) it ends as cat(1) ends, and what it wrote is the start of the input" {
    # The second block of the first writev crosses the limit: the write
    # comes back short, and nothing after it may land anywhere.
    head -c 3000000 /dev/urandom > in
    limited ours "$(CAT) in > ours"
    limited theirs "cat in > theirs"
    echo "ours: $(cat ours.rc) $(stat -c %s ours), theirs: $(cat theirs.rc) $(stat -c %s theirs)"
    [ "$(cat ours.rc)" = "$(cat theirs.rc)" ]
    cmp ours theirs
    # appending (>>) to a file that holds 50 KiB already
    head -c 51200 /dev/urandom > start
    cp start ours
    cp start theirs
    limited ours "$(CAT) in >> ours"
    limited theirs "cat in >> theirs"
    [ "$(cat ours.rc)" = "$(cat theirs.rc)" ]
    cmp ours theirs
}

# small_tmpfs KIB: a tmpfs of KIB KiB on ./mnt (teardown unmounts it), or
# skip saying why not.
small_tmpfs() {
    [ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
    mkdir mnt
    if ! mount -t tmpfs -o "size=${1}k" cat-tmpfs "$PWD/mnt" 2> mount.err; then
        skip "mount -t tmpfs -o size=${1}k failed: $(cat mount.err)"
    fi
}

teardown() {
    if mountpoint -q "$BATS_TEST_TMPDIR/mnt" 2> /dev/null; then
        umount "$BATS_TEST_TMPDIR/mnt"
    fi
    faultfs_cleanup
}

@test "cat: stdout on a file system that fills up mid-write: 'write error: No space left on device', exit 1, the start of the input kept" {
    # 1100 KiB: the third writev of 512 KiB fits only in part.
    small_tmpfs 1100
    head -c 3000000 /dev/urandom > in
    for redir in '>' '>>'; do
        rm -f mnt/out
        run_sh "$(CAT) in $redir mnt/out"
        [ "$status" -eq 1 ]
        [ "$stderr" = "cat: write error: No space left on device" ]
        size=$(stat -c %s mnt/out)
        echo "$redir: $size bytes kept"
        [ "$size" -gt 1048576 ]
        cmp -n "$size" in mnt/out
    done
}

@test "cat: a short WRITE at offset -1 leaves the file position where it was (tests/tools/partial-write.c, quoted in the chapter)" {
    cc -std=c11 -D_GNU_SOURCE -O2 -o pw "$TESTS_DIR/tools/partial-write.c"
    run --separate-stderr ./pw f
    skip_if_unavailable
    [ "$status" -eq 0 ]
    echo "$output"
    # 6.0 and later finish a short write by trying the rest again; when
    # that fails, the CQE reports what the first try wrote, and the file
    # position stays put.  Before 6.0 the position moved with the count.
    [ "$output" = "res 4096, file position 0" ] || [ "$output" = "res 4096, file position 4096" ]
    [ "$(stat -c %s f)" -eq 4096 ]
}

@test "cat: a full disk (/dev/full) is a write error, exit 1" {
    printf 'abc\n' > a
    run_sh "$(CAT) a > /dev/full"
    [ "$status" -eq 1 ]
    [ "$stderr" = "cat: write error: No space left on device" ]
}

@test "cat: a closed stdout or stdin is reported, not read or written as the ring" {
    printf 'abc\n' > a
    run_sh "$(CAT) a >&-"
    [ "$status" -eq 1 ]
    [ "$stderr" = "cat: standard output: Bad file descriptor" ]
    run_sh "$(CAT) a - a <&-"
    [ "$status" -eq 1 ]
    [ "$output" = "$(printf 'abc\nabc')" ]
    [ "$stderr" = "cat: -: Bad file descriptor" ]
}

@test "cat: offsets past 4 GiB: a sparse file read from just below the mark comes out whole, bytes in place" {
    # Reading all 4 GiB would take minutes on a slow or emulated machine, so
    # stdin starts 1 MiB below the mark (dd moves the shared file position)
    # and cat reads on from there, at explicit offsets that cross 2^32.
    truncate -s $((4 * 1024 * 1024 * 1024 + 16)) huge
    printf 'ACROSS' | dd of=huge bs=1 seek=$((4 * 1024 * 1024 * 1024 - 3)) conv=notrunc status=none
    printf 'end' | dd of=huge bs=1 seek=$((4 * 1024 * 1024 * 1024 + 13)) conv=notrunc status=none
    run_sh "{ dd bs=1M skip=4095 count=0 status=none; $(CAT); } < huge | tail -c 19 | od -An -c"
    [ "$status" -eq 0 ]
    [ "$output" = "$(tail -c 19 huge | od -An -c)" ]
    run_sh "{ dd bs=1M skip=4095 count=0 status=none; $(CAT); } < huge | wc -c"
    [ "$output" -eq $((1024 * 1024 + 16)) ]
}

@test "cat: memory does not grow with the input: max RSS under 8 MiB for 512 MiB" {
    truncate -s 512M big
    run_sh "$(printf %q "$MAXRSS") rss $(CAT) big > /dev/null"
    [ "$status" -eq 0 ]
    echo "max RSS: $(cat rss) KiB"
    [ "$(cat rss)" -lt 8192 ]
}

@test "cat: reads and writes are batched: several SQEs per io_uring_enter, far fewer calls than blocks" {
    head -c $((32 * BLOCK)) /dev/urandom > data
    run_traced "strace -f -qq -y -e trace=io_uring_enter,read,write,pread64,readv,writev -o trace $(CAT) data > /dev/null"
    [ "$status" -eq 0 ]
    # No read(2) or write(2) of the data (-y names each fd's file): every
    # byte goes through the ring.
    ! grep -E '(read|pread64|readv)\([0-9]+<[^>]*/data>' trace
    ! grep -E '(write|writev)\(1<' trace
    calls=$(grep -c 'io_uring_enter(' trace)
    # 32 blocks to read and write: 64 requests in about 17 calls on a quiet
    # machine; at most one call per two requests on a busy one.
    [ "$calls" -le 32 ]
    # and a call submitted NBLOCKS reads at once
    grep -q "io_uring_enter([0-9]*<[^>]*>, $NBLOCKS, 1, IORING_ENTER_GETEVENTS" trace
}

@test "cat: SIGSTOP and SIGCONT while it waits on a slow pipe lose nothing (EINTR is retried)" {
    run_sh "
        ( for i in \$(seq 40); do echo \$i; sleep 0.02; done ) | $(CAT) > out &
        pid=\$!
        for i in 1 2 3 4 5; do
            sleep 0.1
            kill -STOP \$pid && kill -CONT \$pid
        done
        wait \$pid"
    [ "$status" -eq 0 ]
    seq 40 | cmp - out
}

@test "cat: a tracer attaching and leaving mid-copy loses nothing" {
    run_traced "
        ( for i in \$(seq 40); do echo \$i; sleep 0.02; done ) | $(CAT) > out &
        pid=\$!
        sleep 0.2
        timeout 0.3 strace -qq -p \$pid -o /dev/null
        wait \$pid"
    [ "$status" -eq 0 ]
    seq 40 | cmp - out
}

@test "cat: an unknown option is a usage error, exit 2" {
    run_stage cat -Z a
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [ "$stderr" = "$(printf "cat: unknown option '-Z'\nusage: cat [FILE]...")" ]
}

@test "cat: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage cat "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "usage: cat [FILE]..." ]
    done
}

@test "cat: where seccomp forbids io_uring (EPERM, as Docker does) it explains and exits 77" {
    printf 'a\n' > a
    assert_forbidden EPERM cat a
}

@test "cat: on a kernel without io_uring (ENOSYS) it explains and exits 77" {
    printf 'a\n' > a
    assert_forbidden ENOSYS cat a
}

# ---- Exercises (make grade STAGE=03-cat; left out of make test) ----

# bats test_tags=exercise
@test "[5] 3.1 (easy): -n numbers the lines of several files as cat -n does, across blocks and files" {
    printf 'one\n\nthree' > a # no newline at its end: the next file's first line goes on
    printf 'four\nfive\n' > b
    : > empty
    seq 300000 > many # 2 MB of lines: many blocks, numbers past 99999
    same_as_coreutils -n a empty b many a
    [ "$status" -eq 0 ]
    same_as_coreutils -n a nope b
    [ "$status" -eq 1 ]
}

# bats test_tags=exercise
@test "[5] 3.1 (easy): -n numbers stdin, a block of newlines, a line longer than a block" {
    head -c $((2 * BLOCK)) /dev/zero | tr '\0' '\n' > newlines # grows 8 times when numbered
    { head -c $((3 * BLOCK)) /dev/zero | tr '\0' x; echo; echo last; } > long
    run_sh "seq 1000 | $(CAT) -n - newlines long > ours; seq 1000 | cat -n - newlines long > theirs"
    [ "$status" -eq 0 ]
    cmp ours theirs
    # and without -n, not a byte changes
    run_sh "$(CAT) newlines long | cmp - <(cat newlines long)"
    [ "$status" -eq 0 ]
}

# skip_if_memlock: registered buffers are pinned memory, counted against
# RLIMIT_MEMLOCK; a machine with a tiny ulimit -l refuses them (ENOMEM).
skip_if_memlock() {
    if [ "$status" -ne 0 ] && [[ "$stderr" == *"Cannot allocate memory"* ]] && [ "$(ulimit -l)" != unlimited ] &&
        [ "$(ulimit -l)" -lt $((NBLOCKS * BLOCK / 1024)) ]; then
        skip "ulimit -l is $(ulimit -l) KiB: too little to register $((NBLOCKS * BLOCK / 1024)) KiB"
    fi
}

# registered FILE: FILE, an strace log, shows the NBLOCKS blocks registered
# once, each a buffer of BLOCK bytes.
registered() {
    [ "$(grep -c 'io_uring_register(.*IORING_REGISTER_BUFFERS' "$1")" -eq 1 ]
    grep -Eq "IORING_REGISTER_BUFFERS, \[(\{iov_base=0x[0-9a-f]+, iov_len=$BLOCK\}(, )?){$NBLOCKS}\], $NBLOCKS\) = 0" "$1"
}

# bats test_tags=exercise
@test "[5] 3.2 (moderate): the blocks are registered once (IORING_REGISTER_BUFFERS) and read with IORING_OP_READ_FIXED" {
    grep -q 'IORING_OP_READ_FIXED' "$STAGE_DIR/cat.c"
    head -c $((10 * BLOCK + 5)) /dev/urandom > data
    run_traced "strace -f -qq -e trace=io_uring_register -o trace $(CAT) data data > out"
    skip_if_memlock
    [ "$status" -eq 0 ]
    cat data data | cmp - out
    registered trace
}

# bats test_tags=exercise
@test "[5] 3.2 (moderate): with registered buffers, stdin, /proc files, short reads and errors still come out right" {
    head -c 1000000 /dev/urandom > data
    printf 'a\n' > a
    run_traced "{ cat data; sleep 0.1; cat a; } | strace -f -qq -e trace=io_uring_register -o trace $(CAT) - /proc/version nope a > out"
    skip_if_memlock
    [ "$status" -eq 1 ]
    [ "$stderr" = "cat: nope: No such file or directory" ]
    cat data a /proc/version a | cmp - out
    registered trace
}
