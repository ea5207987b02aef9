/*
 * tests/tools/grade-guard.c - what a graded program may not do
 *
 * make grade (tools/exercise.py) links this file, first, into the student's
 * program: cc -DGUARD_STAGE=3 grade-guard.c cat.c.  Before main(), before
 * any constructor, it installs a seccomp filter that no later code can
 * remove, so the points for "through the ring" are earned through the ring:
 *
 *   - no other program: execve and execveat (a cat that runs /usr/bin/cat,
 *     a -n handed to coreutils, system(), popen());
 *   - no data through the classic calls: read, readv, pread64, preadv,
 *     preadv2 (these fail with EPERM), sendfile, splice, tee, vmsplice, copy_file_range, and the
 *     socket calls recvfrom/recvmsg/recvmmsg/sendto/sendmsg/sendmmsg;
 *     write, writev, pwrite64, pwritev, pwritev2 only on stderr, and on
 *     stdout where stdout is not the data (not in 03-cat, which may write
 *     only a usage line of at most 256 bytes there);
 *   - no fd juggling that would get around that: dup, dup2, dup3,
 *     fcntl(F_DUPFD, F_DUPFD_CLOEXEC), close(1), close(2), close_range.
 *
 * The stages' own code needs none of these, except: 06-echo-server (and
 * 09-multishot-echo, its copy) reads its signalfd (read of exactly one struct signalfd_siginfo, 128 bytes, is
 * allowed there); 05-sqpoll reads /proc/self/task/TID/comm to find its
 * poller (read is allowed there: its tasks are about the poller, and DST
 * can still be written only through the ring); and die.h reads /proc/sys/kernel/io_uring_disabled
 * after io_uring_setup has failed (the tests that forbid io_uring on
 * purpose).  So the reads fail with EPERM, as a sandbox would refuse them,
 * and die.h falls back to naming seccomp.  Any other forbidden call raises
 * SIGSYS: the program is stopped with a line on stderr naming the call,
 * which make grade shows.
 *
 * Where the kernel or libc lacks a call (aarch64 has no dup2 or plain
 * read-at-0 calls of its own), the #ifdefs leave it out.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef GUARD_STAGE
#error "build with -DGUARD_STAGE=N (the stage's number)"
#endif

#if defined(__x86_64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "add your architecture's AUDIT_ARCH_ value here"
#endif

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define ARG_HI(n) (ARG_LO(n) + 4) /* little-endian: the high half follows */

#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define TRAP RET(SECCOMP_RET_TRAP)
#define EPERM_ RET(SECCOMP_RET_ERRNO | EPERM)
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGT(k, t, f) BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (k), (t), (f))

/* If the call is sysnr, trap (the program is stopped, naming the call), or
 * refuse it with EPERM. */
#define FORBID(sysnr) LOAD(offsetof(struct seccomp_data, nr)), JEQ((sysnr), 0, 1), TRAP
#define REFUSE(sysnr) LOAD(offsetof(struct seccomp_data, nr)), JEQ((sysnr), 0, 1), EPERM_

static const char *call_name(int nr)
{
    static const struct {
        int nr;
        const char *name;
    } names[] = {
        {SYS_execve, "execve (running another program)"},
        {SYS_execveat, "execveat (running another program)"},
        {SYS_read, "read"},
        {SYS_readv, "readv"},
        {SYS_pread64, "pread64"},
        {SYS_preadv, "preadv"},
        {SYS_preadv2, "preadv2"},
        {SYS_write, "write"},
        {SYS_writev, "writev"},
        {SYS_pwrite64, "pwrite64"},
        {SYS_pwritev, "pwritev"},
        {SYS_pwritev2, "pwritev2"},
#ifdef SYS_sendfile
        {SYS_sendfile, "sendfile"},
#endif
        {SYS_splice, "splice"},
        {SYS_tee, "tee"},
        {SYS_vmsplice, "vmsplice"},
        {SYS_copy_file_range, "copy_file_range"},
        {SYS_recvfrom, "recvfrom"},
        {SYS_recvmsg, "recvmsg"},
        {SYS_recvmmsg, "recvmmsg"},
        {SYS_sendto, "sendto"},
        {SYS_sendmsg, "sendmsg"},
        {SYS_sendmmsg, "sendmmsg"},
        {SYS_dup, "dup"},
#ifdef SYS_dup2
        {SYS_dup2, "dup2"},
#endif
        {SYS_dup3, "dup3"},
        {SYS_fcntl, "fcntl(F_DUPFD)"},
        {SYS_close, "close of stdout or stderr"},
        {SYS_close_range, "close_range"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].nr == nr)
            return names[i].name;
    return "?";
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "grade-guard: %s is not allowed while grading: the data goes "
                     "through the ring, and no other program runs (tests/tools/grade-guard.c)\n",
                     call_name(si->si_syscall));
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    _exit(125);
}

