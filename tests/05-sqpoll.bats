# tests/05-sqpoll.bats - the copy of 04-cp, submitted by an SQ poller thread
# bats file_tags=stage:05
bats_require_minimum_version 1.8.0
load helpers

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

@test "sqpoll: files of 0, 1, BYTES-1, BYTES, BYTES+1 and DEPTH x BYTES + 1 bytes are copied byte for byte" {
    for n in 0 1 $((BYTES - 1)) $BYTES $((BYTES + 1)) $((DEPTH * BYTES + 1)); do
        head -c "$n" /dev/urandom > "src$n"
        run_stage sqpoll "src$n" "dst$n"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
        [ -z "$stderr" ]
        cmp "src$n" "dst$n"
    done
}

@test "sqpoll: a 30 MiB file is copied byte for byte" {
    head -c 31457280 /dev/urandom > src
    run_stage sqpoll src dst
    [ "$status" -eq 0 ]
    cmp src dst
}

@test "sqpoll: any DEPTH >= 1 and BYTES >= 1 give the same bytes" {
    # -b 1 is two requests a byte: 4099 bytes keep it short on the slowest
    # machine (an emulated or busy one), and still end in a short block.
    head -c 4099 /dev/urandom > small
    head -c 3000017 /dev/urandom > big
    for q in 1 2 3 64; do
        for b in 1 7 4096; do
            run_stage sqpoll -q "$q" -b "$b" small out
            [ "$status" -eq 0 ]
            cmp small out
        done
        for b in 65537 1048576 4000000; do
            run_stage sqpoll -q "$q" -b "$b" big out
            [ "$status" -eq 0 ]
            cmp big out
        done
    done
}

@test "sqpoll: a sparse source is copied byte for byte" {
    truncate -s 200M sparse
    printf 'start' | dd of=sparse conv=notrunc status=none
    printf 'middle' | dd of=sparse bs=1 seek=$((100 * 1024 * 1024 + 3)) conv=notrunc status=none
    printf 'end' >> sparse
    run_stage sqpoll sparse copy
    [ "$status" -eq 0 ]
    cmp sparse copy
}

@test "sqpoll: /proc sources, whose st_size is 0, are copied whole" {
    run_stage sqpoll /proc/version v
    [ "$status" -eq 0 ]
    [ -s v ]
    cmp /proc/version v
    [ -r /proc/kallsyms ] || skip "/proc/kallsyms is not readable here"
    run_stage sqpoll -q 4 -b 4096 /proc/kallsyms k
    [ "$status" -eq 0 ]
    cmp /proc/kallsyms k
}

@test "sqpoll: a pipe as SRC (/dev/stdin) is copied whole" {
    head -c 2000000 /dev/urandom > data
    run_sh "cat data | $(CP) -q 4 -b 3000 /dev/stdin out"
    [ "$status" -eq 0 ]
    cmp data out
}

@test "sqpoll: a new DST gets SRC's permission bits less the umask" {
    printf 'x\n' > src
    chmod 755 src
    run_sh "umask 027; $(CP) src new"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a new)" = 750 ]
    chmod 640 src
    run_sh "umask 0; $(CP) src new2"
    [ "$(stat -c %a new2)" = 640 ]
}

@test "sqpoll: an existing DST is truncated and keeps its own mode" {
    head -c 100000 /dev/urandom > long
    printf 'short\n' > src
    cp long dst
    chmod 604 dst
    run_stage sqpoll src dst
    [ "$status" -eq 0 ]
    cmp src dst
    [ "$(stat -c %a dst)" = 604 ]
}

@test "sqpoll: DST /dev/null works and is left as it was (never chmod)" {
    head -c 1000000 /dev/urandom > src
    chmod 600 src
    before=$(stat -c '%a %F' /dev/null)
    run_stage sqpoll src /dev/null
    [ "$status" -eq 0 ]
    [ "$(stat -c '%a %F' /dev/null)" = "$before" ]
}

@test "sqpoll: DST /dev/full fails with a clear message, exit 1" {
    printf 'x\n' > src
    run_stage sqpoll src /dev/full
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: write /dev/full: No space left on device" ]
}

@test "sqpoll: DST a FIFO with a reader gets the bytes in order" {
    head -c 1000000 /dev/urandom > src
    mkfifo fifo
    # Start the copy once the reader is waiting in open(2) for a writer
    # (sqpoll does not wait for a reader: without one it fails, next test).
    run_sh "cat fifo > out & pid=\$!
        for i in \$(seq 6000); do
            grep -q wait_for_partner /proc/\$pid/wchan 2> /dev/null && break
            sleep 0.01
        done
        $(CP) -q 8 -b 4096 src fifo; rc=\$?; wait; exit \$rc"
    [ "$status" -eq 0 ]
    cmp src out
}

@test "sqpoll: DST a FIFO that nobody reads fails at once with a clear message, never hangs" {
    printf 'x\n' > src
    mkfifo fifo
    SECONDS=0
    run_stage sqpoll src fifo
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: open fifo (a FIFO that nobody reads): No such device or address" ]
    [ "$SECONDS" -lt 5 ]
}

