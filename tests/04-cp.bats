# tests/04-cp.bats - cp with many requests in flight, completed in any order
# bats file_tags=stage:04
bats_require_minimum_version 1.8.0
load helpers

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

@test "cp: files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte" {
    for n in 0 1 $((BYTES - 1)) $BYTES $((BYTES + 1)) $((DEPTH * BYTES + 1)); do
        head -c "$n" /dev/urandom > "src$n"
        run_stage cp "src$n" "dst$n"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        [ -z "$stderr" ]
        cmp "src$n" "dst$n"
    done
}

@test "cp: a 30 MiB file is copied byte for byte" {
    head -c 31457280 /dev/urandom > src
    run_stage cp src dst
    [ "$status" -eq 0 ]
    cmp src dst
}

@test "cp: any DEPTH >= 1 and BYTES >= 1 give the same bytes" {
    # -b 1 is two requests a byte: 4099 bytes keep it short on the slowest
    # machine (an emulated or busy one), and still end in a short block.
    head -c 4099 /dev/urandom > small
    head -c 3000017 /dev/urandom > big
    for q in 1 2 3 64; do
        for b in 1 7 4096; do
            run_stage cp -q "$q" -b "$b" small out
            [ "$status" -eq 0 ]
            cmp small out
        done
        for b in 65537 1048576 4000000; do
            run_stage cp -q "$q" -b "$b" big out
            [ "$status" -eq 0 ]
            cmp big out
        done
    done
}

@test "cp: a sparse source is copied byte for byte" {
    truncate -s 200M sparse
    printf 'start' | dd of=sparse conv=notrunc status=none
    printf 'middle' | dd of=sparse bs=1 seek=$((100 * 1024 * 1024 + 3)) conv=notrunc status=none
    printf 'end' >> sparse
    run_stage cp sparse copy
    [ "$status" -eq 0 ]
    cmp sparse copy
}

@test "cp: /proc sources, whose st_size is 0, are copied whole" {
    run_stage cp /proc/version v
    [ "$status" -eq 0 ]
    [ -s v ]
    cmp /proc/version v
    [ -r /proc/kallsyms ] || skip "/proc/kallsyms is not readable here"
    run_stage cp -q 4 -b 4096 /proc/kallsyms k
    [ "$status" -eq 0 ]
    cmp /proc/kallsyms k
}

@test "cp: a pipe as SRC (/dev/stdin) is copied whole" {
    head -c 2000000 /dev/urandom > data
    run_sh "cat data | $(CP) -q 4 -b 3000 /dev/stdin out"
    [ "$status" -eq 0 ]
    cmp data out
}

@test "cp: a new DST gets SRC's permission bits less the umask" {
    printf 'x\n' > src
    chmod 755 src
    run_sh "umask 027; $(CP) src new"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a new)" = 750 ]
    chmod 640 src
    run_sh "umask 0; $(CP) src new2"
    [ "$(stat -c %a new2)" = 640 ]
}

@test "cp: an existing DST is truncated and keeps its own mode" {
    head -c 100000 /dev/urandom > long
    printf 'short\n' > src
    cp long dst
    chmod 604 dst
    run_stage cp src dst
    [ "$status" -eq 0 ]
    cmp src dst
    [ "$(stat -c %a dst)" = 604 ]
}

@test "cp: DST /dev/null works and is left as it was (never chmod)" {
    head -c 1000000 /dev/urandom > src
    chmod 600 src
    before=$(stat -c '%a %F' /dev/null)
    run_stage cp src /dev/null
    [ "$status" -eq 0 ]
    [ "$(stat -c '%a %F' /dev/null)" = "$before" ]
}

@test "cp: DST /dev/full fails with a clear message, exit 1" {
    printf 'x\n' > src
    run_stage cp src /dev/full
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: write /dev/full: No space left on device" ]
}

@test "cp: DST a FIFO with a reader gets the bytes in order" {
    head -c 1000000 /dev/urandom > src
    mkfifo fifo
    # Start the copy once the reader is waiting in open(2) for a writer
    # (cp does not wait for a reader: without one it fails, next test).
    run_sh "cat fifo > out & pid=\$!
        for i in \$(seq 6000); do
            grep -q wait_for_partner /proc/\$pid/wchan 2> /dev/null && break
            sleep 0.01
        done
        $(CP) -q 8 -b 4096 src fifo; rc=\$?; wait; exit \$rc"
    [ "$status" -eq 0 ]
    cmp src out
}

