/*
 * 02-mmap-rings/mmap-rings.c - stage 2: mapping the rings by hand
 *
 * Sets up a small ring, maps its SQ ring, CQ ring and SQE array with
 * mmap(2) (uring.h: ring_map), then pushes COUNT no-op requests through
 * it and prints every completion.  COUNT may be far larger than the ring:
 * the head and tail indexes wrap, a full SQ is submitted rather than
 * overrun, and no more requests are in flight than the CQ can hold.
 * New since 01-syscalls: the mapping, SQEs and CQEs, memory ordering.
 * Read alongside docs/02-mmap-rings.md.   usage: ./mmap-rings [-v] [COUNT]
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "die.h"
#include "uring.h"

// Deliberately tiny, so that even COUNT = 100 wraps the indexes and fills
// the SQ many times over.  The kernel makes the CQ twice as large.
#define RING_ENTRIES 4

struct options {
    unsigned long count;  // how many NOPs to push through the ring
    bool verbose;         // show the indexes as they move
};

static struct options parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, 'h'},
        {"verbose", no_argument, 0, 'v'},
        {0, 0, 0, 0},
    };
    struct options o = {.count = 4, .verbose = false};
    usage_line = "[-v] [COUNT]";
    // We say what is wrong ourselves, in the usual "mmap-rings: ..." form.
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hv", longopts, 0)) != -1) {
        if (c == 'h')
            usage_help();
        else if (c == 'v')
            o.verbose = true;
        else if (optopt)
            usage_error("unknown option '-%c'", optopt);
        else
            usage_error("unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind > 1)
        usage_error("too many arguments");
    if (argc - optind == 1) {
        long long n = parse_count(argv[optind], 1, LLONG_MAX);
        if (n < 0)
            usage_error("COUNT must be a number of at least 1, not '%s'",
                        argv[optind]);
        o.count = (unsigned long)n;
    }
    return o;
}

// With -v, print the four indexes.  They are free-running counters: the
// slot is index & mask, and tail - head is how full the ring is.
static void show_indexes(const struct ring *r, const char *when)
{
    printf("  %-9s sq head=%u tail=%u (queued locally %u)  "
           "cq head=%u tail=%u\n",
           when, __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE),
           __atomic_load_n(r->sq_tail, __ATOMIC_RELAXED),
           r->sq_tail_local - __atomic_load_n(r->sq_tail, __ATOMIC_RELAXED),
           __atomic_load_n(r->cq_head, __ATOMIC_RELAXED),
           __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE));
}

// Submit what is queued; with wait, also wait for at least one CQE.
static void submit(struct ring *r, bool wait, bool verbose)
{
    if (verbose)
        show_indexes(r, "queued");
    int ret = ring_submit(r, wait ? 1 : 0);
    if (ret < 0)
        die_err(-ret, "io_uring_enter");
    if (verbose)
        show_indexes(r, "submitted");
}

// Push o->count NOPs through the ring.  Two budgets bound the loop:
//  - the SQ holds at most sq_entries SQEs between two submissions, so a
//    full SQ is submitted (without waiting) to make room;
//  - the CQ holds at most cq_entries CQEs, so we never have more than
//    that in flight, and the CQ cannot overflow.
// Returns how many completions carried an error.
static unsigned long run_nops(struct ring *r, const struct options *o)
{
    unsigned long next = 0, done = 0, failed = 0;
    unsigned in_flight = 0;
    while (done < o->count) {
        while (next < o->count && in_flight < r->cq_entries) {
            struct io_uring_sqe *sqe = sq_get(r);
            if (!sqe) {
                // SQ full: hand it to the kernel to make room.  If it is
                // still full, the kernel took nothing and wants the CQ
                // reaped first (ring_submit() returns only then): reap,
                // then come back.
                submit(r, false, o->verbose);
                if (sq_space(r) == 0)
                    break;
                continue;
            }
            // A NOP does nothing but complete.  user_data is ours: the
            // kernel copies it into the CQE untouched.
            sqe->opcode = IORING_OP_NOP;
            sqe->user_data = next++;
            in_flight++;
        }
        submit(r, true, o->verbose);
        struct io_uring_cqe cqe;
        while (cq_pop(r, &cqe)) {
            printf("cqe user_data=%llu res=%d flags=%u\n",
                   (unsigned long long)cqe.user_data, cqe.res, cqe.flags);
            failed += cqe.res < 0;
            in_flight--;
            done++;
        }
    }
    return failed;
}

int main(int argc, char **argv)
{
    std_fds_open();
    struct options o = parse_args(argc, argv);
    struct io_uring_params p = {0};
    struct ring r;
    int ret = ring_init(&r, RING_ENTRIES, &p);
    if (ret < 0)
        die_unavailable(-ret, "io_uring_setup");
    if (o.verbose)
        printf("ring: sq_entries=%u cq_entries=%u, %s\n", r.sq_entries,
               r.cq_entries,
               r.cq_map == r.sq_map ? "one mapping for both rings"
                                    : "separate SQ and CQ mappings");
    unsigned long failed = run_nops(&r, &o);
    // Dropped CQEs would mean our in-flight budget is wrong.
    unsigned dropped = __atomic_load_n(r.cq_overflow, __ATOMIC_RELAXED);
    printf("completed %lu NOPs (%lu failed, %u dropped) through a ring of "
           "%u SQEs and %u CQEs\n",
           o.count, failed, dropped, r.sq_entries, r.cq_entries);
    if (o.verbose)
        printf("io_uring_enter: %lu calls\n", r.enters);
    ring_exit(&r);
    return failed || dropped ? EXIT_FAILURE : EXIT_SUCCESS;
}