@test "sqpoll: DST a UNIX socket is named as one (open(2) fails with ENXIO there too), exit 1" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    printf 'x\n' > src
    python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")'
    run_stage sqpoll src sock
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: open sock (a socket: open(2) cannot open one): No such device or address" ]
}

@test "sqpoll: DST a dangling symlink is refused as cp(1) refuses it, exit 1, and nothing is created through it" {
    printf 'x\n' > src
    mkdir d
    ln -s target link
    ln -s d/target link2
    for dst in link link2; do
        run_stage sqpoll src "$dst"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "sqpoll: not writing through dangling symlink $dst" ]
        [ ! -e target ] && [ ! -e d/target ]
        [ -L "$dst" ]
    done
    # coreutils says the same, with quotes
    run -1 cp src link
    [ "$output" = "cp: not writing through dangling symlink 'link'" ]
}

@test "sqpoll: DST a symlink to an existing file is followed: the file gets SRC's bytes and keeps its mode" {
    head -c 300000 /dev/urandom > src
    head -c 900000 /dev/urandom > target
    chmod 604 target
    ln -s target link
    run_stage sqpoll src link
    [ "$status" -eq 0 ]
    [ -L link ]
    cmp src target
    [ "$(stat -c %a target)" = 604 ]
}

@test "sqpoll: DST a pipe with a slow reader gets every byte (short writes are finished)" {
    head -c 4194304 /dev/urandom > src
    run_sh "$(CP) src /dev/stdout | { sleep 0.2; cat; } | cmp - src"
    [ "$status" -eq 0 ]
}

@test "sqpoll: DST a pipe whose reader goes away ends the copy promptly: SIGPIPE, or EPIPE and exit 1" {
    truncate -s 1G src
    SECONDS=0
    run_sh "$(CP) src /dev/stdout | head -c1 > /dev/null; echo \"\${PIPESTATUS[0]}\""
    [ "$SECONDS" -lt 5 ]
    # A write that io_uring hands to a worker thread (a pipe opened by
    # name) gets -EPIPE; one it does inline raises SIGPIPE, as write(2).
    if [ "$output" != 141 ]; then
        [ "$output" = 1 ]
        [ "$stderr" = "sqpoll: write /dev/stdout: Broken pipe" ]
    fi
}

@test "sqpoll: with SIGPIPE ignored and SRC a waiting pipe, a broken DST pipe still ends the copy" {
    # The read on the SRC pipe would wait 20 s: it is cancelled.
    run_sh "trap '' PIPE
        { sleep 0.3; printf x; sleep 20; } 2> /dev/null | { $(CP) /dev/stdin /dev/stdout 2> err; echo \$? > rc; } | true > /dev/null 2>&1 &
        sleep 2; cat rc err"
    [ "$status" -eq 0 ]
    [ "$output" = "$(printf '1\nsqpoll: write /dev/stdout: Broken pipe')" ]
}

@test "sqpoll: DST a directory receives DST/basename(SRC)" {
    mkdir -p in/sub dir
    head -c 5000 /dev/urandom > in/sub/file
    run_stage sqpoll in/sub/file dir
    [ "$status" -eq 0 ]
    cmp in/sub/file dir/file
    run_stage sqpoll in/sub/file dir/
    [ "$status" -eq 0 ]
    cmp in/sub/file dir/file
}

@test "sqpoll: SRC and DST the same file (same path, hard link, symlink, folder) is refused, untouched" {
    head -c 5000 /dev/urandom > f
    cp f orig
    ln f hard
    ln -s f soft
    mkdir d
    ln f d/f
    touch -d '2001-01-01 00:00' f
    for dst in f hard soft d; do
        run_stage sqpoll f "$dst"
        [ "$status" -eq 1 ]
        [[ "$stderr" == "sqpoll: f and "*" are the same file" ]]
        cmp f orig
        [ "$(stat -c %Y f)" = "$(date -d '2001-01-01 00:00' +%s)" ]
    done
}

@test "sqpoll: a missing SRC is named on stderr, exit 1, and no DST is left behind" {
    run_stage sqpoll nope dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: open nope: No such file or directory" ]
    [ -z "$output" ]
    [ ! -e dst ]
}

@test "sqpoll: SRC a directory is refused, exit 1, no DST left behind" {
    mkdir srcdir
    run_stage sqpoll srcdir dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: open srcdir: Is a directory" ]
    [ ! -e dst ]
}

@test "sqpoll: DST in a missing directory fails with a clear message, exit 1, nothing created" {
    printf 'x\n' > src
    run_stage sqpoll src missing/dst
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: open missing/dst: No such file or directory" ]
    [ ! -e missing ]
}

@test "sqpoll: bad options and operands are usage errors, exit 2, and create nothing" {
    printf 'x\n' > src
    for args in "-q 0 src dst" "-q x src dst" "-q 4097 src dst" "-q -1 src dst" \
                "-b 0 src dst" "-b x src dst" "-b 1x src dst" "-q 4096 -b 1048576 src dst" \
                "" "src" "src dst extra" "-z src dst" "--zz src dst" "src dst -q"; do
        run_stage sqpoll $args
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"$USAGE" ]]
        [ ! -e dst ]
    done
}