@test "cp: DST a FIFO that nobody reads fails at once with a clear message, never hangs" {
    printf 'x\n' > src
    mkfifo fifo
    SECONDS=0
    run_stage cp src fifo
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: open fifo (a FIFO that nobody reads): No such device or address" ]
    [ "$SECONDS" -lt 5 ]
}

@test "cp: DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    printf 'x\n' > src
    python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
    run_stage cp src sock
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: open sock (a socket: open(2) cannot open one): No such device or address" ]
}

@test "cp: DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it" {
    printf 'x\n' > src
    mkdir d
    ln -s target link
    ln -s d/target link2
    for dst in link link2; do
        run_stage cp src "$dst"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "cp: not writing through dangling symlink $dst" ]
        [ ! -e target ] && [ ! -e d/target ]
        [ -L "$dst" ]
    done
    # coreutils says the same, with quotes
    run -1 cp src link
    [ "$output" = "cp: not writing through dangling symlink 'link'" ]
}

@test "cp: DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode" {
    head -c 300000 /dev/urandom > src
    head -c 900000 /dev/urandom > target
    chmod 604 target
    ln -s target link
    run_stage cp src link
    [ "$status" -eq 0 ]
    [ -L link ]
    cmp src target
    [ "$(stat -c %a target)" = 604 ]
}

@test "cp: DST a pipe with a slow reader gets every byte (short writes are finished)" {
    head -c 4194304 /dev/urandom > src
    run_sh "$(CP) src /dev/stdout | { sleep 0.2; cat; } | cmp - src"
    [ "$status" -eq 0 ]
}

@test "cp: DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1" {
    truncate -s 1G src
    SECONDS=0
    run_sh "$(CP) src /dev/stdout | head -c1 > /dev/null; echo \"\${PIPESTATUS[0]}\""
    [ "$SECONDS" -lt 5 ]
    # A write that io_uring hands to a worker thread (a pipe opened by
    # name) gets -EPIPE; one it does inline raises SIGPIPE, as write(2).
    if [ "$output" != 141 ]; then
        [ "$output" = 1 ]
        [ "$stderr" = "cp: write /dev/stdout: Broken pipe" ]
    fi
}

@test "cp: with SIGPIPE ignored and SRC a waiting pipe, a broken DST pipe still ends the copy" {
    # The read on the SRC pipe would wait 20 s: it is cancelled.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CP) /dev/stdin /dev/stdout 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\ncp: write /dev/stdout: Broken pipe')" ]
}

@test "cp: DST a directory receives DST/basename(SRC)" {
    mkdir -p in/sub dir
    head -c 5000 /dev/urandom > in/sub/file
    run_stage cp in/sub/file dir
    [ "$status" -eq 0 ]
    cmp in/sub/file dir/file
    run_stage cp in/sub/file dir/
    [ "$status" -eq 0 ]
    cmp in/sub/file dir/file
}

@test "cp: SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched" {
    head -c 5000 /dev/urandom > f
    cp f orig
    ln f hard
    ln -s f soft
    mkdir d
    ln f d/f
    touch -d '2001-01-01 00:00' f
    for dst in f hard soft d; do
        run_stage cp f "$dst"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "cp: f and "*" are the same file" ]]
        cmp f orig
        [ "$(stat -c %Y f)" = "$(date -d '2001-01-01 00:00' +%s)" ]
    done
}

@test "cp: a missing SRC is named on stderr, exit 1, and no DST is left behind" {
    run_stage cp nope dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: open nope: No such file or directory" ]
    [ -z "$output" ]
    [ ! -e dst ]
}

@test "cp: SRC a directory is refused, exit 1, no DST left behind" {
    mkdir srcdir
    run_stage cp srcdir dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: open srcdir: Is a directory" ]
    [ ! -e dst ]
}

@test "cp: DST in a missing directory fails with a clear message, exit 1, nothing created" {
    printf 'x\n' > src
    run_stage cp src missing/dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: open missing/dst: No such file or directory" ]
    [ ! -e missing ]
}

@test "cp: bad options and operands are usage errors, exit 2, and create nothing" {
    printf 'x\n' > src
    for args in "-q 0 src dst" "-q x src dst" "-q 4097 src dst" "-q -1 src dst" \
                "-b 0 src dst" "-b x src dst" "-b 1x src dst" "-q 4096 -b 1048576 src dst" \
                "" "src" "src dst extra" "-z src dst" "--zz src dst" "src dst -q"; do
        run_stage cp $args
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"$USAGE" ]]
        [ ! -e dst ]
    done
}

