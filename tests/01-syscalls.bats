# tests/01-syscalls.bats - what io_uring_setup, _register and _enter report
# bats file_tags=stage:01
bats_require_minimum_version 1.8.0
load helpers

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "syscalls: a default ring has 8 SQ entries and 16 CQ entries" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    [ "$(value sq_entries)" -eq 8 ]
    [ "$(value cq_entries)" -eq 16 ]
    [ -z "$stderr" ]
}

@test "syscalls: entry counts are rounded up to a power of two, and the CQ is twice the SQ" {
    for n in 1 2 3 5 100 1000 4096 32768; do
        run_stage syscalls "$n"
        [ "$status" -eq 0 ]
        sq=$(value sq_entries) cq=$(value cq_entries)
        is_power_of_two "$sq"
        [ "$sq" -ge "$n" ]
        [ $((sq / 2)) -lt "$n" ] || [ "$sq" -eq 1 ]
        [ "$cq" -eq $((2 * sq)) ]
    done
}

@test "syscalls: ENTRIES 0 is refused by the kernel with EINVAL, explained, exit 1" {
    run_stage syscalls 0
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ "$stderr" == "syscalls: io_uring_setup(entries=0): Invalid argument"* ]]
    [[ "$stderr" == *"1 to 32768"* ]]
}

@test "syscalls: ENTRIES above 32768 is refused by the kernel, exit 1" {
    run_stage syscalls 32769
    [ "$status" -eq 1 ]
    [[ "$stderr" == "syscalls: io_uring_setup(entries=32769): Invalid argument"* ]]
}

@test "syscalls: ENTRIES that is not a plain number is a usage error, exit 2" {
    for bad in x -5 8x ' 8' '' 1e3 99999999999; do
        run_stage syscalls "$bad"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ "$stderr" == *"usage: syscalls [ENTRIES]"* ]]
    done
}

@test "syscalls: two arguments are a usage error, exit 2" {
    run_stage syscalls 8 8
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"too many arguments"* ]]
}

@test "syscalls: -h and --help print the usage on stdout and exit 0" {
    for h in -h --help; do
        run_stage syscalls "$h"
        [ "$status" -eq 0 ]
        [ "$output" = "usage: syscalls [ENTRIES]" ]
        [ -z "$stderr" ]
    done
}

@test "syscalls: the system call numbers are the ones <sys/syscall.h> defines" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    want=$(printf '#include <sys/syscall.h>\nio_uring_setup=__NR_io_uring_setup io_uring_enter=__NR_io_uring_enter io_uring_register=__NR_io_uring_register\n' |
        ${CC:-cc} -E -P -x c - | tail -n 1) # cc, not cpp: a clang-only machine has no cpp
    [ "$(value syscalls)" = "$want" ]
}

@test "syscalls: the ring is a file descriptor on an anonymous io_uring inode" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    [ "$(value fd)" -ge 3 ]
    [ "$(value fd_target)" = "anon_inode:[io_uring]" ]
}

@test "syscalls: every feature bit is printed once, by name or in hex" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    hex=$(value features_hex)
    bits=0
    for ((i = 0; i < 32; i++)); do (( (hex >> i) & 1 )) && bits=$((bits + 1)); done
    set -- $(value features)
    [ "$#" -eq "$bits" ]
    for f in "$@"; do [[ "$f" =~ ^([A-Z0-9_]+|0x[0-9a-f]+)$ ]]; done
}

@test "syscalls: a 5.6+ kernel reports SINGLE_MMAP, NODROP and RW_CUR_POS" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    f=" $(value features) "
    [[ "$f" == *" SINGLE_MMAP "* && "$f" == *" NODROP "* && "$f" == *" RW_CUR_POS "* ]]
}

@test "syscalls: all fourteen ring offsets are printed, and the index fields come before the CQEs" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    cqes=$(value cq_off.cqes)
    for f in head tail ring_mask ring_entries flags dropped array; do
        [ -n "$(value "sq_off.$f")" ]
    done
    for f in head tail ring_mask ring_entries overflow flags; do
        [ "$(value "cq_off.$f")" -lt "$cqes" ]
    done
    [ "$(value sq_off.array)" -gt 0 ]
    # The CQE array is 16-byte aligned (struct io_uring_cqe is 16 bytes).
    [ $((cqes % 16)) -eq 0 ]
}

@test "syscalls: the probe lists NOP, READ, WRITE, TIMEOUT, ACCEPT, RECV and SEND" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    ops=" $(value opcodes) "
    for op in NOP READ WRITE TIMEOUT ACCEPT RECV SEND; do
        [[ "$ops" == *" $op "* ]]
    done
    [ "$(value probe.ops_len)" -eq $(($(value probe.last_op) + 1)) ]
    [ "$(echo "$ops" | wc -w)" -le "$(value probe.ops_len)" ]
}

@test "syscalls: io_uring_enter with nothing to do returns 0" {
    run_stage syscalls
    [ "$status" -eq 0 ]
    [ "$(value io_uring_enter)" = 0 ]
}

@test "syscalls: where seccomp forbids io_uring (EPERM, as Docker does) it explains and exits 77" {
    assert_forbidden EPERM syscalls
}

@test "syscalls: on a kernel without io_uring (ENOSYS) it explains and exits 77" {
    assert_forbidden ENOSYS syscalls
}

# with_sysctl VALUE CMD...: run CMD in a mount namespace of its own where
# /proc/sys/kernel/io_uring_disabled reads VALUE (the real one is left
# alone: other programs on the machine keep using io_uring).  Root only.
with_sysctl() {
    local v=$1
    shift
    printf '%s\n' "$v" > fake-sysctl
    run --separate-stderr timeout "$TEST_TIMEOUT" unshare -m sh -c \
        'mount --bind "$0" /proc/sys/kernel/io_uring_disabled && exec "$@"' \
        "$PWD/fake-sysctl" "$@"
}

@test "syscalls: an EPERM is blamed on kernel.io_uring_disabled only where it applies: 2 for all, 1 not for CAP_SYS_ADMIN" {
    [ "$(id -u)" -eq 0 ] || skip "faking the sysctl in a mount namespace needs root"
    [ -r /proc/sys/kernel/io_uring_disabled ] || skip "this kernel has no kernel.io_uring_disabled (6.6+)"
    command -v unshare > /dev/null || skip "unshare is not installed"
    [ -x "$FORBID" ] || skip "tests/tools/forbid-io-uring was not built (make test builds it)"
    with_sysctl 1 true
    [ "$status" -eq 0 ] || skip "cannot bind-mount over /proc/sys here: $stderr"
    # Root has CAP_SYS_ADMIN, which 1 lets in: the EPERM came from elsewhere.
    with_sysctl 1 "$FORBID" EPERM "$STAGE_DIR/syscalls"
    [ "$status" -eq 77 ]
    [[ "$stderr" == *"kernel.io_uring_disabled is 1, which lets this process in."* ]]
    [[ "$stderr" == *"seccomp"* ]]
    # 2 refuses everyone.
    with_sysctl 2 "$FORBID" EPERM "$STAGE_DIR/syscalls"
    [ "$status" -eq 77 ]
    [[ "$stderr" == *"The sysctl kernel.io_uring_disabled is 2 "* ]]
    # Without the capability (and not in io_uring_group), 1 refuses too.
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    with_sysctl 1 setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all \
        "$FORBID" EPERM "$STAGE_DIR/syscalls"
    [ "$status" -eq 77 ]
    [[ "$stderr" == *"The sysctl kernel.io_uring_disabled is 1 "* ]]
}