@test "sqpoll: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage sqpoll "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "$USAGE" ]
    done
}

@test "sqpoll: -v logs every submission and completion once, with sequence numbers, never more than DEPTH in flight" {
    head -c 1000000 /dev/urandom > src
    run_sh "$(CP) -v -q 3 -b 10000 src dst 2> log"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    cmp src dst
    check_log log 3
    grep -q 'submit   #0 read  block 0 offset 0 length 10000$' log
    grep -Eq 'complete #[0-9]+ write block [0-9]+ res 10000' log
}

@test "sqpoll: a short read is resubmitted for the rest, at the offset right after it" {
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

# A read error in the middle of SRC, where the blocks after the bad
# stretch read fine (faultfs --eio-at OFF:LEN, root only): they were read
# ahead, and some written, before the error came.
@test "sqpoll: a read error in the middle of SRC (faultfs --eio-at) leaves in DST the bytes before it, as cp(1) does: no hole, nothing after it, exit 1" {
    head -c 4194304 /dev/urandom > src
    faultfs_mount mnt --source src --eio-at 300000:4096
    run -1 cp mnt/data theirs
    [ "$(stat -c %s theirs)" -eq 300000 ]
    for args in "" "-q 1 -b 4096" "-q 16 -b 4096" "-q 4 -b 1000000"; do
        run_stage sqpoll $args mnt/data dst
        echo "$args: $status $(stat -c %s dst)"
        [ "$status" -eq 1 ]
        [ -z "$output" ]
        [ "$stderr" = "sqpoll: read mnt/data: Input/output error" ]
        cmp theirs dst
    done
    # The same at once while block 0 waits behind a minute's delay: the
    # error removes the timeout, and block 0 is still read and written.
    CP_DELAY_FIRST=60000 run_stage sqpoll -q 4 -b 65536 mnt/data dst
    [ "$status" -eq 1 ]
    cmp theirs dst
}

@test "sqpoll: SRC that ends before its st_size says (faultfs --eof-at) is copied up to its end, as cp(1) copies it, exit 0" {
    head -c 4194304 /dev/urandom > src
    faultfs_mount mnt --source src --eof-at 1000000
    for args in "" "-q 1 -b 4096" "-q 16 -b 4096" "-q 4 -b 1000000"; do
        run_stage sqpoll $args mnt/data dst
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        cmp <(head -c 1000000 src) dst
    done
}

@test "sqpoll: a write failing while block 0 waits behind CP_DELAY_FIRST=60000 ends the copy at once; DST is a plain prefix of SRC" {
    head -c 1048576 /dev/urandom > src
    # ulimit -f 100: a write past 100 KiB fails with EFBIG (SIGXFSZ, which
    # would kill sqpoll first, is ignored).  Blocks 1 to 3 are written meanwhile.
    SECONDS=0
    run_sh "trap '' XFSZ; ulimit -f 100; CP_DELAY_FIRST=60000 $(CP) -q 4 -b 65536 src dst"
    [ "$status" -eq 1 ]
    [ "$stderr" = "sqpoll: write dst: File too large" ]
    [ "$SECONDS" -lt 20 ]
    # Block 0 was never written: DST was cut back to before it, no hole.
    [ "$(stat -c %s dst)" -eq 0 ]
}

@test "sqpoll: CP_DELAY_FIRST that is not a number of milliseconds is a usage error" {
    printf 'x\n' > src
    CP_DELAY_FIRST=soon run_stage sqpoll src dst
    [ "$status" -eq 2 ]
    [ ! -e dst ]
}

@test "sqpoll: memory does not grow with the file: max RSS under 16 MiB for 256 MiB" {
    truncate -s 256M big
    run_sh "$(printf %q "$MAXRSS") rss $(CP) big copy"
    [ "$status" -eq 0 ]
    echo "max RSS: $(cat rss) KiB"
    [ "$(cat rss)" -lt 16384 ]
    cmp big copy
}

@test "sqpoll: SIGSTOP and SIGCONT mid-copy from a slow pipe lose nothing (EINTR is retried)" {
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

@test "sqpoll: a tracer attaching and leaving mid-copy does not break the copy" {
    run_traced "
        ( for i in \$(seq 40); do echo \$i; sleep 0.02; done ) | $(CP) -q 4 -b 7 /dev/stdin out &
        pid=\$!
        sleep 0.2
        timeout 0.3 strace -qq -p \$pid -o /dev/null
        wait \$pid"
    [ "$status" -eq 0 ]
    seq 40 | cmp - out
}

@test "sqpoll: where seccomp forbids io_uring (EPERM, as Docker does) it explains, exits 77, and leaves no DST" {
    printf 'x\n' > src
    assert_forbidden EPERM sqpoll src dst
    [ ! -e dst ]
}

@test "sqpoll: on a kernel without io_uring (ENOSYS) it explains, exits 77, and leaves no DST" {
    printf 'x\n' > src
    assert_forbidden ENOSYS sqpoll src dst
    [ ! -e dst ]
}

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