@test "cp: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage cp "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "$USAGE" ]
    done
}

@test "cp: -v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight" {
    head -c 1000000 /dev/urandom > src
    run_sh "$(CP) -v -q 3 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    cmp src dst
    check_log log 3
    grep -q 'submit   #0 read  block 0 offset 0 length 10000$' log
    grep -Eq 'complete #[0-9]+ write block [0-9]+ res 10000' log
}

@test "cp: a short read is resubmitted for the rest, at the offset right after it" {
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

# A read error in the middle of SRC, where the blocks after the bad
# stretch read fine (faultfs --eio-at OFF:LEN, root only): they were read
# ahead, and some written, before the error came.
@test "cp: a read error in the middle of SRC (faultfs --eio-at) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1" {
    head -c 4194304 /dev/urandom > src
    faultfs_mount mnt --source src --eio-at 300000:4096
    run -1 cp mnt/data theirs
    [ "$(stat -c %s theirs)" -eq 300000 ]
    for args in "" "-q 1 -b 4096" "-q 16 -b 4096" "-q 4 -b 1000000"; do
        run_stage cp $args mnt/data dst
        echo "$args: $status $(stat -c %s dst)"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "cp: read mnt/data: Input/output error" ]
        cmp theirs dst
    done
    # The same at once while block 0 waits behind a minute's delay: the
    # error removes the timeout, and block 0 is still read and written.
    CP_DELAY_FIRST=60000 run_stage cp -q 4 -b 65536 mnt/data dst
    [ "$status" -eq 1 ]
    cmp theirs dst
}

@test "cp: SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0" {
    head -c 4194304 /dev/urandom > src
    faultfs_mount mnt --source src --eof-at 1000000
    for args in "" "-q 1 -b 4096" "-q 16 -b 4096" "-q 4 -b 1000000"; do
        run_stage cp $args mnt/data dst
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        cmp <(head -c 1000000 src) dst
    done
}

@test "cp: a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC" {
    head -c 1048576 /dev/urandom > src
    # ulimit -f 100: a write past 100 KiB fails with EFBIG (SIGXFSZ, which
    # would kill cp first, is ignored).  Blocks 1 to 3 are written meanwhile.
    SECONDS=0
    run_sh "trap '' XFSZ; ulimit -f 100; CP_DELAY_FIRST=60000 $(CP) -q 4 -b 65536 src dst"
    [ "$status" -eq 1 ]
    [ "$stderr" = "cp: write dst: File too large" ]
    [ "$SECONDS" -lt 20 ]
    # Block 0 was never written: DST was cut back to before it, no hole.
    [ "$(stat -c %s dst)" -eq 0 ]
}

@test "cp: CP_DELAY_FIRST that is not a number of milliseconds is a usage error" {
    printf 'x\n' > src
    CP_DELAY_FIRST=soon run_stage cp src dst
    [ "$status" -eq 2 ]
    [ ! -e dst ]
}

@test "cp: reads and writes go through the ring, several per io_uring_enter" {
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

@test "cp: memory does not grow with the file: max RSS under 16 MiB for 256 MiB" {
    truncate -s 256M big
    run_sh "$(printf %q "$MAXRSS") rss $(CP) big copy"
    [ "$status" -eq 0 ]
    echo "max RSS: $(cat rss) KiB"
    [ "$(cat rss)" -lt 16384 ]
    cmp big copy
}

@test "cp: SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)" {
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

@test "cp: a tracer attaching and leaving mid-copy does not break the copy" {
    run_traced "
        ( for i in \$(seq 40); do echo \$i; sleep 0.02; done ) | $(CP) -q 4 -b 7 /dev/stdin out &
        pid=\$!
        sleep 0.2
        timeout 0.3 strace -qq -p \$pid -o /dev/null
        wait \$pid"
    [ "$status" -eq 0 ]
    seq 40 | cmp - out
}

@test "cp: where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST" {
    printf 'x\n' > src
    assert_forbidden EPERM cp src dst
    [ ! -e dst ]
}

@test "cp: on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST" {
    printf 'x\n' > src
    assert_forbidden ENOSYS cp src dst
    [ ! -e dst ]
}

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
