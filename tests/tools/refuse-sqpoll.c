/*
 * tests/tools/refuse-sqpoll.c - an LD_PRELOAD library: a kernel that
 * refuses SQPOLL
 *
 *   LD_PRELOAD=tests/tools/refuse-sqpoll.so PROG [ARG]...
 *
 * Wraps glibc's syscall(3), which the stages call for io_uring_setup, and
 * fails any setup that asks for IORING_SETUP_SQPOLL with EPERM, as Linux
 * before 5.13 does for a process without CAP_SYS_ADMIN (or CAP_SYS_NICE
 * on 5.11 and 5.12).  A seccomp filter cannot do this: it sees the
 * registers, not the params struct the flags live in.
 *
 * REFUSE_SQPOLL_HIDE_FEATURES=MASK also clears those IORING_FEAT_* bits
 * from what every other io_uring_setup reports: 1024 (RSRC_TAGS) makes
 * this kernel look older than 5.13, as sqpoll's message must then say.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>

long syscall(long nr, ...)
{
    static long (*real)(long, ...);
    if (!real)
        real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    // No system call takes more than six arguments.
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == __NR_io_uring_setup &&
        (((struct io_uring_params *)a[1])->flags & IORING_SETUP_SQPOLL)) {
        errno = EPERM;
        return -1;
    }
    long r = real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    const char *hide = getenv("REFUSE_SQPOLL_HIDE_FEATURES");
    if (nr == __NR_io_uring_setup && r >= 0 && hide)
        ((struct io_uring_params *)a[1])->features &=
            ~(unsigned)strtoul(hide, 0, 0);
    return r;
}
