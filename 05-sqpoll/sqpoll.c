/*
 * 05-sqpoll/sqpoll.c - stage 5: submitting without system calls
 *
 * The copy of 04-cp, on a ring set up with IORING_SETUP_SQPOLL: a kernel
 * thread of this process (iou-sqp-PID) polls the SQ and submits what we
 * publish, so queueing a read or a write costs no system call while it is
 * awake.  io_uring_enter is left for two jobs: waking the poller after it
 * has slept for IDLE_MS without work, and sleeping until a completion
 * arrives, which we put off by watching the CQ for a moment first.
 * New since 04-cp: the SQPOLL setup and its errors, the wake-up check
 * (uring.h: sq_needs_wakeup), polling the CQ, counting system calls.
 * Read alongside docs/05-sqpoll.md.
 * usage: ./sqpoll [-q DEPTH] [-b BYTES] [-i IDLE_MS] [-v] SRC DST
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
// How long the poller spins without work before it sleeps (and must be
// woken by a system call).  0 would not mean "never": the kernel turns 0
// into its default of one second.
#define DEFAULT_IDLE_MS 100
#define MAX_IDLE_MS 60000
// How long we watch the CQ ourselves before we sleep in io_uring_enter.
// Measured on a 256 MiB copy in 64 KiB blocks (docs/05-sqpoll.md): 50 us
// of spinning left about 770 waits in the kernel, 200 us about 180, 1 ms
// about 50 (0.6 % of the 8193 requests), for a little more of our CPU.
#define CQ_SPIN_NS 1000000

// user_data of the two requests that are not a block's read or write.
#define UD_TIMEOUT UINT64_MAX
#define UD_CANCEL (UINT64_MAX - 1)

// A block goes round: IDLE -> READING (maybe again, for the rest of a
// short read) -> WRITING (maybe again, for the rest of a short write) ->
// IDLE.  WAITING is for a DST that must be written in order (a pipe, a
// device): the block's data is ready, and the blocks before it are not.
enum block_state { IDLE, READING, WAITING, WRITING };

struct block {
    enum block_state state;
    char *buf;         // BYTES bytes of the one buffer allocation
    off_t off;         // file offset of buf[0], in SRC and in DST
    size_t len;        // bytes read into buf
    size_t written;    // bytes of those already written
    unsigned long req; // sequence number of the request in flight
};

struct cp {
    struct ring ring;
    unsigned depth;   // -q: requests in flight, at most
    size_t bytes;     // -b: bytes per block
    bool verbose;     // -v: log every submission, completion
    unsigned idle_ms; // -i: the poller's sq_thread_idle
    bool cq_watch;    // watch the CQ before waiting (cq_watch_pays)
    unsigned long watches, watch_hits; // -v: watches, and how many paid
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
    usage_line = "[-q DEPTH] [-b BYTES] [-i IDLE_MS] [-v] SRC DST";
    c->depth = DEFAULT_DEPTH;
    c->bytes = DEFAULT_BYTES;
    c->idle_ms = DEFAULT_IDLE_MS;
    opterr = 0;
    int opt;
    long long n;
    while ((opt = getopt_long(argc, argv, "hq:b:i:v", longopts, 0)) != -1) {
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
        } else if (opt == 'i') {
            if ((n = parse_count(optarg, 1, MAX_IDLE_MS)) < 0)
                usage_error("IDLE_MS must be a number from 1 to %d, not '%s'",
                            MAX_IDLE_MS, optarg);
            c->idle_ms = (unsigned)n;
        } else if (opt == 'v') {
            c->verbose = true;
        } else if (strncmp(argv[optind - 1], "--", 2) == 0) {
            // A long option: getopt puts its short code in optopt.
            usage_error("unknown option '%s'", argv[optind - 1]);
        } else if (optopt) {
            usage_error("option '-%c' %s", optopt,
                        strchr("qbi", optopt) ? "needs a value" : "is unknown");
        } else {
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        usage_error("%s", argc - optind < 2 ? "missing operand"
                                            : "too many operands");
    if ((long long)c->depth * (long long)c->bytes > MAX_MEMORY)
        usage_error("DEPTH x BYTES must be at most 1 GiB of buffers");
    c->src = argv[optind];
    c->dst = argv[optind + 1];
    const char *delay = getenv("CP_DELAY_FIRST");
    if (delay && *delay) {
        if ((n = parse_count(delay, 1, 60000)) < 0)
            usage_error("CP_DELAY_FIRST must be milliseconds, 1 to 60000");
        c->delay_ms = (unsigned)n;
    }
}

// Open SRC and decide how to read it, as 03-cat does: a regular file with
// a size is read at explicit offsets, several blocks at once; anything else
// (a pipe, a device, a /proc file whose st_size is 0) one read at a time.
static void open_src(struct cp *c)
{
    c->src_fd = open(c->src, O_RDONLY | O_CLOEXEC);
    if (c->src_fd < 0)
        die("open %s", c->src);
    struct stat st;
    if (fstat(c->src_fd, &st) < 0)
        die("fstat %s", c->src);
    if (S_ISDIR(st.st_mode))
        die_err(EISDIR, "open %s", c->src);
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

// Why did the kernel refuse the SQPOLL ring with EPERM?  A plain ring
// tells: if it fails too, io_uring is forbidden altogether (die.h says
// by what).  If it works, only SQPOLL is refused, and its feature bits
// date the kernel: without IORING_FEAT_RSRC_TAGS (5.13) it is older than
// 5.13, where SQPOLL needs CAP_SYS_ADMIN (or, from 5.11, CAP_SYS_NICE).
// From 5.13 on any user may have a poller, and the only other EPERM for
// SQPOLL alone is a security module's (io_sq_offload_create() asks the
// LSM hook security_uring_sqpoll(): SELinux has a permission for it).
static void sqpoll_refused(void)
{
    struct io_uring_params p = {0};
    int fd = sys_io_uring_setup(1, &p);
    if (fd < 0)
        die_unavailable(-fd, "io_uring_setup");
    close(fd);
    if (!(p.features & IORING_FEAT_RSRC_TAGS))
        die_missing("SQPOLL for unprivileged users (IORING_SETUP_SQPOLL "
                    "returned EPERM; before 5.13 it needs CAP_SYS_ADMIN or, "
                    "from 5.11, CAP_SYS_NICE)",
                    "5.13");
    warn_err(EPERM, "io_uring is not available here: IORING_SETUP_SQPOLL");
    fprintf(stderr,
            "  This kernel (5.13 or newer) lets every user create an SQPOLL "
            "ring, and a plain\n"
            "  ring works here, so a security module (SELinux, say) refused "
            "SQPOLL.\n"
            "  04-cp makes the same copy without SQPOLL.\n");
    exit(EXIT_UNAVAILABLE);
}

// Watching the CQ for a moment before sleeping in the kernel pays only
// while the poller has a CPU of its own.  On the CPU the poller needs, our
// spin takes the time it would spend submitting the very requests we wait
// for: under taskset -c 0 the copy was 10 to 22 times slower than 04-cp.
// The poller runs only on the CPU IORING_SETUP_SQ_AFF pinned it to, if
// any; else where we may run (it inherits our affinity, checked on 6.18:
// "io_uring/sqpoll: inherit cpumask of creating process", 2024; before,
// anywhere online).  So: no watching if we may run on one CPU only, or
// on the poller's.
static bool cq_watch_pays(const struct io_uring_params *p)
{
    cpu_set_t ours;
    if (sched_getaffinity(0, sizeof(ours), &ours) < 0)
        return false;
    if (p->flags & IORING_SETUP_SQ_AFF)
        return !CPU_ISSET(p->sq_thread_cpu, &ours);
    return CPU_COUNT(&ours) > 1;
}

// IORING_SETUP_SQPOLL starts the poller thread; sq_thread_idle is how
// many milliseconds it spins without work before it goes to sleep.
static void setup(struct cp *c)
{
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = c->idle_ms;
    int ret = ring_init(&c->ring, c->depth + 1, &p);
    if (ret == -EPERM)
        sqpoll_refused();
    if (ret < 0)
        die_unavailable(-ret, "io_uring_setup");
    // Before 5.11 an SQPOLL ring could only use registered files
    // (IOSQE_FIXED_FILE); we pass plain file descriptors.
    if (!(c->ring.features & IORING_FEAT_SQPOLL_NONFIXED))
        die_missing("IORING_FEAT_SQPOLL_NONFIXED", "5.11");
    c->cq_watch = cq_watch_pays(&p);
    // Offset -1 for a stream SRC needs IORING_FEAT_RW_CUR_POS (5.6), which
    // also guarantees IOSQE_IO_HARDLINK (5.5) for CP_DELAY_FIRST.
    if (!(c->ring.features & IORING_FEAT_RW_CUR_POS)) {
        die_missing("IORING_FEAT_RW_CUR_POS", "5.6");
    }
    char *buf = malloc(c->depth * c->bytes);
    c->blocks = calloc(c->depth, sizeof(*c->blocks));
    if (!buf || !c->blocks)
        die("allocate %u blocks of %zu bytes", c->depth, c->bytes);
    for (unsigned i = 0; i < c->depth; i++)
        c->blocks[i].buf = buf + i * c->bytes;
    clock_gettime(CLOCK_MONOTONIC, &c->start);
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
    int flags = O_WRONLY | O_TRUNC | O_CLOEXEC | O_NONBLOCK;
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
        die_err(err, "open %s%s", c->dst, why);
    }
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

// Find the poller among our threads: since Linux 5.12 it is a thread of
// this process named iou-sqp-PID (before, a kernel thread "io_uring-sq"
// that ps showed under kthreadd).  Returns its thread id, or 0.
static long find_poller(void)
{
    DIR *d = opendir("/proc/self/task");
    long tid = 0;
    struct dirent *e;
    while (d && !tid && (e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof(comm), f) &&
            strncmp(comm, "iou-sqp-", 8) == 0)
            tid = atol(e->d_name);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return tid;
}

// The next free SQE, counted as in flight.  A full SQ is submitted first
// (without waiting): the kernel consumes SQEs as it submits them.
// ring_submit() returns with the SQ still full only when the kernel wants
// a full CQ reaped first, and ours (twice the SQ) never fills: a request
// per block, the delay and a cancellation per block are fewer.  So each
// turn of this loop makes room, or ring_submit() waits out a refusal, or
// gives up after a second: never a spin, even when called while reaping.
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

// Queue the read of the part of block b not read yet: into buf + len, at
// off + len, for the rest of the block.  user_data is the block's index;
// the block remembers which request that is.
static void queue_read(struct cp *c, struct block *b)
{
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_READ;
    sqe->fd = c->src_fd;
    sqe->addr = (uintptr_t)(b->buf + b->len);
    sqe->len = (unsigned)(c->bytes - b->len);
    sqe->off = c->src_seekable ? (uint64_t)(b->off + b->len) : (uint64_t)-1;
    sqe->user_data = (uint64_t)(b - c->blocks);
    b->state = READING;
    b->req = c->submitted++;
    c->reading++;
    log_event(c, "submit   #%lu read  block %td offset %lld length %u", b->req,
              b - c->blocks, (long long)(b->off + b->len), sqe->len);
}

// CP_DELAY_FIRST=MS: put a timeout in front of block 0's first read,
// hard-linked to it, so that the read starts MS milliseconds late and the
// other blocks overtake it.  IOSQE_IO_HARDLINK (5.5+): a soft link would
// cancel the read, because a timeout that expires completes with -ETIME.
// The two SQEs must go in the same submission: a chain cannot span two.
static void queue_delay(struct cp *c)
{
    static struct __kernel_timespec ts;
    ts.tv_sec = c->delay_ms / 1000;
    ts.tv_nsec = (c->delay_ms % 1000) * 1000000L;
    while (sq_space(&c->ring) < 2) {
        int ret = ring_submit(&c->ring, 0);
        if (ret < 0)
            die_err(-ret, "io_uring_enter");
    }
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
//  - a regular file is read ahead as far as its st_size said, then one
//    read at a time until one returns 0 (the file may have grown);
//  - a stream is read one read at a time, in order.
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
        if (c->src_seekable)
            c->next_off += (off_t)c->bytes;
        if (c->delay_ms && b->off == 0 && c->submitted == 0)
            queue_delay(c);
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
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_WRITE;
    sqe->fd = c->dst_fd;
    sqe->addr = (uintptr_t)(b->buf + b->written);
    sqe->len = (unsigned)(b->len - b->written);
    sqe->off = c->dst_stream ? (uint64_t)-1 : (uint64_t)(b->off + b->written);
    sqe->user_data = (uint64_t)(b - c->blocks);
    b->state = WRITING;
    b->req = c->submitted++;
    c->writing = true;
    log_event(c, "submit   #%lu write block %td offset %lld length %u", b->req,
              b - c->blocks, (long long)(b->off + b->written), sqe->len);
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
    // A short read of a regular file: read the rest at off + len (a 0
    // there is EOF).  A stream's short read is just what was there.
    if (c->src_seekable && b->len < c->bytes) {
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

// Did this completion overtake a request submitted before it, one that is
// still in flight?  That is what "out of submission order" means here.
static bool overtook(struct cp *c, unsigned long req)
{
    if (c->timeout_pending && c->timeout_req < req)
        return true;
    for (unsigned i = 0; i < c->depth; i++) {
        struct block *b = &c->blocks[i];
        if ((b->state == READING || b->state == WRITING) && b->req < req)
            return true;
    }
    return false;
}

// Handle one CQE: find its block by user_data, and move the block on.
static void complete(struct cp *c, const struct io_uring_cqe *cqe)
{
    c->in_flight--;
    if (cqe->user_data == UD_CANCEL)
        return;
    if (cqe->user_data == UD_TIMEOUT) {
        c->timeout_pending = false;
        c->completed++;
        log_event(c, "complete #%lu timeout res %d (%s)", c->timeout_req,
                  cqe->res, strerror(-cqe->res));
        return;
    }
    struct block *b = &c->blocks[cqe->user_data];
    bool reordered = overtook(c, b->req);
    c->reordered += reordered;
    c->completed++;
    log_event(c, "complete #%lu %s block %td res %d%s", b->req,
              b->state == READING ? "read " : "write", b - c->blocks, cqe->res,
              reordered ? "  (out of order)" : "");
    if (b->state == READING)
        read_done(c, b, cqe->res);
    else
        write_done(c, b, cqe->res);
}

// A write failed.  A read on a pipe or a write to a FIFO may never
// complete by itself: cancel everything in flight
// (IORING_OP_ASYNC_CANCEL finds a request by its user_data).
static void cancel_all(struct cp *c)
{
    for (unsigned i = 0; i < c->depth; i++) {
        if (c->blocks[i].state != READING && c->blocks[i].state != WRITING)
            continue;
        struct io_uring_sqe *sqe = get_sqe(c);
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->addr = i;
        sqe->user_data = UD_CANCEL;
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

// Watch the CQ for up to CQ_SPIN_NS, where that pays (cq_watch_pays).
// Returns true if a CQE arrived.  cq_ready() is an acquire load of the
// kernel's tail: a plain load in a loop like this one could be hoisted
// out of it by the compiler.
static bool cq_spin(struct cp *c)
{
    if (!c->cq_watch)
        return false;
    c->watches++;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (cq_ready(&c->ring)) {
            c->watch_hits++;
            return true;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
             CQ_SPIN_NS);
    return false;
}

// Publish what is queued (the poller submits it; ring_submit() wakes it
// only if it sleeps), wait for at least one completion (something is
// always in flight here), and handle every CQE that is ready.  Waiting
// still takes io_uring_enter(IORING_ENTER_GETEVENTS): SQPOLL polls the SQ,
// not the CQ.  So look at the CQ for a moment first, and sleep in the
// kernel only when nothing comes.
static void submit_and_reap(struct cp *c)
{
    int ret = ring_submit(&c->ring, 0);
    if (ret == 0 && !cq_spin(c))
        ret = ring_submit(&c->ring, 1);
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
    if (c->verbose) {
        // The poller names itself when it starts, which may be a moment
        // after io_uring_setup returns: look for it now, at the end.
        log_event(c,
                  "SQ poller thread iou-sqp-%d was task %ld, idle after %u ms",
                  (int)getpid(), find_poller(), c->idle_ms);
        if (c->cq_watch)
            log_event(c, "CQ watched %lu times for up to %d us before a wait, "
                         "%lu times with success",
                      c->watches, CQ_SPIN_NS / 1000, c->watch_hits);
        else
            log_event(c, "CQ not watched before a wait: the poller may "
                         "need the CPU we run on");
        fprintf(stderr,
                "%s: %lu requests, %lu completions, %lu out of submission "
                "order\n",
                program_invocation_short_name, c->submitted, c->completed,
                c->reordered);
        // Every io_uring_enter goes through ring_enter(), which counts:
        // strace -f -e trace=io_uring_enter must agree with this line.
        fprintf(stderr,
                "%s: %lu requests, %lu io_uring_enter calls: %lu wake-ups, "
                "%lu waits\n",
                program_invocation_short_name, c->submitted, c->ring.enters,
                c->ring.wakeups, c->ring.waits);
    }
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
