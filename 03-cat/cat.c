/*
 * 03-cat/cat.c - stage 3: batched submission
 *
 * Concatenates FILEs (or stdin) to stdout like cat(1), with every read and
 * write going through the ring.  A fixed set of blocks moves through a
 * queue in input order: reads fill blocks (several at once from a regular
 * file, at explicit offsets), one writev drains the filled blocks from the
 * front of the queue, and every trip into the kernel carries all the SQEs
 * that are ready at that moment: that is the batching.
 * New since 02-mmap-rings: READ and WRITEV SQEs, short I/O, EOF, -errno in
 * cqe->res, keeping output in input order.
 * Read alongside docs/03-cat.md.                   usage: ./cat [FILE]...
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "die.h"
#include "uring.h"

// Four blocks of 128 KiB (coreutils cat reads 128 KiB at a time): 512 KiB
// of buffers, whatever the size of the input.  They are static, so the
// program never allocates memory at all.  Eight blocks were measurably
// slower on cached files (make bench): the copy from the page cache
// is the real work, and a smaller set of buffers stays in the CPU cache.
#define BLOCK_BYTES (128 * 1024)
#define NBLOCKS 4
static char data[NBLOCKS][BLOCK_BYTES] __attribute__((aligned(4096)));

// A read's user_data is the sequence number of its block; the one write,
// the cancellations and the two polls use values no block will reach.
#define UD_WRITE UINT64_MAX
#define UD_CANCEL (UINT64_MAX - 1)
#define UD_POLL_IN (UINT64_MAX - 2)
#define UD_POLL_OUT (UINT64_MAX - 3)

// A block is taken from the queue in input order, filled by reads, then
// emptied by writes.  Only the front block may be written, so stdout gets
// the bytes in input order whatever order the reads complete in.
enum block_state {
    WANT_READ, // needs a read SQE (new, or the rest of a short read)
    READING,   // the kernel owns data[]: a read is in flight
    FULL,      // holds len bytes of input, written of them already out
};

struct block {
    enum block_state state;
    unsigned long seq; // position in the queue: the read's user_data
    off_t off;         // file offset of data[0] (seekable inputs)
    size_t len;        // bytes of input held
    size_t written;    // bytes already written to stdout
    const char *name;  // with why: an error to report when the writer
    const char *why;   //   reaches this block, after the data before it
    bool async;        // read it in a worker thread (IOSQE_ASYNC)
};

// The input being read.  Only one is open at a time; reads of the next
// FILE start once the reads of this one have all come back.
struct input {
    const char *name;      // as given on the command line ("-": stdin)
    int fd;                // -1 between inputs
    bool seekable;         // regular file: explicit offsets, read ahead
    off_t size;            // st_size at open: how far to read ahead
    off_t next_off;        // offset of the next new block's read
    unsigned reading;      // reads in flight on fd
    bool done;             // EOF or an error: no new reads
    unsigned long end_seq; // blocks after this one hold nothing of ours
    bool want_poll;        // a read said -EAGAIN: wait until fd is readable
    bool polling;          //   the POLL_ADD is in flight
    bool self;             // stdout's file: start_input() not yet decided
};

struct cat {
    struct ring ring;
    char **files; // the FILE arguments ("-" if none)
    int nfiles, next_file;
    struct input in;
    struct block blocks[NBLOCKS];
    unsigned long head, tail;  // blocks [head, tail) are in use, in order
    struct iovec iov[NBLOCKS]; // the writev's list: lives until its CQE
    bool writing;              // the writev is in flight
    unsigned in_flight;        // SQEs submitted whose CQE we have not seen
    int write_err;             // stdout failed: stop, drain, exit 1
    bool cancelled;            // cancellations of the reads were sent
    bool out_isreg;            // stdout is a regular file: this one,
    dev_t out_dev;             //   to refuse to read it ("cat f >> f")
    ino_t out_ino;             //   (see start_input())
    bool out_at_off;           // stdout is written at out_off (not O_APPEND)
    off_t out_off;             //   the offset of its next byte
    bool out_want_poll;        // the write said -EAGAIN: wait until stdout
    bool out_polling;          //   is writable; the POLL_ADD is in flight
    bool write_async;          // send the next write to a worker thread
    bool nowait, async;        // CAT_NOWAIT, CAT_ASYNC (see setup())
    bool stdin_open;           // fd 0 was open when we started
    int status;                // exit status: 1 once an input failed
};

static struct block *block(struct cat *c, unsigned long seq)
{
    return &c->blocks[seq % NBLOCKS];
}

static void parse_args(struct cat *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    static char *stdin_only[] = {"-"};
    usage_line = "[FILE]...";
    // We say what is wrong ourselves, in the usual "cat: ..." form.
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, 0)) != -1) {
        if (opt == 'h')
            usage_help();
        usage_error("unknown option '%s'", argv[optind - 1]);
    }
    c->files = optind < argc ? argv + optind : stdin_only;
    c->nfiles = optind < argc ? argc - optind : 1;
}

// Create the ring.  It needs room for a read per block (or a poll of
// stdin), the writev (or a poll of stdout), and after a write error a
// cancellation per read: with twice NBLOCKS SQEs (and a CQ twice that)
// neither queue can fill up.  Reads and writes at offset -1 ("the file
// position", for stdin and stdout) need IORING_FEAT_RW_CUR_POS (5.6+).
static void setup(struct cat *c)
{
    // Look at stdin and stdout first: if either is closed, the ring's fd
    // would take its number, and we would read or write the ring itself.
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) < 0)
        die("standard output");
    if (S_ISREG(st.st_mode)) {
        c->out_isreg = true;
        c->out_dev = st.st_dev;
        c->out_ino = st.st_ino;
        // A regular file is written at explicit offsets, from its file
        // position on, as a seekable input is read: a write at offset -1
        // that comes back short may not have moved the position (see
        // write_done()).  With O_APPEND the kernel puts every write at
        // the end whatever the offset: -1 is right there.
        c->out_off = lseek(STDOUT_FILENO, 0, SEEK_CUR);
        c->out_at_off =
            c->out_off >= 0 && !(fcntl(STDOUT_FILENO, F_GETFL) & O_APPEND);
    }
    c->stdin_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
    struct io_uring_params p = {0};
    int ret = ring_init(&c->ring, 2 * NBLOCKS, &p);
    if (ret < 0)
        die_unavailable(-ret, "io_uring_setup");
    if (!(c->ring.features & IORING_FEAT_RW_CUR_POS)) {
        die_missing("IORING_FEAT_RW_CUR_POS", "5.6");
    }
    c->in.fd = -1;
    // Two knobs for the tests, to reach on any kernel paths that only
    // some kernels take (docs/03-cat.md, "Kernels differ"):
    //  - CAT_NOWAIT=1 asks for RWF_NOWAIT on every read and write, so a
    //    request that would wait completes with -EAGAIN instead, as 5.6
    //    to 5.14 do with every request on an O_NONBLOCK stdin or stdout;
    //  - CAT_ASYNC=1 sends every write to a worker thread (IOSQE_ASYNC),
    //    where kernels before 6.4 ran every write to a pipe.
    c->nowait = getenv("CAT_NOWAIT") != 0;
    c->async = getenv("CAT_ASYNC") != 0;
}

// The next free SQE.  If the SQ is full, submit what is queued (without
// waiting) to make room: the kernel consumes SQEs as it submits them.
// ring_submit() returns with the SQ still full only when the kernel wants
// a full CQ reaped first, and ours (twice the SQ) never fills: we never
// have more requests than the SQ holds.  So each turn of this loop makes
// room, or ring_submit() waits out a refusal, or gives up after a second.
static struct io_uring_sqe *get_sqe(struct cat *c)
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

// Take the next block of the queue.  The caller has checked that one is
// free (tail - head < NBLOCKS).
static struct block *new_block(struct cat *c, const char *name)
{
    struct block *b = block(c, c->tail);
    *b = (struct block){.state = WANT_READ, .seq = c->tail++, .name = name};
    return b;
}

// Queue a block that holds no data, only an error to report.  It travels
// through the queue like data, so the message comes out after everything
// read before it has been written, as with cat(1).
static void queue_error(struct cat *c, const char *name, const char *why)
{
    struct block *b = new_block(c, name);
    b->state = FULL;
    b->why = why;
}

// Decide how to read the open input, from st, its fstat(2).  A regular
// file is read at explicit offsets, several blocks at once, starting at
// its file position (0, unless stdin was handed over part read).
// Anything else (pipe, tty, device, /proc file whose st_size is 0) is a
// stream: one read at a time, at offset -1, in order.
// Reading stdout's own file from before its end would append it to itself
// for ever (cat f >> f): cat(1) refuses, and so do we.  That end counts
// every byte written before, so for that file the caller decides only once
// they have all landed (all_written()): in "cat a out > out", out looks
// empty while the write of a is still in flight.
static void start_input(struct cat *c, const struct stat *st)
{
    struct input *in = &c->in;
    off_t pos = lseek(in->fd, 0, SEEK_CUR);
    in->size = st->st_size;
    in->seekable = S_ISREG(st->st_mode) && st->st_size > 0 && pos >= 0;
    in->next_off = in->seekable ? pos : 0;
    if (in->self && pos < st->st_size) {
        queue_error(c, in->name, "input file is output file");
        in->done = true;
    }
    in->self = false;
}

// Open the next FILE ("-" is stdin, already open), and start it unless it
// is stdout's own file (see start_input()).
static void open_input(struct cat *c, const char *name)
{
    struct input *in = &c->in;
    bool is_stdin = strcmp(name, "-") == 0;
    if (is_stdin && !c->stdin_open) {
        queue_error(c, name, strerror(EBADF));
        return;
    }
    int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        queue_error(c, name, strerror(errno));
        return;
    }
    *in = (struct input){.name = name, .fd = fd};
    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat %s", name);
    in->self = S_ISREG(st.st_mode) && c->out_isreg && st.st_dev == c->out_dev &&
               st.st_ino == c->out_ino;
    if (!in->self)
        start_input(c, &st);
}

// True when every byte queued so far is written and no write is in flight.
static bool all_written(struct cat *c)
{
    for (unsigned long s = c->head; s < c->tail; s++) {
        struct block *b = block(c, s);
        if (b->state != FULL || b->written < b->len)
            return false;
    }
    return !c->writing;
}

// The input is finished and none of its reads is in flight.  A seekable
// stdin is left positioned after what we printed, as read(2) would.
static void close_input(struct cat *c)
{
    struct input *in = &c->in;
    if (in->fd == STDIN_FILENO && in->seekable)
        lseek(in->fd, in->next_off, SEEK_SET);
    else if (in->fd != STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
}

// Queue a POLL_ADD (5.1+): a CQE, with user_data ud, once fd is ready for
// events.  A read or write that said -EAGAIN is sent again only then:
// sending it again at once would spin, in and out of the kernel, for as
// long as the other end of the pipe keeps us waiting.
static void queue_poll(struct cat *c, int fd, unsigned events, uint64_t ud)
{
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = fd;
    sqe->poll_events = (uint16_t)events;
    sqe->user_data = ud;
}

// Queue a read into the free part of block b.  A seekable input is read
// at the offset right after the bytes the block already holds; a stream
// at offset -1 (the file position; pipes and ttys have none).
static void queue_read(struct cat *c, struct block *b)
{
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_READ;
    sqe->fd = c->in.fd;
    sqe->addr = (uintptr_t)(data[b->seq % NBLOCKS] + b->len);
    sqe->len = BLOCK_BYTES - b->len;
    sqe->off = c->in.seekable ? (uint64_t)(b->off + b->len) : (uint64_t)-1;
    sqe->user_data = b->seq;
    if (b->async)
        sqe->flags = IOSQE_ASYNC;
    else if (c->nowait)
        sqe->rw_flags = RWF_NOWAIT;
    b->async = false;
    b->state = READING;
    c->in.reading++;
}

// Queue every read that can start now, opening inputs as needed:
//  - first the blocks that want one (the rest of a short read);
//  - then new blocks, while blocks are free.  A regular file is read
//    ahead as far as its st_size, then one read at a time, until a read
//    returns 0: files can grow, and /proc files lie.  A stream gets one
//    read at a time: two reads in flight on one pipe may complete in
//    either order, and the data with them.
// A stream whose read said -EAGAIN is polled first (read_done()), and
// nothing more is read until the poll's CQE comes.
static void queue_reads(struct cat *c)
{
    struct input *in = &c->in;
    if (in->want_poll) {
        queue_poll(c, in->fd, POLLIN, UD_POLL_IN);
        in->want_poll = false;
        in->polling = true;
    }
    if (in->polling)
        return;
    for (unsigned long s = c->head; s < c->tail; s++)
        if (block(c, s)->state == WANT_READ)
            queue_read(c, block(c, s));
    while (c->tail - c->head < NBLOCKS) {
        if (in->fd < 0) {
            if (c->next_file == c->nfiles)
                return;
            open_input(c, c->files[c->next_file++]);
        } else if (in->self) {
            struct stat st;
            if (!all_written(c))
                return;
            if (fstat(in->fd, &st) < 0)
                die("fstat %s", in->name);
            start_input(c, &st);
        } else if (in->done) {
            if (in->reading)
                return;
            close_input(c);
        } else if (in->reading && !(in->seekable && in->next_off < in->size)) {
            return;
        } else {
            struct block *b = new_block(c, in->name);
            b->off = in->next_off;
            in->next_off += BLOCK_BYTES;
            queue_read(c, b);
        }
    }
}

// No more reads of this input: the block at seq ended it (EOF or error).
// cat(1) stops a file at its first error or end: whatever the blocks
// after seq hold, read ahead before we knew, is dropped, never written
// (a read that fails at 300000 must not be followed by the block read
// ahead at 393216).  The reads still in flight come back to read_done(),
// which drops theirs.
static void end_input(struct cat *c, unsigned long seq)
{
    c->in.done = true;
    c->in.end_seq = seq;
    for (unsigned long s = seq + 1; s < c->tail; s++) {
        struct block *b = block(c, s);
        b->len = 0;
        b->why = 0;
        if (b->state == WANT_READ)
            b->state = FULL;
    }
}

// A read of block b completed with res: a byte count, 0 at EOF, or -errno.
static void read_done(struct cat *c, struct block *b, int res)
{
    struct input *in = &c->in;
    in->reading--;
    b->state = FULL;
    // Read ahead past the end: whatever it found is not part of the file
    // as we read it (a file that grew must not gain a hole).
    if (in->done && b->seq > in->end_seq) {
        b->len = 0;
        return;
    }
    // Nothing was read, nothing lost: ask again.  -EAGAIN says that the
    // read would have had to wait (on 5.6 to 5.14, for any O_NONBLOCK
    // stdin): ask again once stdin is readable.  Polling a regular file
    // says "ready" at once, so its read goes to a worker thread instead,
    // which may wait.
    if (res == -EAGAIN || res == -EINTR) {
        b->state = WANT_READ;
        if (res == -EAGAIN && in->seekable)
            b->async = true;
        else if (res == -EAGAIN)
            in->want_poll = true;
        return;
    }
    if (res < 0) {
        b->why = strerror(-res);
        c->status = EXIT_FAILURE;
        end_input(c, b->seq);
        return;
    }
    // EOF: the file ends right after the data this block holds.
    if (res == 0) {
        in->next_off = b->off + (off_t)b->len;
        end_input(c, b->seq);
        return;
    }
    b->len += res;
    if (!in->seekable || b->len == BLOCK_BYTES)
        return;
    // A short read of a regular file.  If no block was read ahead after
    // this one, this is the end of the file as far as we know: print the
    // block, and read on from where its data ends (a 0 there is EOF).
    // Otherwise the blocks after it read further on: first read the rest
    // of this one, at the offset right after its data, or a hole appears.
    if (b->off + BLOCK_BYTES == in->next_off)
        in->next_off = b->off + (off_t)b->len;
    else
        b->state = WANT_READ;
}

// Free the blocks at the front of the queue that are completely written,
// in order, reporting the error a block carries once the data before it
// is out.  stderr may be the very file stdout is (cat a nope > out 2>&1):
// then the message goes at the file position, so put it after our data
// first, and carry on after the message.
static void release_written(struct cat *c)
{
    while (c->head < c->tail) {
        struct block *b = block(c, c->head);
        if (b->state != FULL || b->written < b->len)
            return;
        if (b->why) {
            if (c->out_at_off)
                lseek(STDOUT_FILENO, c->out_off, SEEK_SET);
            warn_err(0, "%s: %s", b->name, b->why);
            if (c->out_at_off)
                c->out_off = lseek(STDOUT_FILENO, 0, SEEK_CUR);
            c->status = EXIT_FAILURE;
        }
        c->head++;
    }
}

// If no write is in flight, queue one writev for all the full blocks at
// the front of the queue: one SQE however many blocks are ready.  Only
// one write is ever in flight, because two writes to a pipe may land in
// either order.  It stops at a block with an error, which must be
// reported before any later data goes out.
static void queue_write(struct cat *c)
{
    release_written(c);
    if (c->out_want_poll) {
        queue_poll(c, STDOUT_FILENO, POLLOUT, UD_POLL_OUT);
        c->out_want_poll = false;
        c->out_polling = true;
    }
    if (c->writing || c->out_polling)
        return;
    unsigned n = 0;
    for (unsigned long s = c->head; s < c->tail; s++) {
        struct block *b = block(c, s);
        if (b->state != FULL)
            break;
        if (b->written < b->len)
            c->iov[n++] = (struct iovec){data[s % NBLOCKS] + b->written,
                                         b->len - b->written};
        if (b->why)
            break;
    }
    if (n == 0)
        return;
    struct io_uring_sqe *sqe = get_sqe(c);
    sqe->opcode = IORING_OP_WRITEV;
    sqe->fd = STDOUT_FILENO;
    sqe->addr = (uintptr_t)c->iov;
    sqe->len = n;
    sqe->off = c->out_at_off ? (uint64_t)c->out_off : (uint64_t)-1;
    sqe->user_data = UD_WRITE;
    if (c->write_async || c->async)
        sqe->flags = IOSQE_ASYNC;
    else if (c->nowait)
        sqe->rw_flags = RWF_NOWAIT;
    c->write_async = false;
    c->writing = true;
}

// The writev completed with res.  A pipe takes what fits and returns a
// short count: hand the bytes out to the blocks in order, and the next
// queue_write() sends the rest.  A regular file comes back short when it
// cannot take more (disk full, ulimit -f): the rest, sent at out_off, then
// fails with the reason.  (At offset -1 it would not: since Linux 6.0 the
// kernel retries the rest of a short write itself, and when that fails
// it reports the bytes written but leaves the file position where it
// was, so the next write would land on top of them.)
static void write_done(struct cat *c, int res)
{
    c->writing = false;
    // As for a read: nothing written, ask again; after -EAGAIN, once
    // stdout is writable, or from a worker thread for a regular file.
    if (res == -EAGAIN && c->out_isreg)
        c->write_async = true;
    else if (res == -EAGAIN)
        c->out_want_poll = true;
    if (res == -EAGAIN || res == -EINTR)
        return;
    if (res <= 0) {
        // 0 bytes for a non-empty write: no progress possible (cat(1)
        // reports ENOSPC too).
        c->write_err = res < 0 ? -res : ENOSPC;
        return;
    }
    if (c->out_at_off)
        c->out_off += res;
    for (unsigned long s = c->head; res > 0; s++) {
        struct block *b = block(c, s);
        size_t take = b->len - b->written;
        if (take > (size_t)res)
            take = (size_t)res;
        b->written += take;
        res -= (int)take;
    }
    release_written(c);
}

// stdout failed.  Reads may still be in flight, on a pipe or a tty that
// may never deliver: cancel them (IORING_OP_ASYNC_CANCEL, 5.5+, finds a
// request by its user_data), so that they come back soon and the kernel
// gives their blocks back before we exit.
static void cancel_reads(struct cat *c)
{
    for (unsigned long s = c->head; s < c->tail; s++) {
        if (block(c, s)->state != READING)
            continue;
        struct io_uring_sqe *sqe = get_sqe(c);
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->addr = s;
        sqe->user_data = UD_CANCEL;
    }
    // A poll on stdin may wait as long as a read: take it back too.
    if (c->in.polling) {
        struct io_uring_sqe *sqe = get_sqe(c);
        sqe->opcode = IORING_OP_POLL_REMOVE;
        sqe->addr = UD_POLL_IN;
        sqe->user_data = UD_CANCEL;
    }
    c->cancelled = true;
}

// stdout failed with err.  write(2) sends a signal with two errors, which
// ends cat(1) unless the signal is ignored: SIGPIPE with EPIPE (no reader
// left), SIGXFSZ with EFBIG when the write starts at or past the file-size
// limit (ulimit -f).  The kernel sends it to the thread that ran the
// write; when io_uring ran it in a worker thread, it is lost (pipes until
// Linux 6.4; regular files here).  Raise it ourselves, so that we end as
// cat(1) would on every kernel.  If it is ignored, we are still here, to
// report the error.
static void raise_like_write(int err)
{
    struct rlimit lim;
    struct stat st;
    if (err == EPIPE)
        raise(SIGPIPE);
    if (err == EFBIG && getrlimit(RLIMIT_FSIZE, &lim) == 0 &&
        lim.rlim_cur != RLIM_INFINITY && fstat(STDOUT_FILENO, &st) == 0 &&
        (rlim_t)st.st_size >= lim.rlim_cur)
        raise(SIGXFSZ);
}

// Submit everything queued in one io_uring_enter, wait for at least one
// completion (something is always in flight when we get here), and
// handle every CQE that is ready, in whatever order they came.
static void submit_and_reap(struct cat *c)
{
    int ret = ring_submit(&c->ring, 1);
    if (ret < 0)
        die_err(-ret, "io_uring_enter");
    struct io_uring_cqe cqe;
    while (cq_pop(&c->ring, &cqe)) {
        c->in_flight--;
        if (cqe.user_data == UD_WRITE)
            write_done(c, cqe.res);
        else if (cqe.user_data == UD_POLL_IN)
            c->in.polling = false; // ready (or failed: the read will say)
        else if (cqe.user_data == UD_POLL_OUT)
            c->out_polling = false;
        else if (cqe.user_data != UD_CANCEL)
            read_done(c, block(c, cqe.user_data), cqe.res);
    }
}

// True when every FILE was opened, read, closed and written.
static bool finished(const struct cat *c)
{
    return c->next_file == c->nfiles && c->in.fd < 0 && c->head == c->tail;
}

int main(int argc, char **argv)
{
    if (std_fds_open() & 1u << STDOUT_FILENO)
        die_err(EBADF, "standard output");
    struct cat c = {0};
    parse_args(&c, argc, argv);
    setup(&c);
    // Each pass queues every read and the write that can start, then
    // makes one system call for all of them.  A pass may also just free
    // blocks that needed no system call (errors reported, the blocks of
    // a failed file dropped): then the next pass queues more.
    for (;;) {
        if (!c.write_err) {
            queue_reads(&c);
            queue_write(&c);
        } else if (!c.cancelled) {
            cancel_reads(&c);
        }
        if (c.in_flight > 0)
            submit_and_reap(&c);
        else if (c.write_err || finished(&c))
            break;
    }
    ring_exit(&c.ring);
    // Leave stdout's file position after what we wrote, as write(2)
    // would have: the shell may write more there ({ cat f; echo; } > out).
    if (c.out_at_off)
        lseek(STDOUT_FILENO, c.out_off, SEEK_SET);
    if (c.write_err) {
        raise_like_write(c.write_err);
        die_err(c.write_err, "write error");
    }
    return c.status;
}
