/*
 * uring.h - the three io_uring system calls, by hand
 *
 * glibc has no wrappers for io_uring, so we call syscall(2) with the
 * numbers from <sys/syscall.h>.  Like the kernel (and liburing), these
 * wrappers return -errno on failure instead of setting errno: the same
 * convention a completion uses in cqe->res, so one error path fits both.
 *
 * Born in 01-syscalls; 02-mmap-rings adds the ring mapping and the rules
 * for sharing it with the kernel.  Carried unchanged from 02 on.
 */
#ifndef URING_H
#define URING_H

#include <errno.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "die.h"

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

// One io_uring instance as this process sees it: the fd, plus pointers
// into the memory it shares with the kernel.  Each shared index is
// written by exactly one side; the comment says which.
struct ring {
    int fd;
    unsigned features;          // IORING_FEAT_* the kernel reported
    unsigned setup_flags;       // IORING_SETUP_* we asked for
    unsigned long enters;       // io_uring_enter calls made by ring_submit
    // Submission queue: we produce at the tail, the kernel consumes at the
    // head.  Each slot of sq_array holds the index of an SQE in sqes[].
    unsigned *sq_head;          // kernel: SQEs it has consumed
    unsigned *sq_tail;          // us: SQEs we have published
    unsigned *sq_flags;         // kernel: IORING_SQ_NEED_WAKEUP, _CQ_OVERFLOW
    unsigned *sq_dropped;       // kernel: SQEs skipped for a bad index
    unsigned *sq_array;         // us: ring slot -> SQE index
    unsigned sq_mask;           // sq_entries - 1, written once at setup
    unsigned sq_entries;
    unsigned sq_tail_local;     // SQEs we have filled; >= *sq_tail
    struct io_uring_sqe *sqes;
    // Completion queue: the kernel produces at the tail, we consume at
    // the head.  The CQEs live inside the CQ ring itself.
    unsigned *cq_head;          // us: CQEs we have consumed
    unsigned *cq_tail;          // kernel: CQEs it has posted
    unsigned *cq_overflow;      // kernel: CQEs dropped (5.5+: only if out of memory)
    unsigned cq_mask;
    unsigned cq_entries;
    struct io_uring_cqe *cqes;
    // The mappings, kept for munmap.  With IORING_FEAT_SINGLE_MMAP the
    // two rings share one mapping and cq_map == sq_map.
    void *sq_map, *cq_map;
    size_t sq_map_size, cq_map_size, sqes_size;
};

// Map one region of the ring fd.  MAP_POPULATE pre-faults the pages, so
// the first submission does not pay for page faults.
static inline void *ring_mmap(int fd, size_t size, off_t offset)
{
    void *p = mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                   fd, offset);
    if (p == MAP_FAILED)
        die("mmap of the ring at offset 0x%llx", (unsigned long long)offset);
    return p;
}

// Map the SQ ring, the CQ ring and the SQE array of a ring that
// io_uring_setup created, using only the sizes and offsets it reported:
// none of them is fixed, so none is hard-coded.
static inline void ring_map(struct ring *r, const struct io_uring_params *p)
{
    r->sq_map_size = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    r->cq_map_size = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    // Linux 5.4+ lays both rings out in one region: map it once, as large
    // as the larger of the two, and use the same base for both.
    bool single = p->features & IORING_FEAT_SINGLE_MMAP;
    if (single && r->cq_map_size > r->sq_map_size)
        r->sq_map_size = r->cq_map_size;
    if (single)
        r->cq_map_size = r->sq_map_size;
    r->sq_map = ring_mmap(r->fd, r->sq_map_size, IORING_OFF_SQ_RING);
    r->cq_map = single ? r->sq_map
                       : ring_mmap(r->fd, r->cq_map_size, IORING_OFF_CQ_RING);
    r->sqes_size = p->sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = ring_mmap(r->fd, r->sqes_size, IORING_OFF_SQES);

    char *sq = r->sq_map, *cq = r->cq_map;
    r->sq_head = (unsigned *)(sq + p->sq_off.head);
    r->sq_tail = (unsigned *)(sq + p->sq_off.tail);
    r->sq_flags = (unsigned *)(sq + p->sq_off.flags);
    r->sq_dropped = (unsigned *)(sq + p->sq_off.dropped);
    r->sq_array = (unsigned *)(sq + p->sq_off.array);
    // The mask and size never change after setup, so read them once.
    r->sq_mask = *(unsigned *)(sq + p->sq_off.ring_mask);
    r->sq_entries = *(unsigned *)(sq + p->sq_off.ring_entries);
    r->sq_tail_local = *r->sq_tail;

    r->cq_head = (unsigned *)(cq + p->cq_off.head);
    r->cq_tail = (unsigned *)(cq + p->cq_off.tail);
    r->cq_overflow = (unsigned *)(cq + p->cq_off.overflow);
    r->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
    r->cq_mask = *(unsigned *)(cq + p->cq_off.ring_mask);
    r->cq_entries = *(unsigned *)(cq + p->cq_off.ring_entries);

    // The kernel finds an SQE through the indirection array: slot
    // (head & mask) of sq_array names the SQE to run.  We always use SQE i
    // for ring slot i, so fill the array once (liburing does the same).
    for (unsigned i = 0; i < r->sq_entries; i++)
        r->sq_array[i] = i;
}

