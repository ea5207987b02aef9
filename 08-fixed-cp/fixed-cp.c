/*
 * 08-fixed-cp/fixed-cp.c - stage 8: registered files and buffers
 *
 * The copy of 07-link-cp, with its two files and its buffers registered
 * with the ring once, at the start (IORING_REGISTER_FILES and
 * IORING_REGISTER_BUFFERS, Linux 5.1).  Every request then names a file by
 * its index in the ring's table (IOSQE_FIXED_FILE) instead of an fd, and a
 * buffer by its index (IORING_OP_READ_FIXED, IORING_OP_WRITE_FIXED with
 * buf_index): the kernel looks the file up and pins the buffer's pages once,
 * not for every request.  -d opens both files with O_DIRECT, past the page
 * cache, with buffers, offsets and lengths aligned as the files require.
 * New since 07-link-cp: registration and its limits (RLIMIT_MEMLOCK,
 * buffer count and size), fixed requests, O_DIRECT, and unregistering in
 * the right order at the end.
 * Read alongside docs/08-fixed-cp.md.
 * usage: ./fixed-cp [-q DEPTH] [-b BYTES] [-t MS] [-d] [-v] SRC DST
 */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "die.h"
#include "uring.h"

// Chosen by measurement (docs/04-cp.md): copying a cached 1 GiB file on
// ext4, 8 blocks of 256 KiB were the fastest and the steadiest of the
// DEPTH x BYTES tried; one in flight was 7 times slower, and blocks of
// 512 KiB or more got slower again.  2 MiB of buffers in all.
#define DEFAULT_DEPTH 8
#define DEFAULT_BYTES (256 * 1024)
// Limits that keep every count inside the types the kernel uses (sqe->len
// is 32 bits, cqe->res an int) and the memory bounded.
#define MAX_DEPTH 4096
#define MAX_BYTES (1 << 30)
#define MAX_MEMORY (1LL << 30)
#define MAX_DEADLINE_MS 3600000
// With -d, BYTES must be a multiple of this: the largest alignment O_DIRECT
// asks of a file offset on common devices (their logical block size).
#define DIRECT_BYTES 4096

// The indexes of SRC and DST in the ring's table of registered files: with
// IOSQE_FIXED_FILE, sqe->fd is one of these, not a file descriptor.
#define FIXED_SRC 0
#define FIXED_DST 1

// user_data of the two requests that are not a block's read or write.
#define UD_TIMEOUT UINT64_MAX
#define UD_CANCEL (UINT64_MAX - 1)

// A block goes round: IDLE -> CHAINED (its read and its write in flight,
// linked) -> IDLE.  A chain that breaks falls back to 04's way: READING
// (maybe again, for the rest of a short read) -> WRITING (maybe again, for
// the rest of a short write) -> IDLE, one request at a time; and so does
// a block that cannot be chained (below).  WAITING is for a DST that must
// be written in order (a pipe, a device): the block's data is ready, and
// the blocks before it are not.
enum block_state { IDLE, READING, WAITING, WRITING, CHAINED };

// The requests a block can have in flight, and the low two bits of their
// user_data (the block's index is above them): its read, its write, and
// the deadline (IORING_OP_LINK_TIMEOUT) of each.
enum req_kind { K_READ, K_WRITE, K_READ_DEADLINE, K_WRITE_DEADLINE, K_KINDS };
#define DUE(kind) (1u << (kind))

struct block {
    enum block_state state;
    char *buf;         // BYTES bytes of the one buffer allocation
    off_t off;         // file offset of buf[0], in SRC and in DST
    size_t len;        // bytes read into buf
    size_t written;    // bytes of those already written
    size_t want;       // CHAINED: the length of the chain's read and write
    unsigned due;      // DUE(kind) of each request whose CQE is to come
    int res[K_KINDS];  // what each request's CQE said
    unsigned long req[K_KINDS]; // sequence numbers of the requests
};

struct cp {
    struct ring ring;
    unsigned depth; // -q: blocks in flight, at most
    size_t bytes;   // -b: bytes per block
    unsigned deadline_ms;               // -t: 0, or a deadline per request
    struct __kernel_timespec deadline; // the same, for LINK_TIMEOUT
    bool skip;      // IOSQE_CQE_SKIP_SUCCESS on chained reads (5.17+)
    bool direct;    // -d: both files opened with O_DIRECT
    size_t align;   // -d: offsets and lengths are multiples of this
    struct iovec *iovecs; // the buffers as registered: one per block
    bool verbose;   // -v: log every submission, completion
    const char *src, *dst;
    char *dst_path; // DST/basename(SRC), when DST is a folder
    int src_fd, dst_fd;
    bool src_seekable; // regular file with a size: read ahead
    off_t src_size;    // its st_size: how far to read ahead
    mode_t src_mode;
    bool dst_stream;      // DST is not a regular file: in order
    off_t next_off;       // offset of the next new read
    off_t write_off;      // stream DST: offset of the next write
    off_t eof;            // where SRC ends, once a read found it, or -1
    off_t hole;           // first byte of DST a dropped block left, or -1
    off_t dst_size;       // end of the furthest write that landed
    unsigned reading;     // reads in flight
    bool writing;         // stream DST: a write is in flight
    struct block *blocks; // depth of them
    unsigned in_flight;   // SQEs whose CQE has not arrived
    int err;              // a write failed: stop, drain, exit 1
    const char *err_what; // what failed on DST: "write"
    int read_err;         // a read failed at eof: finish below it, exit 1
    bool cancelled;
    unsigned delay_ms;       // CP_DELAY_FIRST: delay block 0's read
    unsigned long submitted; // requests so far: the next sequence number
    unsigned long completed, reordered;
    unsigned long cqes, chains, broken; // -v: CQEs reaped, chains, broken
    unsigned long timeout_req; // sequence number of the timeout
    bool timeout_pending;      // the timeout is in flight
    bool delay_removed;        // a TIMEOUT_REMOVE for it was queued
    struct timespec start;
};

