/*
 * 01-syscalls/syscalls.c - stage 1: the three system calls
 *
 * Asks the kernel for an io_uring instance with the raw io_uring_setup(2),
 * prints everything the kernel filled in (ring sizes, feature bits, the
 * offsets a program needs to map the rings), asks io_uring_register(2)
 * which operations this kernel supports, and calls io_uring_enter(2) once
 * with nothing to do.  Nothing is mapped yet: that is 02-mmap-rings.
 * Read alongside docs/01-syscalls.md.           usage: ./syscalls [ENTRIES]
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "die.h"
#include "uring.h"

// Names of the IORING_FEAT_* bits, indexed by bit number.  Our own table,
// not the header's macros: <linux/io_uring.h> describes the kernel the
// headers came from (6.1 on Debian 12), not the kernel we run on, which
// may set bits the header has never heard of.  Unknown bits print in hex.
static const char *const feature_names[] = {
    "SINGLE_MMAP",      // 5.4: one mmap serves both rings
    "NODROP",           // 5.5: a full CQ parks CQEs instead of dropping
    "SUBMIT_STABLE",    // 5.5: data read at submit may go once enter returns
    "RW_CUR_POS",       // 5.6: offset -1 means "the file position"
    "CUR_PERSONALITY",  // 5.6
    "FAST_POLL",        // 5.7: blocked socket I/O waits on poll, not a thread
    "POLL_32BITS",      // 5.9
    "SQPOLL_NONFIXED",  // 5.11: SQPOLL without registered files
    "EXT_ARG",          // 5.11: io_uring_enter can wait with a timeout
    "NATIVE_WORKERS",   // 5.12: workers are threads of this process
    "RSRC_TAGS",        // 5.13
    "CQE_SKIP",         // 5.17
    "LINKED_FILE",      // 5.17
    "REG_REG_RING",     // 6.3
    "RECVSEND_BUNDLE",  // 6.10
    "MIN_TIMEOUT",      // 6.12
    "RW_ATTR",          // 6.14
    "NO_IOWAIT",        // 6.15
};

// Names of the IORING_OP_* opcodes, indexed by opcode.  Sized by this
// table, never by IORING_OP_LAST, for the same reason as above.
static const char *const opcode_names[] = {
    "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED",
    "POLL_ADD", "POLL_REMOVE", "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG",
    "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL", "LINK_TIMEOUT",
    "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX",
    "READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2",
    "EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE",
    "SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT",
    "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET",
    "URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID",
    "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV", "FIXED_FD_INSTALL",
    "FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED",
    "WRITEV_FIXED", "PIPE",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

// Parse the command line: an optional ENTRIES, default 8.  Anything that
// is not a plain unsigned 32-bit number is a usage error; a number the
// kernel dislikes (0, 40000) is the kernel's to refuse, so it goes through.
static unsigned parse_args(int argc, char **argv)
{
    usage_line = "[ENTRIES]";
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        usage_help();
    if (argc > 2)
        usage_error("too many arguments");
    if (argc < 2)
        return 8;
    long long n = parse_count(argv[1], 0, UINT_MAX);
    if (n < 0)
        usage_error("ENTRIES must be a number from 0 to %u, not '%s'",
                    UINT_MAX, argv[1]);
    return (unsigned)n;
}

// Create the ring.  The params struct must start zeroed: the kernel
// rejects non-zero reserved fields and unknown flags with EINVAL, and
// reads flags, sq_thread_cpu, sq_thread_idle and cq_entries as inputs.
static int setup(unsigned entries, struct io_uring_params *p)
{
    memset(p, 0, sizeof(*p));
    int fd = sys_io_uring_setup(entries, p);
    if (fd == -EINVAL) {
        warn_err(EINVAL, "io_uring_setup(entries=%u)", entries);
        fprintf(stderr, "  The kernel takes 1 to 32768 entries and rounds "
                        "up to a power of two\n  (IORING_SETUP_CLAMP would "
                        "clamp a larger number instead).\n");
        exit(EXIT_FAILURE);
    }
    if (fd < 0)
        die_unavailable(-fd, "io_uring_setup");
    return fd;
}

// Print what io_uring_setup wrote into *p.  Everything here is an output
// of the kernel: the sizes are rounded up, and the offsets say where each
// field sits inside the rings we will map in stage 02.
static void print_params(int fd, const struct io_uring_params *p)
{
    char link[64] = "?";
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n > 0)
        link[n] = '\0';

    printf("syscalls: io_uring_setup=%d io_uring_enter=%d "
           "io_uring_register=%d\n",
           __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register);
    printf("fd: %d\n", fd);
    printf("fd_target: %s\n", link);
    printf("sq_entries: %u\n", p->sq_entries);
    printf("cq_entries: %u\n", p->cq_entries);
    printf("features_hex: 0x%x\n", p->features);
    printf("features:");
    for (unsigned bit = 0; bit < 32; bit++) {
        if (!(p->features & (1U << bit)))
            continue;
        if (bit < COUNT_OF(feature_names))
            printf(" %s", feature_names[bit]);
        else
            printf(" 0x%x", 1U << bit);
    }
    printf("\n");

    const struct io_sqring_offsets *s = &p->sq_off;
    printf("sq_off.head: %u\n", s->head);
    printf("sq_off.tail: %u\n", s->tail);
    printf("sq_off.ring_mask: %u\n", s->ring_mask);
    printf("sq_off.ring_entries: %u\n", s->ring_entries);
    printf("sq_off.flags: %u\n", s->flags);
    printf("sq_off.dropped: %u\n", s->dropped);
    printf("sq_off.array: %u\n", s->array);

    const struct io_cqring_offsets *c = &p->cq_off;
    printf("cq_off.head: %u\n", c->head);
    printf("cq_off.tail: %u\n", c->tail);
    printf("cq_off.ring_mask: %u\n", c->ring_mask);
    printf("cq_off.ring_entries: %u\n", c->ring_entries);
    printf("cq_off.overflow: %u\n", c->overflow);
    printf("cq_off.cqes: %u\n", c->cqes);
    printf("cq_off.flags: %u\n", c->flags);
}

// Ask which opcodes this kernel implements.  The probe (Linux 5.6+) fills
// at most nr_args entries, so offer room for 256: more than any kernel
// has.  The answer is about the running kernel, whatever the headers say.
static void print_probe(int fd)
{
    enum { NR = 256 };
    size_t size = sizeof(struct io_uring_probe) +
                  NR * sizeof(struct io_uring_probe_op);
    struct io_uring_probe *probe = calloc(1, size);
    if (!probe)
        die("calloc");
    int r = sys_io_uring_register(fd, IORING_REGISTER_PROBE, probe, NR);
    if (r == -EINVAL) {
        // Linux 5.1-5.5 had no probe: the opcode itself is unknown.
        printf("probe: not supported (Linux 5.6+)\n");
        free(probe);
        return;
    }
    if (r < 0)
        die_err(-r, "io_uring_register(IORING_REGISTER_PROBE)");

    printf("probe.last_op: %u\n", probe->last_op);
    printf("probe.ops_len: %u\n", probe->ops_len);
    printf("opcodes:");
    for (unsigned i = 0; i < probe->ops_len; i++) {
        if (!(probe->ops[i].flags & IO_URING_OP_SUPPORTED))
            continue;
        if (i < COUNT_OF(opcode_names))
            printf(" %s", opcode_names[i]);
        else
            printf(" OP_%u", i);
    }
    printf("\n");
    free(probe);
}

// The third call.  With nothing to submit and no IORING_ENTER_GETEVENTS it
// returns at once: 0 SQEs consumed.  (With GETEVENTS and min_complete 1 it
// would sleep forever, since nothing is in flight.)
static void enter_once(int fd)
{
    int r = sys_io_uring_enter(fd, 0, 0, 0);
    if (r < 0)
        die_err(-r, "io_uring_enter");
    printf("io_uring_enter: %d\n", r);
}

int main(int argc, char **argv)
{
    std_fds_open();
    unsigned entries = parse_args(argc, argv);
    struct io_uring_params p;
    int fd = setup(entries, &p);
    print_params(fd, &p);
    print_probe(fd);
    enter_once(fd);
    // The ring lives until its last reference goes: this fd (we mapped
    // nothing).  Closing it frees the ring.
    close(fd);
    return 0;
}