static void guard(void)
{
    struct sock_filter filter[] = {
        // Another architecture's numbers mean other calls: refuse them all.
        LOAD(offsetof(struct seccomp_data, arch)),
        JEQ(AUDIT_ARCH_NATIVE, 1, 0),
        TRAP,
#if defined(__x86_64__)
        // nor the x32 numbers (same arch, nr | 0x40000000).
        LOAD(offsetof(struct seccomp_data, nr)),
        JGT(0x3fffffff, 0, 1),
        TRAP,
#endif
        // Running another program.
        FORBID(SYS_execve),
        FORBID(SYS_execveat),
        // Reading data without the ring.
#if GUARD_STAGE == 6 || GUARD_STAGE == 9
        // (a signalfd is read whole: exactly 128 bytes)
        LOAD(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_read, 0, 6),
        LOAD(ARG_HI(2)),
        JEQ(0, 0, 2),
        LOAD(ARG_LO(2)),
        JEQ(128, 1, 0),
        EPERM_,
        ALLOW,
#elif GUARD_STAGE != 5
        REFUSE(SYS_read),
#endif
        REFUSE(SYS_readv),
        REFUSE(SYS_pread64),
        REFUSE(SYS_preadv),
        REFUSE(SYS_preadv2),
#ifdef SYS_sendfile
        FORBID(SYS_sendfile),
#endif
        FORBID(SYS_splice),
        FORBID(SYS_tee),
        FORBID(SYS_vmsplice),
        FORBID(SYS_copy_file_range),
        FORBID(SYS_recvfrom),
        FORBID(SYS_recvmsg),
        FORBID(SYS_recvmmsg),
        FORBID(SYS_sendto),
        FORBID(SYS_sendmsg),
        FORBID(SYS_sendmmsg),
        // Making stdout or stderr something else.
        FORBID(SYS_dup),
#ifdef SYS_dup2
        FORBID(SYS_dup2),
#endif
        FORBID(SYS_dup3),
        FORBID(SYS_close_range),
        LOAD(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_fcntl, 0, 4),
        LOAD(ARG_LO(1)),
        JEQ(F_DUPFD, 1, 0),
        JEQ(F_DUPFD_CLOEXEC, 0, 1),
        TRAP,
        LOAD(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_close, 0, 4),
        LOAD(ARG_LO(0)),
        JEQ(1, 1, 0),
        JEQ(2, 0, 1),
        TRAP,
        // Writing: stderr always; stdout unless it is the data (03-cat: a
        // usage line); nothing else.  The write calls share the fd
        // argument; only write(2) has a byte count we look at.
        LOAD(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_write, 5, 0),
        JEQ(SYS_writev, 4, 0),
        JEQ(SYS_pwrite64, 3, 0),
        JEQ(SYS_pwritev, 2, 0),
        JEQ(SYS_pwritev2, 1, 0),
        ALLOW,
        LOAD(ARG_HI(0)),
        JEQ(0, 1, 0),
        TRAP,
        LOAD(ARG_LO(0)),
        JEQ(2, 0, 1),
        ALLOW,
        JEQ(1, 1, 0),
        TRAP,
#if GUARD_STAGE == 3
        LOAD(offsetof(struct seccomp_data, nr)),
        JEQ(SYS_write, 1, 0),
        TRAP,
        LOAD(ARG_HI(2)),
        JEQ(0, 1, 0),
        TRAP,
        LOAD(ARG_LO(2)),
        JGT(256, 0, 1),
        TRAP,
#endif
        ALLOW,
    };
    struct sock_fprog prog = {
        .len = sizeof(filter) / sizeof(filter[0]),
        .filter = filter,
    };
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    // Without no_new_privs an unprivileged process may not install a filter.
    if (sigaction(SIGSYS, &sa, NULL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        static const char msg[] = "grade-guard: cannot install the seccomp filter: not graded\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(125);
    }
}

// .preinit_array runs before every constructor of the program, in link
// order: linked first, this runs first.
__attribute__((section(".preinit_array"), used)) static void (*const guard_first)(void) = guard;