static void parse_args(struct cp *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    usage_line = "[-q DEPTH] [-b BYTES] [-t MS] [-d] [-v] SRC DST";
    c->depth = DEFAULT_DEPTH;
    c->bytes = DEFAULT_BYTES;
    opterr = 0;
    int opt;
    long long n;
    while ((opt = getopt_long(argc, argv, "hq:b:t:dv", longopts, 0)) != -1) {
        if (opt == 'h') {
            usage_help();
        } else if (opt == 'q') {
            if ((n = parse_count(optarg, 1, MAX_DEPTH)) < 0)
                usage_error("DEPTH must be a number from 1 to %d, not '%s'",
                            MAX_DEPTH, optarg);
            c->depth = (unsigned)n;
        } else if (opt == 'b') {
            if ((n = parse_count(optarg, 1, MAX_BYTES)) < 0)
                usage_error("BYTES must be a number from 1 to %d, not '%s'",
                            MAX_BYTES, optarg);
            c->bytes = (size_t)n;
        } else if (opt == 't') {
            if ((n = parse_count(optarg, 1, MAX_DEADLINE_MS)) < 0)
                usage_error("MS must be a number from 1 to %d, not '%s'",
                            MAX_DEADLINE_MS, optarg);
            c->deadline_ms = (unsigned)n;
            c->deadline.tv_sec = n / 1000;
            c->deadline.tv_nsec = (n % 1000) * 1000000L;
        } else if (opt == 'd') {
            c->direct = true;
        } else if (opt == 'v') {
            c->verbose = true;
        } else if (strncmp(argv[optind - 1], "--", 2) == 0) {
            // A long option: getopt puts its short code in optopt.
            usage_error("unknown option '%s'", argv[optind - 1]);
        } else if (optopt) {
            usage_error("option '-%c' %s", optopt,
                        strchr("qbt", optopt) ? "needs a value" : "is unknown");
        } else {
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        usage_error("%s", argc - optind < 2 ? "missing operand"
                                            : "too many operands");
    if ((long long)c->depth * (long long)c->bytes > MAX_MEMORY)
        usage_error("DEPTH x BYTES must be at most 1 GiB of buffers");
    if (c->direct && c->bytes % DIRECT_BYTES)
        usage_error("with -d, BYTES must be a multiple of %d", DIRECT_BYTES);
    c->src = argv[optind];
    c->dst = argv[optind + 1];
    const char *delay = getenv("CP_DELAY_FIRST");
    if (delay && *delay) {
        if ((n = parse_count(delay, 1, 60000)) < 0)
            usage_error("CP_DELAY_FIRST must be milliseconds, 1 to 60000");
        c->delay_ms = (unsigned)n;
    }
}

// -d: the file just opened with O_DIRECT must be a regular file, and its
// file system must really do direct I/O.  statx(STATX_DIOALIGN) (Linux 6.1)
// says which alignment it needs for offsets and lengths (0: no direct I/O
// for this file); where it does not say (an older kernel, tmpfs), the page
// size is safe.  The largest alignment of the two files wins.
static void direct_check(struct cp *c, int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat %s", path);
    if (!S_ISREG(st.st_mode))
        die_err(0, "-d: %s is not a regular file", path);
    size_t align = (size_t)sysconf(_SC_PAGESIZE);
#ifdef STATX_DIOALIGN
    struct statx stx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN)) {
        if (stx.stx_dio_offset_align == 0)
            die_err(EINVAL, "-d: %s: its file system does no direct I/O",
                    path);
        align = stx.stx_dio_offset_align;
    }
#endif
    if (align > c->align)
        c->align = align;
    if (c->bytes % c->align)
        die_err(EINVAL, "-d: %s needs BYTES to be a multiple of %zu", path,
                c->align);
}

// open(2) with O_DIRECT fails with EINVAL where the file system cannot do
// direct I/O (/proc, sysfs, tmpfs before Linux 6.6): say so.
static void die_open(const char *path, bool direct)
{
    if (direct && errno == EINVAL)
        die("open %s with O_DIRECT (direct I/O is not supported there)",
            path);
    die("open %s", path);
}

// Open SRC and decide how to read it, as 03-cat does: a regular file with
// a size is read at explicit offsets, several blocks at once; anything else
// (a pipe, a device, a /proc file whose st_size is 0) one read at a time.
static void open_src(struct cp *c)
{
    c->src_fd =
        open(c->src, O_RDONLY | O_CLOEXEC | (c->direct ? O_DIRECT : 0));
    if (c->src_fd < 0)
        die_open(c->src, c->direct);
    struct stat st;
    if (fstat(c->src_fd, &st) < 0)
        die("fstat %s", c->src);
    if (S_ISDIR(st.st_mode))
        die_err(EISDIR, "open %s", c->src);
    if (c->direct)
        direct_check(c, c->src_fd, c->src);
    c->src_seekable = S_ISREG(st.st_mode) && st.st_size > 0;
    c->src_size = st.st_size;
    c->src_mode = st.st_mode & 0777;
    c->eof = -1;
    c->hole = -1;
}