// Create a ring of at least `entries` SQEs and map it.  *p is input (the
// caller zeroes it and may set flags) and output (what the kernel chose).
// Returns 0, or the -errno of io_uring_setup so the caller can tell
// "io_uring unavailable" (ENOSYS, EPERM) from other refusals.
static inline int ring_init(struct ring *r, unsigned entries,
                            struct io_uring_params *p)
{
    memset(r, 0, sizeof(*r));
    int fd = sys_io_uring_setup(entries, p);
    if (fd < 0)
        return fd;
    r->fd = fd;
    r->features = p->features;
    r->setup_flags = p->flags;
    ring_map(r, p);
    return 0;
}

// Tear down in the order liburing does: unmap, then close.  The ring
// dies only when the fd *and* every mapping are gone, so both matter.
// Call it only with nothing in flight: the kernel may still write into
// buffers of requests it owns.
static inline void ring_exit(struct ring *r)
{
    munmap(r->sqes, r->sqes_size);
    if (r->cq_map != r->sq_map)
        munmap(r->cq_map, r->cq_map_size);
    munmap(r->sq_map, r->sq_map_size);
    close(r->fd);
}

// How many SQEs can be filled before the SQ is full.  Indexes are
// free-running 32-bit counters: tail - head is the fill level even after
// they wrap around 2^32.
static inline unsigned sq_space(const struct ring *r)
{
    // Acquire: pairs with the kernel's release of sq_head.  Once we see
    // a slot as consumed, the kernel has finished reading that SQE, so
    // we may overwrite it.
    unsigned head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    return r->sq_entries - (r->sq_tail_local - head);
}

// Return the next free SQE, zeroed, or NULL when the SQ is full (submit
// or reap, then try again).  The kernel cannot see it until sq_publish().
// Zeroing matters: stale flags or fields from the slot's last use would
// link requests by accident or fail with -EINVAL.
static inline struct io_uring_sqe *sq_get(struct ring *r)
{
    if (sq_space(r) == 0)
        return 0;
    struct io_uring_sqe *sqe = &r->sqes[r->sq_tail_local & r->sq_mask];
    r->sq_tail_local++;
    memset(sqe, 0, sizeof(*sqe));
    return sqe;
}

// Make every SQE filled so far visible to the kernel, and return how
// many SQEs are published but not yet consumed.
static inline unsigned sq_publish(struct ring *r)
{
    // Release: the SQE contents must be visible before the new tail is,
    // or the kernel could read a half-written SQE.
    __atomic_store_n(r->sq_tail, r->sq_tail_local, __ATOMIC_RELEASE);
    return r->sq_tail_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
}

// How many CQEs are waiting to be reaped.
static inline unsigned cq_ready(const struct ring *r)
{
    // Acquire: pairs with the kernel's release of cq_tail, so the CQEs
    // below the tail are fully written before we read them.  A plain
    // load could also be hoisted out of a polling loop by the compiler.
    unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    // Only we write the head, so a relaxed load is enough.
    return tail - __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);
}

