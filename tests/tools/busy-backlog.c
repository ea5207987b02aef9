/*
 * tests/tools/busy-backlog.c - an LD_PRELOAD library: the CQ backlog rule
 * of Linux 5.5 to 5.12, on a newer kernel
 *
 *   LD_PRELOAD=tests/tools/busy-backlog.so PROG [ARG]...
 *   BUSY_BACKLOG_LOG=FILE  at exit, append "ebusy N": how many submissions
 *                          it refused
 *   BUSY_BACKLOG_PAUSE_MS=N  sleep N ms after each io_uring_enter that
 *                          waited (IORING_ENTER_GETEVENTS), so completions
 *                          pile up and the next one overflows the CQ
 *
 * When the CQ is full, the kernel keeps further CQEs on a backlog and sets
 * IORING_SQ_CQ_OVERFLOW (IORING_FEAT_NODROP, 5.5+).  Linux 5.5 to 5.12
 * then refuse new requests: io_submit_sqes() first tries to move the
 * backlog into the CQ, and if not all of it fits, the io_uring_enter that
 * submits fails with EBUSY ("if we have a backlog and couldn't flush it
 * all, return BUSY", fs/io_uring.c).  Linux 5.13 dropped the rule.  This
 * library puts it back: it wraps glibc's syscall(3), which the stages call
 * for io_uring_setup and io_uring_enter, maps the SQ ring of each ring the
 * program sets up, and before an io_uring_enter that submits, while the
 * flag is set, does what those kernels did: flush (an io_uring_enter with
 * IORING_ENTER_GETEVENTS and nothing to submit moves the backlog into the
 * CQ as far as it fits), then fail with EBUSY if the flag is still set.
 * Rings with SQPOLL, or without IORING_FEAT_SINGLE_MMAP, are left alone.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#define MAX_FD 4096

// The flags word of each ring's SQ ring, by ring fd.
static unsigned *sq_flags[MAX_FD];
static unsigned long refused;

static long (*real_syscall)(long, ...);

static void report(void)
{
    const char *log = getenv("BUSY_BACKLOG_LOG");
    FILE *f = log ? fopen(log, "a") : 0;
    if (f) {
        fprintf(f, "ebusy %lu\n", refused);
        fclose(f);
    }
}

// A ring was set up on fd: map its SQ ring (a mapping of our own, next to
// the program's) to read the flags.
static void watch(int fd, const struct io_uring_params *p)
{
    if (fd >= MAX_FD || (p->flags & IORING_SETUP_SQPOLL) ||
        !(p->features & IORING_FEAT_SINGLE_MMAP))
        return;
    size_t sq = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    size_t cq = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    void *map = mmap(0, sq > cq ? sq : cq, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd, IORING_OFF_SQ_RING);
    if (map == MAP_FAILED)
        return;
    sq_flags[fd] = (unsigned *)((char *)map + p->sq_off.flags);
    static int once;
    if (!once++)
        atexit(report);
}

static int overflowed(int fd)
{
    return __atomic_load_n(sq_flags[fd], __ATOMIC_ACQUIRE) &
           IORING_SQ_CQ_OVERFLOW;
}

long syscall(long nr, ...)
{
    if (!real_syscall)
        real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    // No system call takes more than six arguments.
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == __NR_io_uring_enter && a[0] >= 0 && a[0] < MAX_FD &&
        sq_flags[a[0]] && a[1] > 0 && overflowed((int)a[0])) {
        real_syscall(__NR_io_uring_enter, a[0], 0L, 0L,
                     (long)IORING_ENTER_GETEVENTS, 0L, 0L);
        if (overflowed((int)a[0])) {
            refused++;
            errno = EBUSY;
            return -1;
        }
    }
    long r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    int saved = errno;
    if (nr == __NR_io_uring_setup && r >= 0)
        watch((int)r, (const struct io_uring_params *)a[1]);
    static long pause_ms = -1;
    if (pause_ms < 0) {
        const char *p = getenv("BUSY_BACKLOG_PAUSE_MS");
        pause_ms = p ? atol(p) : 0;
    }
    if (nr == __NR_io_uring_enter && pause_ms > 0 &&
        (a[3] & IORING_ENTER_GETEVENTS))
        nanosleep(&(struct timespec){.tv_sec = pause_ms / 1000,
                                     .tv_nsec = pause_ms % 1000 * 1000000},
                  0);
    errno = saved;
    return r;
}