// DST may be a directory: then the copy goes into it, under SRC's name.
// Copying a file onto itself (same device and inode, whatever the path)
// would truncate it before reading it: refuse, before touching anything.
static void resolve_dst(struct cp *c)
{
    struct stat st, src_st;
    if (stat(c->dst, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *copy = strdup(c->src);
        if (!copy ||
            asprintf(&c->dst_path, "%s/%s", c->dst, basename(copy)) < 0)
            die("%s", c->dst);
        free(copy);
        c->dst = c->dst_path;
    }
    if (stat(c->dst, &st) == 0 && fstat(c->src_fd, &src_st) == 0 &&
        st.st_dev == src_st.st_dev && st.st_ino == src_st.st_ino)
        die_err(0, "%s and %s are the same file", c->src, c->dst);
}

// ENOMEM from io_uring_setup or IORING_REGISTER_BUFFERS: the memory the
// kernel pins for a ring is charged to RLIMIT_MEMLOCK, per user (all of the
// user's processes together), unless the process has CAP_IPC_LOCK.  That
// is always true of registered buffers; of the rings themselves it was
// true up to Linux 5.11 and is true again on 6.18 (measured: an 8-entry
// ring fails under ulimit -l 4).  Say so, with the limit, and what to do.
__attribute__((noreturn)) static void
die_memlock(int err, const char *what)
{
    struct rlimit rl;
    warn_err(err, "%s", what);
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        fprintf(stderr,
                "  io_uring charges the memory it pins to RLIMIT_MEMLOCK "
                "(ulimit -l: %llu KiB here,\n"
                "  shared by all processes of this user).  Use fewer or "
                "smaller buffers (-q, -b),\n"
                "  raise the limit (ulimit -l, limits.conf), or run with "
                "CAP_IPC_LOCK.\n",
                (unsigned long long)rl.rlim_cur / 1024);
    exit(EXIT_FAILURE);
}

// Create the ring before DST: where io_uring is not available we exit 77
// and leave no empty DST behind.  Room for four SQEs per block (a read, a
// write and their deadlines) plus the delay's timeout; the CQ is twice as
// large, more than the CQEs that can be due at once (with cancellations).
static void setup(struct cp *c)
{
    struct io_uring_params p = {0};
    int ret = ring_init(&c->ring, 4 * c->depth + 1, &p);
    if (ret == -ENOMEM)
        die_memlock(-ret, "io_uring_setup");
    if (ret < 0)
        die_unavailable(-ret, "io_uring_setup");
    // Offset -1 for a stream SRC needs IORING_FEAT_RW_CUR_POS (5.6), which
    // also guarantees IOSQE_IO_LINK (5.3), IOSQE_IO_HARDLINK and
    // IORING_OP_LINK_TIMEOUT (5.5).
    if (!(c->ring.features & IORING_FEAT_RW_CUR_POS)) {
        die_missing("IORING_FEAT_RW_CUR_POS", "5.6");
    }
    // IORING_FEAT_CQE_SKIP (5.17): the kernel honours IOSQE_CQE_SKIP_SUCCESS.
    // An older kernel would fail every SQE with that flag (-EINVAL): ask.
    // LINK_CP_NO_SKIP=1 does without, as on such a kernel (for the tests).
    const char *no_skip = getenv("LINK_CP_NO_SKIP");
    c->skip = (c->ring.features & IORING_FEAT_CQE_SKIP) &&
              !(no_skip && *no_skip == '1');
    // Page-aligned: what O_DIRECT needs of a buffer's address (more than
    // any file system asks), and registration pins whole pages anyway.
    char *buf = 0;
    errno = posix_memalign((void **)&buf, (size_t)sysconf(_SC_PAGESIZE),
                           c->depth * c->bytes);
    c->blocks = calloc(c->depth, sizeof(*c->blocks));
    if (errno || !buf || !c->blocks)
        die("allocate %u blocks of %zu bytes", c->depth, c->bytes);
    for (unsigned i = 0; i < c->depth; i++)
        c->blocks[i].buf = buf + i * c->bytes;
    clock_gettime(CLOCK_MONOTONIC, &c->start);
    if (c->verbose)
        fprintf(stderr, "%s: IOSQE_CQE_SKIP_SUCCESS: %s\n",
                program_invocation_short_name,
                c->skip ? "yes (IORING_FEAT_CQE_SKIP): a chained read posts "
                          "no CQE when it succeeds"
                        : "no (Linux 5.17 has it): a chained read posts a "
                          "CQE too");
}

// Open DST as cp(1) does: truncate it and keep its mode, or create it
// with SRC's permission bits (the kernel takes the umask off).  A symlink
// to a file is followed, but a dangling one is refused, as cp(1) refuses
// it: a link planted in /tmp would have us create a file wherever it
// points.  Without a race between a check and the open: open without
// O_CREAT first (ENOENT: nothing there, or a dangling link), then create
// with O_CREAT | O_EXCL, which never follows a symlink (EEXIST: one is
// there; or a file appeared meanwhile, and we go round again).
// O_NONBLOCK only for the open itself: a FIFO with no reader fails with
// ENXIO instead of hanging here.  DST that is not a regular file (a FIFO,
// /dev/null) has no offsets: its blocks are written in order, one at a time.
static void open_dst(struct cp *c)
{
    int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | O_NONBLOCK |
                (c->direct ? O_DIRECT : 0);
    struct stat st;
    for (;;) {
        c->dst_fd = open(c->dst, flags);
        if (c->dst_fd >= 0 || errno != ENOENT)
            break;
        c->dst_fd = open(c->dst, flags | O_CREAT | O_EXCL, c->src_mode);
        if (c->dst_fd >= 0 || errno != EEXIST)
            break;
        if (lstat(c->dst, &st) == 0 && S_ISLNK(st.st_mode) &&
            stat(c->dst, &st) < 0 && errno == ENOENT)
            die_err(0, "not writing through dangling symlink %s", c->dst);
    }
    // ENXIO: a FIFO with no reader, or a UNIX socket (open(2) cannot open
    // one), or a device file with no device behind it.  Say which.
    if (c->dst_fd < 0) {
        int err = errno;
        const char *why = "";
        if (err == ENXIO && stat(c->dst, &st) == 0)
            why = S_ISFIFO(st.st_mode)   ? " (a FIFO that nobody reads)"
                  : S_ISSOCK(st.st_mode) ? " (a socket: open(2) cannot open one)"
                                         : "";
        if (!*why) {
            errno = err;
            die_open(c->dst, c->direct);
        }
        die_err(err, "open %s%s", c->dst, why);
    }
    if (c->direct)
        direct_check(c, c->dst_fd, c->dst);
    int fl = fcntl(c->dst_fd, F_GETFL);
    if (fl < 0 || fcntl(c->dst_fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
        fstat(c->dst_fd, &st) < 0)
        die("%s", c->dst);
    c->dst_stream = !S_ISREG(st.st_mode);
}

// With -v: one line on stderr, stamped with the time since the start.
__attribute__((format(printf, 2, 3))) static void
log_event(struct cp *c, const char *fmt, ...)
{
    if (!c->verbose)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (now.tv_sec - c->start.tv_sec) * 1e3 +
                (now.tv_nsec - c->start.tv_nsec) / 1e6;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: [%.3f ms] %s\n", program_invocation_short_name, ms,
            line);
}

// Register SRC and DST (IORING_REGISTER_FILES, Linux 5.1) and one buffer
// per block (IORING_REGISTER_BUFFERS, 5.1) with the ring, once.  From now
// on a request names them by index: the kernel took a reference to each
// file and pinned each buffer's pages here, instead of in every request.
// The limits are the kernel's: at most 16384 buffers (1024 on older
// kernels: EINVAL), each at most 1 GiB (EFAULT), and the pinned pages
// count against RLIMIT_MEMLOCK (ENOMEM).
static void register_resources(struct cp *c)
{
    int fds[2] = {[FIXED_SRC] = c->src_fd, [FIXED_DST] = c->dst_fd};
    int ret = sys_io_uring_register(c->ring.fd, IORING_REGISTER_FILES, fds, 2);
    if (ret < 0)
        die_err(-ret, "register SRC and DST");
    c->iovecs = calloc(c->depth, sizeof(*c->iovecs));
    if (!c->iovecs)
        die("allocate %u iovecs", c->depth);
    for (unsigned i = 0; i < c->depth; i++)
        c->iovecs[i] = (struct iovec){c->blocks[i].buf, c->bytes};
    ret = sys_io_uring_register(c->ring.fd, IORING_REGISTER_BUFFERS, c->iovecs,
                                c->depth);
    if (ret == -ENOMEM)
        die_memlock(-ret, "register the buffers");
    if (ret == -EINVAL && c->depth > 1024)
        die_err(-ret, "register %u buffers (this kernel takes at most 1024: "
                "use -q 1024 or less)", c->depth);
    if (ret < 0)
        die_err(-ret, "register %u buffers of %zu bytes", c->depth, c->bytes);
    log_event(c, "registered 2 files and %u buffers of %zu bytes (%zu KiB "
              "pinned)%s", c->depth, c->bytes, c->depth * c->bytes / 1024,
              c->direct ? ", O_DIRECT" : "");
}

// Undo register_resources(), once nothing is in flight: buffers first (the
// kernel unpins their pages), then the files (it drops its references).
// Only after this may the buffers be freed and the files closed: a
// registered buffer stays pinned, and a registered file open, for as long
// as the ring holds them (until ring_exit() at the latest).
static void unregister_resources(struct cp *c)
{
    int ret = sys_io_uring_register(c->ring.fd, IORING_UNREGISTER_BUFFERS, 0, 0);
    if (ret < 0)
        die_err(-ret, "unregister the buffers");
    ret = sys_io_uring_register(c->ring.fd, IORING_UNREGISTER_FILES, 0, 0);
    if (ret < 0)
        die_err(-ret, "unregister SRC and DST");
    free(c->iovecs);
}

// The next free SQE, counted as in flight.  A full SQ is submitted first
// (without waiting): the kernel consumes SQEs as it submits them.
// ring_submit() returns with the SQ still full only when the kernel wants
// a full CQ reaped first, and ours (twice the SQ) never fills: four
// requests per block (a read, a write, their deadlines), the delay and
// two cancellations per block are fewer.  So each turn of this loop makes
// room, or ring_submit() waits out a refusal, or gives up after a second:
// never a spin, even when called while reaping.  reserve() likewise.
static struct io_uring_sqe *get_sqe(struct cp *c)
{
    struct io_uring_sqe *sqe;
    while (!(sqe = sq_get(&c->ring))) {
        int ret = ring_submit(&c->ring, 0);
        if (ret < 0)
            die_err(-ret, "io_uring_enter");
    }
    c->in_flight++;
    return sqe;
}

// Make room for n SQEs that must go to the kernel together: a chain cannot
// span two submissions (a link flag on the last SQE of a submission ends
// the chain there), so get_sqe() must not submit in the middle of one.
static void reserve(struct cp *c, unsigned n)
{
    while (sq_space(&c->ring) < n) {
        int ret = ring_submit(&c->ring, 0);
        if (ret < 0)
            die_err(-ret, "io_uring_enter");
    }
}

// SQEs for a read or a write: one, or two with its deadline.
static unsigned sqes_per_request(const struct cp *c)
{
    return c->deadline_ms ? 2 : 1;
}

// A request of block b was queued: its CQE is due, with this number.
static unsigned long expect(struct cp *c, struct block *b, enum req_kind k)
{
    b->due |= DUE(k);
    b->res[k] = 0;
    b->req[k] = c->submitted++;
    return b->req[k];
}

// -t: the deadline of the request just queued, which must carry
// IOSQE_IO_LINK.  IORING_OP_LINK_TIMEOUT (5.5) applies to the SQE right
// before it and starts when that request starts.  If the request is done
// first, the kernel cancels the timeout (its CQE: -ECANCELED); if the time
// runs out first, the kernel cancels the request (-ECANCELED) and the
// timeout completes with -ETIME.  Either way both post a CQE.
static void queue_deadline(struct cp *c, struct block *b, enum req_kind k,
                           bool link)
{
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_LINK_TIMEOUT;
    sqe->addr = (uintptr_t)&c->deadline;
    sqe->len = 1;
    // The chain goes on past the timeout: a read's deadline sits between
    // the read and its write.
    sqe->flags = link ? IOSQE_IO_LINK : 0;
    sqe->user_data = (uint64_t)(b - c->blocks) << 2 | k;
    unsigned long on = b->req[k - K_READ_DEADLINE];
    log_event(c, "submit   #%lu deadline %u ms on #%lu", expect(c, b, k),
              c->deadline_ms, on);
}

// Queue the read of the part of block b not read yet: into buf + len, at
// off + len, for the rest of the block.  user_data is the block's index;
// the block remembers which request that is.
static void queue_read(struct cp *c, struct block *b)
{
    reserve(c, sqes_per_request(c));
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_READ_FIXED;
    sqe->fd = FIXED_SRC;
    sqe->addr = (uintptr_t)(b->buf + b->len);
    sqe->len = (unsigned)(c->bytes - b->len);
    sqe->off = c->src_seekable ? (uint64_t)(b->off + b->len) : (uint64_t)-1;
    sqe->buf_index = (uint16_t)(b - c->blocks);
    sqe->user_data = (uint64_t)(b - c->blocks) << 2 | K_READ;
    sqe->flags = IOSQE_FIXED_FILE | (c->deadline_ms ? IOSQE_IO_LINK : 0);
    b->state = READING;
    c->reading++;
    log_event(c, "submit   #%lu read  block %td offset %lld length %u",
              expect(c, b, K_READ), b - c->blocks,
              (long long)(b->off + b->len), sqe->len);
    if (c->deadline_ms)
        queue_deadline(c, b, K_READ_DEADLINE, false);
}

// Queue block b as a chain: the read of `want` bytes at its offset, linked
// to the write of the same bytes at the same offset in DST.  The kernel
// starts the write only when the read has returned exactly `want` bytes:
// io_uring counts a short read as a failure that breaks the chain
// (io_uring_enter(2), IOSQE_IO_LINK), so the write can never copy bytes the
// read did not fill, and it completes with -ECANCELED instead.
// With IOSQE_CQE_SKIP_SUCCESS on the read, a read that succeeds posts no
// CQE: the write's CQE says both are done.  A read that fails still posts
// its CQE, and then the kernel skips the CQEs of what it cancels (the
// write and its deadline), so a broken chain costs one CQE too.
static void queue_chain(struct cp *c, struct block *b)
{
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_READ_FIXED;
    sqe->fd = FIXED_SRC;
    sqe->addr = (uintptr_t)b->buf;
    sqe->len = (unsigned)b->want;
    sqe->off = (uint64_t)b->off;
    sqe->buf_index = (uint16_t)(b - c->blocks);
    sqe->user_data = (uint64_t)(b - c->blocks) << 2 | K_READ;
    sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK |
                 (c->skip ? IOSQE_CQE_SKIP_SUCCESS : 0);
    b->state = CHAINED;
    c->reading++;
    c->chains++;
    unsigned long r = expect(c, b, K_READ);
    b->res[K_READ] = (int)b->want; // what it returned, if it posts no CQE
    log_event(c, "submit   #%lu read  block %td offset %lld length %zu, "
              "linked%s", r, b - c->blocks, (long long)b->off, b->want,
              c->skip ? ", no CQE if it succeeds" : "");
    if (c->deadline_ms)
        queue_deadline(c, b, K_READ_DEADLINE, true);
    sqe = get_sqe(c);
    sqe->opcode = IORING_OP_WRITE_FIXED;
    sqe->fd = FIXED_DST;
    sqe->addr = (uintptr_t)b->buf;
    sqe->len = (unsigned)b->want;
    sqe->off = (uint64_t)b->off;
    sqe->buf_index = (uint16_t)(b - c->blocks);
    sqe->user_data = (uint64_t)(b - c->blocks) << 2 | K_WRITE;
    sqe->flags = IOSQE_FIXED_FILE | (c->deadline_ms ? IOSQE_IO_LINK : 0);
    log_event(c, "submit   #%lu write block %td offset %lld length %zu, "
              "after #%lu", expect(c, b, K_WRITE), b - c->blocks,
              (long long)b->off, b->want, r);
    if (c->deadline_ms)
        queue_deadline(c, b, K_WRITE_DEADLINE, false);
}

// CP_DELAY_FIRST=MS: put a timeout in front of block 0's first read,
// hard-linked to it, so that the read starts MS milliseconds late and the
// other blocks overtake it.  IOSQE_IO_HARDLINK (5.5+): a soft link would
// cancel the read, because a timeout that expires completes with -ETIME.
// The SQEs must go in the same submission: a chain cannot span two.  So
// room for the timeout and the n SQEs of the read (or chain) after it.
static void queue_delay(struct cp *c, unsigned n)
{
    static struct __kernel_timespec ts;
    ts.tv_sec = c->delay_ms / 1000;
    ts.tv_nsec = (c->delay_ms % 1000) * 1000000L;
    reserve(c, 1 + n);
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_TIMEOUT;
    sqe->addr = (uintptr_t)&ts;
    sqe->len = 1;
    sqe->flags = IOSQE_IO_HARDLINK;
    sqe->user_data = UD_TIMEOUT;
    c->timeout_req = c->submitted++;
    c->timeout_pending = true;
    log_event(c, "submit   #%lu timeout %u ms, hard-linked to #%lu",
              c->timeout_req, c->delay_ms, c->submitted);
}

// Start a read in every idle block, while SRC may have more to read:
//  - a regular file is read ahead as far as its st_size said, each block
//    a chain whose length is exactly what st_size says is there (so the
//    last one does not break at the end of the file), when DST is a
//    regular file too; then one plain read at a time until one returns 0
//    (the file may have grown);
//  - a stream is read one read at a time, in order, and a stream DST is
//    written in order: chains would race each other there.
static void queue_reads(struct cp *c)
{
    for (unsigned i = 0; i < c->depth; i++) {
        struct block *b = &c->blocks[i];
        if (b->state != IDLE)
            continue;
        if (c->eof >= 0)
            return;
        if (c->reading && !(c->src_seekable && c->next_off < c->src_size))
            return;
        *b = (struct block){.state = IDLE, .buf = b->buf, .off = c->next_off};
        bool chain = c->src_seekable && !c->dst_stream && b->off < c->src_size;
        if (chain && c->src_size - b->off < (off_t)c->bytes)
            b->want = (size_t)(c->src_size - b->off);
        else if (chain)
            b->want = c->bytes;
        // -d: an O_DIRECT request of a length off the alignment fails
        // (EINVAL), so the file's unaligned tail is not chained: read_done()
        // handles it.
        if (chain && c->direct && b->want % c->align)
            chain = false;
        if (c->src_seekable)
            c->next_off += (off_t)c->bytes;
        unsigned n = (chain ? 2 : 1) * sqes_per_request(c);
        if (c->delay_ms && b->off == 0 && c->submitted == 0)
            queue_delay(c, n);
        reserve(c, n);
        if (chain)
            queue_chain(c, b);
        else
            queue_read(c, b);
    }
}

// Queue the write of the part of block b not written yet, at the same
// offset in DST as in SRC.  A stream DST is written in order, one write
// at a time, at offset -1: a block whose turn has not come waits.
static void queue_write(struct cp *c, struct block *b)
{
    if (c->dst_stream && (c->writing || b->off != c->write_off)) {
        b->state = WAITING;
        return;
    }
    reserve(c, sqes_per_request(c));
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_WRITE_FIXED;
    sqe->fd = FIXED_DST;
    sqe->addr = (uintptr_t)(b->buf + b->written);
    sqe->len = (unsigned)(b->len - b->written);
    sqe->off = c->dst_stream ? (uint64_t)-1 : (uint64_t)(b->off + b->written);
    sqe->buf_index = (uint16_t)(b - c->blocks);
    sqe->user_data = (uint64_t)(b - c->blocks) << 2 | K_WRITE;
    sqe->flags = IOSQE_FIXED_FILE | (c->deadline_ms ? IOSQE_IO_LINK : 0);
    b->state = WRITING;
    c->writing = true;
    log_event(c, "submit   #%lu write block %td offset %lld length %u",
              expect(c, b, K_WRITE), b - c->blocks,
              (long long)(b->off + b->written), sqe->len);
    if (c->deadline_ms)
        queue_deadline(c, b, K_WRITE_DEADLINE, false);
}

// A stream DST: start the write of the block whose turn it is, if any.
static void queue_waiting_write(struct cp *c)
{
    for (unsigned i = 0; c->dst_stream && !c->writing && i < c->depth; i++)
        if (c->blocks[i].state == WAITING && c->blocks[i].off == c->write_off)
            queue_write(c, &c->blocks[i]);
}

// A write failed: that ends the copy.  No new requests; main() cancels
// the ones in flight and waits for them before exiting.
static void fail(struct cp *c, int err, const char *what)
{
    if (!c->err) {
        c->err = err;
        c->err_what = what;
    }
}

// After a failure, block b is given up unfinished: DST holds SRC's bytes
// only below the first byte of b that was not written.  trim_dst() cuts
// DST back to there, so that what is left is a plain prefix of SRC.
static void drop(struct cp *c, struct block *b)
{
    off_t at = b->off + (off_t)b->written;
    if (c->hole < 0 || at < c->hole)
        c->hole = at;
}

// A read of block b completed with res: bytes read, 0 at EOF, or -errno.
static void read_done(struct cp *c, struct block *b, int res)
{
    c->reading--;
    b->state = IDLE;
    if (c->err) {
        drop(c, b);
        return;
    }
    if (res == -EAGAIN || res == -EINTR) {
        queue_read(c, b);
        return;
    }
    // A block that read ahead past the end of SRC holds nothing that is
    // SRC's (if SRC shrank, it holds bytes SRC no longer has): drop it.
    if (c->eof >= 0 && b->off >= c->eof)
        return;
    // SRC ends at off + len: at a read of 0 bytes, or at a failed read
    // (cp(1), which reads in order, has then written everything before it
    // and nothing after it; finish() reports the error).  Blocks past it
    // are all dropped, so this end is lower than any found before.
    if (res <= 0) {
        c->eof = b->off + (off_t)b->len;
        if (res < 0)
            c->read_err = -res;
        if (b->len > 0)
            queue_write(c, b);
        return;
    }
    b->len += (size_t)res;
    if (!c->src_seekable)
        c->next_off = b->off + (off_t)b->len;
    // -d: a read that ends off the alignment ended at the end of the file
    // (the rest could not even be asked for: its offset is unaligned).  Its
    // write must be a whole number of aligned blocks too: pad it with
    // zeros, and trim_dst() cuts DST back to the end of the file.
    bool tail = c->direct && b->len % c->align;
    if (tail) {
        c->eof = b->off + (off_t)b->len;
        size_t padded = (b->len / c->align + 1) * c->align;
        memset(b->buf + b->len, 0, padded - b->len);
        b->len = padded;
    }
    // A short read of a regular file: read the rest at off + len (a 0
    // there is EOF).  A stream's short read is just what was there.
    if (c->src_seekable && b->len < c->bytes && !tail) {
        queue_read(c, b);
        return;
    }
    queue_write(c, b);
}

// A write of block b completed with res: bytes written, or -errno.
static void write_done(struct cp *c, struct block *b, int res)
{
    c->writing = false;
    b->state = IDLE;
    if (res > 0) {
        b->written += (size_t)res;
        if (b->off + (off_t)b->written > c->dst_size)
            c->dst_size = b->off + (off_t)b->written;
    }
    if (c->err) {
        if (b->written < b->len)
            drop(c, b);
        return;
    }
    if (res == -EAGAIN || res == -EINTR) {
        queue_write(c, b);
        return;
    }
    if (res <= 0) {
        fail(c, res < 0 ? -res : ENOSPC, "write");
        drop(c, b);
        return;
    }
    // A short write (a full disk, a pipe): write the rest at off + written.
    if (b->written < b->len) {
        queue_write(c, b);
        return;
    }
    c->write_off = b->off + (off_t)b->len;
    queue_waiting_write(c);
}

// Every CQE of block b's chain is in.  If the read returned all `want`
// bytes, the write ran: carry on as 04 does after a write (a short write
// is finished on its own).  If not, the chain broke and the write never
// ran: carry on as 04 does after a read, with whatever the read returned
// (0 is EOF, a short read is read on for the rest, an error ends the
// copy).  Either way nothing is lost and nothing is written twice.
static void chain_settled(struct cp *c, struct block *b)
{
    if (b->res[K_READ] == (int)b->want) {
        c->reading--;
        b->len = b->want;
        b->state = WRITING;
        write_done(c, b, b->res[K_WRITE]);
        return;
    }
    c->broken++;
    b->state = READING;
    read_done(c, b, b->res[K_READ]);
}

// Did this completion overtake a request submitted before it, one that is
// still in flight?  That is what "out of submission order" means here.
// The requests of one block are ordered by their links: they never count.
static bool overtook(struct cp *c, const struct block *self,
                     unsigned long req)
{
    if (c->timeout_pending && c->timeout_req < req)
        return true;
    for (unsigned i = 0; i < c->depth; i++) {
        struct block *b = &c->blocks[i];
        for (int k = 0; b != self && k < K_KINDS; k++)
            if ((b->due & DUE(k)) && b->req[k] < req)
                return true;
    }
    return false;
}

// Every CQE of block b's requests is in: act on what they said.  A
// request that its deadline cancelled (-ECANCELED, and the deadline's
// -ETIME) failed with ETIME: "Timer expired".
static void settled(struct cp *c, struct block *b)
{
    if (b->res[K_READ_DEADLINE] == -ETIME)
        b->res[K_READ] = -ETIME;
    if (b->res[K_WRITE_DEADLINE] == -ETIME)
        b->res[K_WRITE] = -ETIME;
    if (b->state == CHAINED)
        chain_settled(c, b);
    else if (b->state == READING)
        read_done(c, b, b->res[K_READ]);
    else
        write_done(c, b, b->res[K_WRITE]);
}

// A CQE of block b that will never come: count it out of in_flight.
static void no_cqe(struct cp *c, struct block *b, enum req_kind k,
                   const char *why)
{
    if (!(b->due & DUE(k)))
        return;
    b->due &= ~DUE(k);
    c->in_flight--;
    log_event(c, "no CQE   #%lu %s block %td: %s", b->req[k],
              k == K_READ ? "read " : k == K_WRITE ? "write" : "deadline",
              b - c->blocks, why);
}

// Handle one CQE: find its block and request by user_data, and once every
// CQE the block is waiting for is in, move the block on.
static void complete(struct cp *c, const struct io_uring_cqe *cqe)
{
    c->in_flight--;
    c->cqes++;
    if (cqe->user_data == UD_CANCEL)
        return;
    if (cqe->user_data == UD_TIMEOUT) {
        c->timeout_pending = false;
        c->completed++;
        log_event(c, "complete #%lu timeout res %d (%s)", c->timeout_req,
                  cqe->res, strerror(-cqe->res));
        return;
    }
    struct block *b = &c->blocks[cqe->user_data >> 2];
    enum req_kind k = (enum req_kind)(cqe->user_data & 3);
    bool reordered = overtook(c, b, b->req[k]);
    c->reordered += reordered;
    c->completed++;
    b->due &= ~DUE(k);
    b->res[k] = cqe->res;
    bool broke = b->state == CHAINED && k == K_READ && cqe->res != (int)b->want;
    log_event(c, "complete #%lu %s block %td res %d%s%s", b->req[k],
              k == K_READ ? "read " : k == K_WRITE ? "write" : "deadline",
              b - c->blocks, cqe->res, broke ? ": the chain is broken" : "",
              reordered ? "  (out of order)" : "");
    if (b->state == CHAINED && k == K_WRITE)
        no_cqe(c, b, K_READ, "it succeeded (IOSQE_CQE_SKIP_SUCCESS)");
    // A chained read that failed posts its CQE even with the skip flag,
    // and then the kernel posts none for the requests its failure
    // cancelled (REQ_F_SKIP_LINK_CQES: io_uring.h:req_set_fail()).
    if (broke && c->skip) {
        no_cqe(c, b, K_WRITE, "cancelled with its read, CQE skipped");
        no_cqe(c, b, K_WRITE_DEADLINE, "cancelled with its read, CQE skipped");
    }
    if (b->due == 0)
        settled(c, b);
}

// A write failed.  A read on a pipe or a write to a FIFO may never
// complete by itself: cancel everything in flight
// (IORING_OP_ASYNC_CANCEL finds a request by its user_data).
// One cancellation per read or write, found by user_data: cancelling the
// read of a chain cancels its write with it.  (Linux 5.19 can cancel
// everything at once: IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL.)
static void cancel_all(struct cp *c)
{
    for (unsigned i = 0; i < c->depth; i++) {
        struct block *b = &c->blocks[i];
        for (int k = K_READ; k <= K_WRITE; k++) {
            if (!(b->due & DUE(k)))
                continue;
            struct io_uring_sqe *sqe = get_sqe(c);
            sqe->opcode = IORING_OP_ASYNC_CANCEL;
            sqe->addr = (uint64_t)i << 2 | (uint64_t)k;
            sqe->user_data = UD_CANCEL;
        }
    }
    c->cancelled = true;
}

// After a failure the CP_DELAY_FIRST timeout only holds the end up (for
// up to a minute).  The read hard-linked behind it has not started, and
// a cancellation finds only requests that have: remove the timeout
// (IORING_OP_TIMEOUT_REMOVE, 5.5+, finds it by user_data).  It completes
// with -ECANCELED, and the hard link lets the read run at once: a read of
// a regular file, which ends by itself.
static void remove_delay(struct cp *c)
{
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_TIMEOUT_REMOVE;
    sqe->addr = UD_TIMEOUT;
    sqe->user_data = UD_CANCEL;
    c->delay_removed = true;
}

// Submit what is queued, wait for at least one completion (something is
// always in flight here), and handle every CQE that is ready.
static void submit_and_reap(struct cp *c)
{
    int ret = ring_submit(&c->ring, 1);
    if (ret < 0)
        die_err(-ret, "io_uring_enter");
    struct io_uring_cqe cqe;
    while (cq_pop(&c->ring, &cqe))
        complete(c, &cqe);
}

// DST ends where SRC did, or where a failure left the first block
// unfinished.  A block past that point may have been written already
// (read ahead before SRC shrank, or before the failure): cut it off, so
// that DST is a plain prefix of SRC, with no hole and nothing after it,
// as cp(1) leaves it.  (A stream DST is written in order: nothing past
// the end ever reaches it.)  ftruncate(2) itself, not through the ring:
// IORING_OP_FTRUNCATE came only in Linux 6.9.
static void trim_dst(struct cp *c)
{
    off_t end = c->eof;
    if (c->hole >= 0 && (end < 0 || c->hole < end))
        end = c->hole;
    if (c->dst_stream || end < 0 || c->dst_size <= end)
        return;
    if (ftruncate(c->dst_fd, end) < 0)
        die("truncate %s", c->dst);
    c->dst_size = end;
}

// Everything has come back.  Report, cut DST back to its end, and close
// it: close(2) is where some filesystems (NFS) report a write that failed.
static int finish(struct cp *c)
{
    if (c->verbose)
        fprintf(stderr,
                "%s: %lu requests, %lu completions, %lu out of submission "
                "order\n"
                "%s: %lu CQEs for %lu chains (%lu broken), %lu "
                "io_uring_enter calls\n",
                program_invocation_short_name, c->submitted, c->completed,
                c->reordered, program_invocation_short_name, c->cqes,
                c->chains, c->broken, c->ring.enters);
    unregister_resources(c);
    ring_exit(&c->ring);
    free(c->blocks[0].buf);
    free(c->blocks);
    trim_dst(c);
    if (c->err)
        die_err(c->err, "%s %s", c->err_what, c->dst);
    if (c->read_err)
        die_err(c->read_err, "read %s", c->src);
    if (close(c->dst_fd) < 0)
        die("close %s", c->dst);
    free(c->dst_path);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    std_fds_open();
    struct cp c = {0};
    parse_args(&c, argc, argv);
    open_src(&c);
    resolve_dst(&c);
    setup(&c);
    open_dst(&c);
    register_resources(&c);
    // Keep up to DEPTH requests in flight until SRC is read and every
    // block below its end is written.  After a write failure, cancel what
    // is in flight and wait for it; after a read failure, SRC ends there.
    for (;;) {
        if (!c.err)
            queue_reads(&c);
        else if (!c.cancelled)
            cancel_all(&c);
        if ((c.err || c.read_err) && c.timeout_pending && !c.delay_removed)
            remove_delay(&c);
        if (c.in_flight == 0)
            break;
        submit_and_reap(&c);
    }
    return finish(&c);
}