// Copy the oldest CQE into *cqe and hand its slot back to the kernel.
// Returns false when the CQ is empty.  Copying first is the point: once
// the head moves, the kernel may overwrite the slot.
static inline bool cq_pop(struct ring *r, struct io_uring_cqe *cqe)
{
    if (cq_ready(r) == 0)
        return false;
    unsigned head = __atomic_load_n(r->cq_head, __ATOMIC_RELAXED);
    *cqe = r->cqes[head & r->cq_mask];
    // Release: our reads of the CQE must complete before the kernel can
    // see the slot as free and write a new CQE into it.
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return true;
}

// True when the kernel holds CQEs that did not fit in a full CQ
// (IORING_SQ_CQ_OVERFLOW, Linux 5.8+).  They reach the ring only on the
// next io_uring_enter with IORING_ENTER_GETEVENTS.
static inline bool cq_overflowed(const struct ring *r)
{
    // Relaxed is enough for a hint we act on by entering the kernel.
    return __atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) &
           IORING_SQ_CQ_OVERFLOW;
}

// Enter the kernel, counting the calls: system calls are what batching
// saves, so every stage can report how many it made.
static inline int ring_enter(struct ring *r, unsigned to_submit,
                             unsigned min_complete, unsigned flags)
{
    r->enters++;
    return sys_io_uring_enter(r->fd, to_submit, min_complete, flags);
}

// Publish the queued SQEs, submit all of them, and, when wait_nr > 0,
// return only once at least wait_nr CQEs are ready to reap.  The caller
// must have at least wait_nr requests queued, in flight or completed
// (or this sleeps for ever), and wait_nr <= cq_entries (the kernel caps
// the wait there).
// Returns 0, or -errno.  It loops over the cases where io_uring_enter
// returns early without saying so:
//  - EINTR (a signal, or SIGSTOP/SIGCONT when a tracer attaches) is
//    never restarted by the kernel, even with SA_RESTART;
//  - a short submission (an SQE failed to prepare) skips the wait;
//  - a signal during the wait is hidden behind the submit count.
// EAGAIN and EBUSY mean the kernel took none of the SQEs, and
// io_uring_enter(2) says of both: wait for some completions and try
// again.  EAGAIN: it had no memory for a request.  Requests are freed as
// they complete, not as their CQEs are reaped, so completions are what
// help.  EBUSY (Linux 5.5 to 5.12 only; later kernels never refuse for
// this): it holds CQEs that did not fit in the CQ and refuses every
// submission until it can move them all in, so the CQ is full and only
// reaping makes room.  An enter whose submission fell short neither waits
// nor runs the completions that IORING_SETUP_DEFER_TASKRUN keeps for
// later, so trying again at once could fail for ever.  Instead:
//  - the CQ is full, or the caller waits and enough CQEs are ready:
//    return 0 with the SQEs still queued.  The caller reaps, then calls
//    again (so code that reaps must never wait here for room in the SQ);
//  - otherwise pause 1 ms, enter with nothing to submit so that the
//    completions that came meanwhile are run and posted (GETEVENTS with
//    min_complete 0 returns at once), and try again; after a second of
//    refusals, pass the error up.
// Why not sleep in io_uring_enter until a completion comes?  The SQEs
// just refused may be all the caller has: then none would ever come.
static inline int ring_submit(struct ring *r, unsigned wait_nr)
{
    unsigned refusals = 0;
    sq_publish(r);
    for (;;) {
        unsigned to_submit =
            r->sq_tail_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
        unsigned ready = cq_ready(r);
        bool overflow = cq_overflowed(r);
        // Done: everything submitted and enough to reap.  An empty CQ
        // with CQEs parked in the kernel is not done: fetch them.
        if (to_submit == 0 && ready >= wait_nr && (ready > 0 || !overflow))
            return 0;
        unsigned min_complete = ready < wait_nr ? wait_nr : 0;
        unsigned flags = (min_complete || overflow) ? IORING_ENTER_GETEVENTS : 0;
        int ret = ring_enter(r, to_submit, min_complete, flags);
        if (ret == -EINTR || ret >= 0)
            continue;
        if (ret != -EAGAIN && ret != -EBUSY)
            return ret;
        ready = cq_ready(r);
        if (ready == r->cq_entries || (wait_nr > 0 && ready >= wait_nr))
            return 0;
        if (++refusals > 1000)
            return ret;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, 0);
        // Its own errors show in the next try, so they can be ignored.
        ring_enter(r, 0, 0, IORING_ENTER_GETEVENTS);
    }
}

#endif
