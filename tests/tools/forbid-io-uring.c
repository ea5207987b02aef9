/*
 * tests/tools/forbid-io-uring.c - run a program where io_uring is forbidden
 *
 *   forbid-io-uring EPERM|ENOSYS PROG [ARG]...
 *
 * Installs a seccomp filter that makes io_uring_setup(2) fail with the
 * given error, as Docker's default profile (EPERM) or a kernel without
 * io_uring (ENOSYS) would, then execs PROG.  The tests use it to check
 * that every stage explains the cause and exits 77.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "add your architecture's AUDIT_ARCH_ value here"
#endif

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: forbid-io-uring EPERM|ENOSYS PROG [ARG]...\n");
        return 2;
    }
    unsigned err = !strcmp(argv[1], "ENOSYS") ? ENOSYS : EPERM;

    // Other architectures' system call numbers mean other calls: allow
    // them.  Native io_uring_setup fails with err; everything else runs.
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {
        .len = sizeof(filter) / sizeof(filter[0]),
        .filter = filter,
    };
    // Without no_new_privs an unprivileged process may not install a filter.
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("forbid-io-uring: prctl");
        return 1;
    }
    execvp(argv[2], argv + 2);
    perror("forbid-io-uring: exec");
    return 127;
}
