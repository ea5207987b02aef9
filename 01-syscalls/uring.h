/*
 * uring.h - the three io_uring system calls, by hand
 *
 * glibc has no wrappers for io_uring, so we call syscall(2) with the
 * numbers from <sys/syscall.h>.  Like the kernel (and liburing), these
 * wrappers return -errno on failure instead of setting errno: the same
 * convention a completion uses in cqe->res, so one error path fits both.
 *
 * Born in 01-syscalls; 02-mmap-rings adds the ring mapping.
 */
#ifndef URING_H
#define URING_H

#include <errno.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

// Set up a context with room for at least `entries` SQEs.  The kernel
// reads p->flags (and a few more inputs), then fills in the rest of *p:
// the real ring sizes, the feature bits and the offsets for mmap(2).
// Returns the ring's file descriptor, or -errno.
static inline int sys_io_uring_setup(unsigned entries,
                                     struct io_uring_params *p)
{
    long r = syscall(__NR_io_uring_setup, entries, p);
    return r < 0 ? -errno : (int)r;
}

// Submit up to `to_submit` SQEs, then (with IORING_ENTER_GETEVENTS) wait
// until at least `min_complete` CQEs are in the CQ ring.  Returns how many
// SQEs the kernel consumed, or -errno.
static inline int sys_io_uring_enter(int fd, unsigned to_submit,
                                     unsigned min_complete, unsigned flags)
{
    long r = syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags,
                     (sigset_t *)0, (size_t)0);
    return r < 0 ? -errno : (int)r;
}

// Register resources with a ring, or ask it things (IORING_REGISTER_PROBE).
// Returns 0 (or a count) on success, or -errno.
static inline int sys_io_uring_register(int fd, unsigned opcode, void *arg,
                                        unsigned nr_args)
{
    long r = syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
    return r < 0 ? -errno : (int)r;
}

#endif
