/*
 * 09-multishot-echo/multishot-echo.c - stage 9: one request, many
 * completions, and buffers the kernel picks
 *
 * The echo server of 06, as io_uring servers are written today.  One
 * multishot ACCEPT posts a completion for every new client; one multishot
 * RECV per connection posts a completion for every piece of data, in a
 * buffer the kernel takes from a ring of buffers we provide.  A connection
 * that has nothing to say holds no buffer at all.  Each buffer goes back
 * into the ring once its bytes have been echoed.
 * New since 06-echo-server: IORING_ACCEPT_MULTISHOT, IORING_RECV_MULTISHOT,
 * a provided buffer ring (IORING_REGISTER_PBUF_RING) run by hand, and what
 * running out of buffers means (-ENOBUFS, a cap per connection).
 * Read alongside docs/09-multishot-echo.md.
 * usage: ./multishot-echo [-a A] [-p P] [-n BUFFERS] [-s BYTES]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "die.h"
#include "uring.h"

// SQEs per io_uring_enter at most; the test hook ECHO_SERVER_ENTRIES makes
// it tiny so that a full SQ and a full CQ happen all the time.
#define RING_ENTRIES 256
// A multishot request posts many CQEs for one SQE: give the CQ room for
// bursts from hundreds of connections (IORING_SETUP_CQSIZE).
#define CQ_ENTRIES 4096
// The buffer ring: BUFFERS buffers of BYTES each, shared by every
// connection (-n and -s).  An idle connection holds none of them.
#define BUFFERS 1024
#define BUF_SIZE 4096
// Our one buffer group: RECVs name it in sqe->buf_group.
#define BGID 0
// How long accept rests after running out of file descriptors.
#define PAUSE_MS 50

// Newer than the 5.15 headers the course builds against.
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12) // Linux 6.0
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13) // Linux 6.1
#endif
#ifndef IORING_ACCEPT_MULTISHOT // Linux 5.19, with the buffer rings
#define IORING_ACCEPT_MULTISHOT (1U << 0)
enum { IORING_REGISTER_PBUF_RING = 22, IORING_UNREGISTER_PBUF_RING = 23 };
struct io_uring_buf {
    __u64 addr;
    __u32 len;
    __u16 bid;
    __u16 resv;
};
struct io_uring_buf_reg {
    __u64 ring_addr;
    __u32 ring_entries;
    __u16 bgid;
    __u16 pad;
    __u64 resv[3];
};
#endif
#ifndef IORING_RECV_MULTISHOT
#define IORING_RECV_MULTISHOT (1U << 1) // Linux 6.0
#endif

// What a request was.  With the slot and generation of its connection,
// this is all a completion needs to find its way home (see ud_make).
enum kind {
    K_SIGNAL = 1, // POLL_ADD: the signalfd became readable
    K_ACCEPT,     // multishot ACCEPT on the listening socket
    K_PAUSE,      // TIMEOUT: accept rests after EMFILE and friends
    K_RECV,       // multishot RECV into buffers of the ring
    K_SEND,       // SEND of what is left of a connection's oldest buffer
    K_CLOSE,      // CLOSE of a connection's socket
    K_CLOSE_FD,   // CLOSE of the listener or the signalfd
    K_CANCEL,     // ASYNC_CANCEL of a connection's request, or the listener's
    K_PROBE,      // the RECV that asks the kernel for multishot (at start)
};

#define NO_SLOT 0xffffffffu
#define NO_BUF 0xffffu

// One connection.  Slots are reused; the generation tells a reused slot
// from the connection that had it before.  Instead of a buffer of its own
// it holds a queue of buffers of the ring: received, not yet all echoed.
struct conn {
    int fd;             // -1 while the slot is free
    unsigned gen;       // changes each time the slot is freed
    bool recv, send;    // a multishot RECV is armed; a SEND is in flight
    bool closing;       // its CLOSE is queued
    bool done;          // no more receiving: the client closed, or an error
    bool capped;        // it reached the cap: no RECV until all is echoed
    bool starved;       // on the list of those waiting for free buffers
    unsigned cancels;   // ASYNC_CANCELs of its requests in flight
    unsigned held;      // buffers in its queue
    unsigned sent;      // bytes of the oldest one already echoed
    uint16_t first, last; // its queue of buffer IDs, oldest first
    // What came in past the cap, copied out of the ring (see on_recv);
    // echoed after the queue.  NULL for every well-behaved client.
    char *spill;
    unsigned spill_len, spill_sent, spill_size;
    unsigned prev, next;  // neighbours on the starved list; next: free list
};

// The provided buffer ring.  The kernel takes buffers at its head (which
// only it can see) and we put them back at the tail.  Entry i of the
// ring says where a buffer is; buffer ID b is always bytes b * size of mem.
struct pool {
    struct io_uring_buf *ring; // entries, shared with the kernel
    unsigned short *tail;      // the shared tail: inside ring[0] (see pool_init)
    unsigned short local_tail; // entries we have written; published later
    unsigned entries, size;    // power-of-two count, bytes per buffer
    unsigned free;             // buffers in the ring, not held by a connection
    char *mem;                 // the buffers themselves
    unsigned *len;             // bytes received into each held buffer
    uint16_t *next;            // the next buffer in the same queue
    size_t ring_bytes, mem_bytes;
};

struct server {
    struct ring ring;
    struct pool pool;
    int listen_fd, signal_fd;
    struct conn *conns; // grows by doubling; the kernel never sees it
    unsigned nslots, free_head;
    unsigned starved_head, starved_tail; // waiting for buffers, oldest first
    unsigned cap;       // buffers one connection may hold before we stop it
    unsigned inflight;  // requests queued or owned by the kernel
    // SQEs that found the SQ full, oldest first (see sqe_for).  It never
    // holds more than the requests in flight: about three per connection.
    struct io_uring_sqe *backlog;
    unsigned backlog_len, backlog_size;
    uint64_t listener_ud; // the ACCEPT or TIMEOUT now in flight
    bool stopping;        // a signal came: wind down, then return
    bool paused;          // accept failed and has not succeeded since
    struct __kernel_timespec pause;
    int signo;
    unsigned long long served, bytes, short_sends, pauses;
    unsigned long long sqes, cqes, recv_arms, accept_arms, enobufs, capped;
};

struct options {
    struct sockaddr_storage addr; // ADDR and PORT
    socklen_t addrlen;
    unsigned buffers, size; // -n BUFFERS, -s BYTES
};

static struct options parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    usage_line = "[-a ADDR] [-p PORT] [-n BUFFERS] [-s BYTES]";
    const char *addr = "127.0.0.1";
    long long port = 8000, n = BUFFERS, size = BUF_SIZE;
    // We say what is wrong ourselves, in the usual "multishot-echo: ..." form.
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "ha:p:n:s:", longopts, 0)) != -1) {
        if (c == 'h')
            usage_help();
        else if (c == 'a')
            addr = optarg;
        else if (c == 'p' && (port = parse_count(optarg, 0, 65535)) < 0)
            usage_error("PORT must be a number from 0 to 65535, not '%s'",
                        optarg);
        // The kernel wants a power of two, at most 32768 (Linux 5.19+).
        else if (c == 'n' && ((n = parse_count(optarg, 1, 32768)) < 0 ||
                              (n & (n - 1))))
            usage_error("BUFFERS must be a power of two from 1 to 32768, "
                        "not '%s'",
                        optarg);
        else if (c == 's' && (size = parse_count(optarg, 1, 1 << 20)) < 0)
            usage_error("BYTES must be a number from 1 to 1048576, not '%s'",
                        optarg);
        else if (c == '?' && !strncmp(argv[optind - 1], "--", 2))
            usage_error("unknown option '%s'", argv[optind - 1]);
        else if (c == '?' && optopt && strchr("apns", optopt))
            usage_error("option '-%c' needs a value", optopt);
        else if (c == '?' && optopt)
            usage_error("option '-%c' is unknown", optopt);
        else if (c == '?')
            usage_error("unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        usage_error("too many arguments");
    struct options o = {.buffers = (unsigned)n, .size = (unsigned)size};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&o.addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&o.addr;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        o.addrlen = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        o.addrlen = sizeof(*in6);
    } else {
        usage_error("ADDR must be an IPv4 or IPv6 address, not '%s'", addr);
    }
    return o;
}

// Refuse to start on a kernel that lacks a request we will make, naming
// it and the release that added it.  IORING_REGISTER_PROBE (5.6) lists
// the opcodes this kernel knows; an older kernel refuses the probe itself.
// The probe knows opcodes, not flags: multishot is checked later.
static void require_opcodes(const struct ring *r)
{
    static const struct {
        unsigned op;
        const char *name, *since;
    } need[] = {
        {IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD", "5.1"},
        {IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT", "5.4"},
        {IORING_OP_ACCEPT, "IORING_OP_ACCEPT", "5.5"},
        {IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL", "5.5"},
        {IORING_OP_CLOSE, "IORING_OP_CLOSE", "5.6"},
        {IORING_OP_RECV, "IORING_OP_RECV", "5.6"},
        {IORING_OP_SEND, "IORING_OP_SEND", "5.6"},
    };
    size_t size =
        sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
    struct io_uring_probe *probe = calloc(1, size);
    if (!probe)
        die("calloc");
    int ret = sys_io_uring_register(r->fd, IORING_REGISTER_PROBE, probe, 256);
    const char *missing = 0, *since = "5.6";
    if (ret < 0)
        missing = "IORING_REGISTER_PROBE";
    for (size_t i = 0; !missing && i < sizeof(need) / sizeof(need[0]); i++) {
        unsigned op = need[i].op;
        if (op >= probe->ops_len ||
            !(probe->ops[op].flags & IO_URING_OP_SUPPORTED))
            missing = need[i].name, since = need[i].since;
    }
    // Without fast poll every receive waiting for data would hold a
    // kernel worker thread: one per idle client.
    if (!missing && !(r->features & IORING_FEAT_FAST_POLL))
        missing = "IORING_FEAT_FAST_POLL", since = "5.7";
    free(probe);
    if (missing)
        die_missing(missing, since);
}

// Put buffer bid back into the ring, at our private tail.  The kernel
// cannot take it before pool_publish().  Only addr, len and bid are ours
// to write: resv of entry 0 *is* the shared tail.
static void pool_give(struct pool *p, uint16_t bid)
{
    struct io_uring_buf *e = &p->ring[p->local_tail & (p->entries - 1)];
    e->addr = (uintptr_t)(p->mem + (size_t)bid * p->size);
    e->len = p->size;
    e->bid = bid;
    p->local_tail++;
    p->free++;
}

// Let the kernel see every buffer given back since the last call: one
// store of the tail for a whole batch.
static void pool_publish(struct pool *p)
{
    // Release: the entries written by pool_give() must be visible before
    // the tail that covers them, or the kernel could pick a buffer whose
    // address it reads half-written.  (liburing: io_uring_buf_ring_advance.)
    __atomic_store_n(p->tail, p->local_tail, __ATOMIC_RELEASE);
}

// Set up the buffer ring by hand: memory for the entries, memory for the
// buffers, IORING_REGISTER_PBUF_RING (Linux 5.19) to hand the entries'
// address to the kernel, then every buffer into the ring.  The program
// maps the ring itself (any kernel with buffer rings takes that; letting
// the kernel allocate it, IOU_PBUF_RING_MMAP, needs 6.4).
static void pool_init(struct server *s, unsigned n, unsigned size)
{
    struct pool *p = &s->pool;
    p->entries = n;
    p->size = size;
    // The entries must start on a page boundary: mmap's memory does.
    p->ring_bytes = n * sizeof(struct io_uring_buf);
    p->ring = mmap(0, p->ring_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p->mem_bytes = (size_t)n * size;
    p->mem = mmap(0, p->mem_bytes, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p->len = calloc(n, sizeof(*p->len));
    p->next = calloc(n, sizeof(*p->next));
    if (p->ring == MAP_FAILED || p->mem == MAP_FAILED || !p->len || !p->next)
        die("memory for %u buffers of %u bytes", n, size);
    // There is no separate header: the 16-bit tail overlays the resv field
    // of entry 0 (struct io_uring_buf_ring in <linux/io_uring.h>), which
    // is why pool_give() never writes resv.
    p->tail = &p->ring[0].resv;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)p->ring,
        .ring_entries = n,
        .bgid = BGID,
    };
    int ret = sys_io_uring_register(s->ring.fd, IORING_REGISTER_PBUF_RING,
                                    &reg, 1);
    // A kernel before 5.19 does not know the opcode at all: EINVAL.
    if (ret == -EINVAL)
        die_missing("IORING_REGISTER_PBUF_RING", "5.19");
    if (ret < 0)
        die_err(-ret, "IORING_REGISTER_PBUF_RING");
    for (unsigned bid = 0; bid < n; bid++)
        pool_give(p, (uint16_t)bid);
    pool_publish(p);
}

// After the last request: unregister, then free.  Until the kernel lets
// go of the ring it may pick a buffer from it, so the order matters.
static void pool_exit(struct server *s)
{
    struct io_uring_buf_reg reg = {.bgid = BGID};
    sys_io_uring_register(s->ring.fd, IORING_UNREGISTER_PBUF_RING, &reg, 1);
    munmap(s->pool.ring, s->pool.ring_bytes);
    munmap(s->pool.mem, s->pool.mem_bytes);
    free(s->pool.len);
    free(s->pool.next);
}

// Create the listening socket and print "listening on ADDR:PORT" with the
// port the kernel really chose (PORT 0 asks it for a free one).
static int listen_on(struct options *o)
{
    int fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    // Lets a restarted server bind while old connections sit in
    // TIME_WAIT.  It does not let two servers share a port.
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    char name[INET6_ADDRSTRLEN];
    bool v6 = o->addr.ss_family == AF_INET6;
    void *ip = v6 ? (void *)&((struct sockaddr_in6 *)&o->addr)->sin6_addr
                  : (void *)&((struct sockaddr_in *)&o->addr)->sin_addr;
    uint16_t *port = v6 ? &((struct sockaddr_in6 *)&o->addr)->sin6_port
                        : &((struct sockaddr_in *)&o->addr)->sin_port;
    inet_ntop(o->addr.ss_family, ip, name, sizeof(name));
    if (bind(fd, (struct sockaddr *)&o->addr, o->addrlen) < 0)
        die(v6 ? "bind [%s]:%u" : "bind %s:%u", name, ntohs(*port));
    if (listen(fd, SOMAXCONN) < 0)
        die("listen");
    if (getsockname(fd, (struct sockaddr *)&o->addr, &o->addrlen) < 0)
        die("getsockname");
    printf(v6 ? "listening on [%s]:%u\n" : "listening on %s:%u\n", name,
           ntohs(*port));
    fflush(stdout);
    return fd;
}

// SIGINT and SIGTERM become a file to poll: blocked, they wait in the
// signalfd until the ring tells us it is readable (see queue_signal).
static int signals_to_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, 0) < 0)
        die("sigprocmask");
    int fd = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd < 0)
        die("signalfd");
    return fd;
}

// user_data is 64 bits the kernel hands back untouched in the CQE.  We
// pack the kind of request (bits 0-7), the connection's slot (8-39) and
// the slot's generation (40-63).  Never the raw fd: the moment a socket
// is closed, accept may hand the same number to a new client.  A
// multishot request gets the same user_data in every one of its CQEs.
static uint64_t ud_make(enum kind k, unsigned slot, unsigned gen)
{
    return (uint64_t)gen << 40 | (uint64_t)slot << 8 | k;
}

static enum kind ud_kind(uint64_t ud)
{
    return (enum kind)(ud & 0xff);
}

static uint64_t conn_ud(const struct server *s, const struct conn *c,
                        enum kind k)
{
    return ud_make(k, (unsigned)(c - s->conns), c->gen);
}

// Submit what is queued and, with wait_nr, wait for that many CQEs.
// EAGAIN and EBUSY (the kernel is short of memory for requests, or before
// 5.13 has CQEs backed up) are not fatal: we reap and try again.
static void submit(struct server *s, unsigned wait_nr)
{
    int ret = ring_submit(&s->ring, wait_nr);
    if (ret < 0 && ret != -EAGAIN && ret != -EBUSY)
        die_err(-ret, "io_uring_enter");
}

// An SQE for a request with user_data ud, counted as in flight.  Most
// calls come from a completion handler, that is from inside the loop
// that reaps, so this must never wait for room in the SQ: room comes
// only from io_uring_enter, which on Linux 5.5 to 5.12 refuses every
// submission until the CQEs it holds back fit in the CQ, which happens
// only when we reap.  Waiting here for room would wait for ever.  So
// when the SQ is full (or older SQEs already wait, since cancellations
// must follow what they cancel), the SQE is one of ours, in the backlog,
// and serve() moves it into the SQ once there is room.
static struct io_uring_sqe *sqe_for(struct server *s, uint64_t ud)
{
    struct io_uring_sqe *sqe = s->backlog_len ? 0 : sq_get(&s->ring);
    if (!sqe) {
        if (s->backlog_len == s->backlog_size) {
            unsigned n = s->backlog_size ? 2 * s->backlog_size : 64;
            struct io_uring_sqe *grown =
                realloc(s->backlog, n * sizeof(*grown));
            if (!grown)
                die("request backlog");
            s->backlog = grown;
            s->backlog_size = n;
        }
        sqe = &s->backlog[s->backlog_len++];
        memset(sqe, 0, sizeof(*sqe));
    }
    sqe->user_data = ud;
    s->inflight++;
    s->sqes++;
    return sqe;
}

// Move what waits in the backlog into the SQ, oldest first, while there
// is room.  The kernel copies each SQE when it submits it, so a copy made
// in our own memory is as good as one written in place.
static void backlog_flush(struct server *s)
{
    unsigned moved = 0;
    struct io_uring_sqe *sqe;
    while (moved < s->backlog_len && (sqe = sq_get(&s->ring)))
        *sqe = s->backlog[moved++];
    if (moved == 0)
        return;
    s->backlog_len -= moved;
    memmove(s->backlog, s->backlog + moved,
            s->backlog_len * sizeof(*s->backlog));
}

static void queue_signal(struct server *s)
{
    struct io_uring_sqe *sqe = sqe_for(s, ud_make(K_SIGNAL, 0, 0));
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = s->signal_fd;
    unsigned mask = POLLIN;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    // The kernel reads the 32-bit mask with its halves swapped here.
    mask = mask << 16 | mask >> 16;
#endif
    sqe->poll32_events = mask;
}

// One ACCEPT for every client to come (Linux 5.19): each new socket is a
// CQE with IORING_CQE_F_MORE, until one without it says the request ended.
static void queue_accept(struct server *s)
{
    s->listener_ud = ud_make(K_ACCEPT, 0, 0);
    struct io_uring_sqe *sqe = sqe_for(s, s->listener_ud);
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = s->listen_fd;
    sqe->accept_flags = SOCK_CLOEXEC;
    sqe->ioprio = IORING_ACCEPT_MULTISHOT;
    s->accept_arms++;
}

// Rest before the next accept.  The timespec lives in *s: the kernel reads
// it at submission (IORING_FEAT_SUBMIT_STABLE, 5.5), but keeping it longer
// costs nothing.
static void queue_pause(struct server *s)
{
    s->pause.tv_sec = 0;
    s->pause.tv_nsec = PAUSE_MS * 1000000LL;
    s->listener_ud = ud_make(K_PAUSE, 0, 0);
    struct io_uring_sqe *sqe = sqe_for(s, s->listener_ud);
    sqe->opcode = IORING_OP_TIMEOUT;
    sqe->fd = -1;
    sqe->addr = (uintptr_t)&s->pause;
    sqe->len = 1;
}

// One RECV for all the data to come on fd (Linux 6.0): no buffer of ours
// in the SQE, only the group to take buffers from (IOSQE_BUFFER_SELECT).
// Every CQE carries the ID of the buffer it filled.
static void prep_recv(struct io_uring_sqe *sqe, int fd)
{
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = fd;
    sqe->ioprio = IORING_RECV_MULTISHOT;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
}

static void queue_recv(struct server *s, struct conn *c)
{
    prep_recv(sqe_for(s, conn_ud(s, c, K_RECV)), c->fd);
    c->recv = true;
    s->recv_arms++;
}

// Send what is left of the connection's oldest buffer (or, once the
// queue is empty, of its spill).  IORING_OP_SEND cannot raise SIGPIPE (the
// kernel adds MSG_NOSIGNAL since 5.12; we say it for older ones), where
// IORING_OP_WRITE to a reset socket kills us.
static void queue_send(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s, conn_ud(s, c, K_SEND));
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = c->fd;
    if (c->held) {
        sqe->addr = (uintptr_t)(s->pool.mem +
                                (size_t)c->first * s->pool.size + c->sent);
        sqe->len = s->pool.len[c->first] - c->sent;
    } else {
        sqe->addr = (uintptr_t)(c->spill + c->spill_sent);
        sqe->len = c->spill_len - c->spill_sent;
    }
    sqe->msg_flags = MSG_NOSIGNAL;
    c->send = true;
}

// Close a socket the connection no longer uses.  Its slot stays taken
// until the CLOSE completes, so no completion can outlive its state.
static void queue_close(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s, conn_ud(s, c, K_CLOSE));
    sqe->opcode = IORING_OP_CLOSE;
    sqe->fd = c->fd;
    c->closing = true;
}

static void queue_close_fd(struct server *s, int fd)
{
    struct io_uring_sqe *sqe = sqe_for(s, ud_make(K_CLOSE_FD, 0, 0));
    sqe->opcode = IORING_OP_CLOSE;
    sqe->fd = fd;
}

// Ask the kernel to cancel the request whose user_data is target; ud says
// whom to tell.  That request still completes (with -ECANCELED, or with
// its result if it won the race).  A multishot request ends with it.
static void queue_cancel(struct server *s, uint64_t ud, uint64_t target)
{
    struct io_uring_sqe *sqe = sqe_for(s, ud);
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = target;
}

static void cancel_conn(struct server *s, struct conn *c, enum kind k)
{
    queue_cancel(s, conn_ud(s, c, K_CANCEL), conn_ud(s, c, k));
    c->cancels++;
}

// Before 6.0 a RECV with IORING_RECV_MULTISHOT is refused, but only when
// one is made (5.19 has buffer rings, so the register call cannot tell).
// Ask once, before any client depends on it: a multishot RECV on a socket
// whose peer has gone completes at once, with 0, or with -EINVAL here.
static void require_multishot_recv(struct server *s)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    close(sv[1]);
    prep_recv(sqe_for(s, ud_make(K_PROBE, 0, 0)), sv[0]);
    struct io_uring_cqe cqe;
    do
        submit(s, 1);
    while (!cq_pop(&s->ring, &cqe));
    s->inflight--;
    s->sqes = 0;
    // A buffer taken for nothing must still go back (IORING_CQE_F_BUFFER).
    if (cqe.flags & IORING_CQE_F_BUFFER) {
        s->pool.free--;
        pool_give(&s->pool, (uint16_t)(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
    }
    close(sv[0]);
    if (cqe.res == -EINVAL)
        die_missing("IORING_RECV_MULTISHOT", "6.0");
}

// A free slot for a new connection on fd, or NULL when out of memory.
static struct conn *conn_new(struct server *s, int fd)
{
    if (s->free_head == NO_SLOT) {
        unsigned n = s->nslots ? 2 * s->nslots : 64;
        struct conn *grown = realloc(s->conns, n * sizeof(*grown));
        if (!grown)
            return 0;
        s->conns = grown;
        for (unsigned i = n; i-- > s->nslots;) {
            grown[i] = (struct conn){.fd = -1, .next = s->free_head};
            s->free_head = i;
        }
        s->nslots = n;
    }
    struct conn *c = &s->conns[s->free_head];
    s->free_head = c->next;
    unsigned gen = c->gen;
    *c = (struct conn){.fd = fd, .gen = gen, .first = NO_BUF};
    return c;
}

// The connection a completion belongs to, or NULL if its slot has moved
// on.  That cannot happen while a slot is freed only by its last CQE; the
// generation check is how we would find out if it did.
static struct conn *conn_of(struct server *s, uint64_t ud)
{
    unsigned slot = (unsigned)(ud >> 8), gen = (unsigned)(ud >> 40);
    if (slot >= s->nslots || s->conns[slot].fd < 0 || s->conns[slot].gen != gen)
        return 0;
    return &s->conns[slot];
}

static void conn_free(struct server *s, struct conn *c)
{
    c->fd = -1;
    c->gen = (c->gen + 1) & 0xffffff;
    c->next = s->free_head;
    s->free_head = (unsigned)(c - s->conns);
}

// The list of connections whose RECV ended for want of buffers, oldest
// first, linked by slot number so that one can leave it from anywhere.
static void starve(struct server *s, struct conn *c)
{
    unsigned slot = (unsigned)(c - s->conns);
    c->starved = true;
    c->next = NO_SLOT;
    c->prev = s->starved_tail;
    if (s->starved_tail == NO_SLOT)
        s->starved_head = slot;
    else
        s->conns[s->starved_tail].next = slot;
    s->starved_tail = slot;
}

static void unstarve(struct server *s, struct conn *c)
{
    if (c->prev == NO_SLOT)
        s->starved_head = c->next;
    else
        s->conns[c->prev].next = c->next;
    if (c->next == NO_SLOT)
        s->starved_tail = c->prev;
    else
        s->conns[c->next].prev = c->prev;
    c->starved = false;
}

// Buffer bid now holds len bytes the client sent: append it to the
// connection's queue.  The bytes go back out in the order they came in.
static void conn_hold(struct server *s, struct conn *c, uint16_t bid,
                      unsigned len)
{
    s->pool.len[bid] = len;
    s->pool.next[bid] = NO_BUF;
    if (c->first == NO_BUF)
        c->first = bid;
    else
        s->pool.next[c->last] = bid;
    c->last = bid;
    c->held++;
}

// Bytes past the cap: copy them out and give the buffer straight back, so
// that the ring never holds more than cap buffers of one connection.
static void conn_spill(struct server *s, struct conn *c, uint16_t bid,
                       unsigned len)
{
    if (c->spill_len + len > c->spill_size) {
        unsigned n = c->spill_size ? 2 * c->spill_size : 4 * s->pool.size;
        while (n < c->spill_len + len)
            n *= 2;
        char *grown = realloc(c->spill, n);
        if (!grown)
            die("memory for a connection's bytes");
        c->spill = grown;
        c->spill_size = n;
    }
    memcpy(c->spill + c->spill_len, s->pool.mem + (size_t)bid * s->pool.size,
           len);
    c->spill_len += len;
    pool_give(&s->pool, bid);
}

// The spill is echoed (or will never be): free it.
static void conn_unspill(struct conn *c)
{
    free(c->spill);
    c->spill = 0;
    c->spill_len = c->spill_sent = c->spill_size = 0;
}

// The oldest buffer is echoed (or will never be): back into the ring.
static void conn_release(struct server *s, struct conn *c)
{
    uint16_t bid = c->first;
    c->first = s->pool.next[bid];
    c->held--;
    c->sent = 0;
    pool_give(&s->pool, bid);
}

// Decide what a connection needs next, from its state alone.  Every
// completion that concerns it ends here.
//  - bytes held and no SEND in flight: send the oldest buffer's rest;
//  - no RECV armed, still receiving, not capped: arm one, or wait on the
//    starved list if the ring is empty (it would end at once, -ENOBUFS);
//  - finished, and nothing of its own in flight: close it.
static void conn_next(struct server *s, struct conn *c)
{
    if (c->closing)
        return;
    if (s->stopping && !c->send) {
        while (c->held)
            conn_release(s, c); // no more echoing: what is held goes back
        conn_unspill(c);
    }
    if ((c->held || c->spill) && !c->send)
        queue_send(s, c);
    if (c->capped && !c->held && !c->spill)
        c->capped = false;
    if (!c->recv && !c->done && !c->capped && !c->starved && !c->cancels &&
        !s->stopping) {
        if (s->pool.free > 0)
            queue_recv(s, c);
        else
            starve(s, c);
    }
    if ((c->done || s->stopping) && !c->recv && !c->send && !c->cancels &&
        !c->held && !c->spill) {
        if (c->starved)
            unstarve(s, c);
        queue_close(s, c);
    }
}

// Buffers came back: arm the RECVs of starved connections, oldest first,
// one for each free buffer.  That count holds for a connection with bytes
// waiting: its RECV takes a buffer at once, or ends at once (-ENOBUFS) if
// another took the last one; either way a CQE comes, and another turn of
// the loop.  But conn_next() also puts a connection here that had nothing
// to say when the ring was empty.  Its RECV takes no buffer and no CQE
// comes until the client speaks: counted, it would use up the turn, and a
// connection with data behind it could wait for ever.  FIONREAD (bytes in
// the socket, one system call) tells them apart: a quiet connection's
// RECV is armed as well, but not counted.
static void feed_starved(struct server *s)
{
    unsigned n = s->pool.free;
    while (n > 0 && s->starved_head != NO_SLOT && !s->stopping) {
        struct conn *c = &s->conns[s->starved_head];
        // If FIONREAD fails, waiting stays 0: leaving a RECV uncounted
        // costs at most one more -ENOBUFS, counting a quiet one can hang.
        int waiting = 0;
        ioctl(c->fd, FIONREAD, &waiting);
        unstarve(s, c);
        conn_next(s, c);
        if (waiting > 0)
            n--;
    }
}

// An ACCEPT completed: res is the new socket, or -errno.  IORING_CQE_F_MORE
// says the multishot request goes on; without it, it has ended and we arm
// it again.  Out of file descriptors (EMFILE, ENFILE) or memory, accepting
// again at once would fail again at once, a busy loop: rest PAUSE_MS
// first.  The waiting clients stay in the listen backlog meanwhile.
static void on_accept(struct server *s, int res, bool more)
{
    if (res >= 0) {
        s->paused = false;
        struct conn *c = conn_new(s, res);
        if (!c) {
            warn_err(ENOMEM, "connection state");
            queue_close_fd(s, res);
        } else if (s->stopping) {
            c->done = true;
            conn_next(s, c);
        } else {
            s->served++;
            conn_next(s, c);
        }
    } else if (res == -EINVAL && !s->served) {
        // Before 5.19 the flag itself is refused.
        die_missing("IORING_ACCEPT_MULTISHOT", "5.19");
    } else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR &&
               res != -EAGAIN) {
        if (!s->paused) {
            warn_err(-res, "accept (trying again every %d ms)", PAUSE_MS);
            s->pauses++;
        }
        s->paused = true;
    }
    if (more)
        return;
    if (s->stopping)
        queue_close_fd(s, s->listen_fd);
    else if (res < 0 && s->paused)
        queue_pause(s);
    else
        queue_accept(s);
}

// A RECV completion.  It names a buffer only if IORING_CQE_F_BUFFER is
// set: never read the ID otherwise (an error takes none, and the ID bits
// of such a CQE mean nothing).  Data: queue it for echoing.  0: the client
// closed.  -ENOBUFS: the ring was empty; the data waits in the socket and
// the RECV ended: arm it again once buffers are back.  Without
// IORING_CQE_F_MORE the RECV is over, whatever the reason.
static void on_recv(struct server *s, struct conn *c, int res, unsigned flags)
{
    if (flags & IORING_CQE_F_BUFFER) {
        uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
        s->pool.free--;
        if (res > 0 && (c->capped || c->spill))
            conn_spill(s, c, bid, (unsigned)res);
        else if (res > 0)
            conn_hold(s, c, bid, (unsigned)res);
        else
            pool_give(&s->pool, bid);
    }
    if (!(flags & IORING_CQE_F_MORE))
        c->recv = false;
    if (res == -ENOBUFS)
        s->enobufs++;
    else if (res == 0 || (res < 0 && res != -ECANCELED && res != -EAGAIN &&
                          res != -EINTR))
        c->done = true;
    // Back-pressure: a client that sends and never reads would otherwise
    // fill every buffer of the ring.  At the cap, cancel its RECV; its
    // data then waits in its own socket (and TCP tells it to slow down).
    // The cancel is a request like any other: until it lands, the kernel
    // goes on filling buffers for this socket (tens in one burst), and
    // conn_spill() copies those out.
    if (c->held >= s->cap && !c->capped) {
        c->capped = true;
        s->capped++;
        if (c->recv)
            cancel_conn(s, c, K_RECV);
    }
    conn_next(s, c);
}

// A SEND completed, perhaps short: a stream socket may take only part of
// the buffer (when the client reads slowly, say).  The rest goes next;
// once a buffer is all echoed, it goes back into the ring.
static void on_send(struct server *s, struct conn *c, int res)
{
    c->send = false;
    if (res > 0 && c->held) {
        s->bytes += (unsigned)res;
        c->sent += (unsigned)res;
        if (c->sent < s->pool.len[c->first])
            s->short_sends++;
        else
            conn_release(s, c);
    } else if (res > 0) {
        s->bytes += (unsigned)res;
        c->spill_sent += (unsigned)res;
        if (c->spill_sent < c->spill_len)
            s->short_sends++;
        else
            conn_unspill(c);
    } else if (res != -EAGAIN && res != -EINTR) {
        // The client is gone: nothing held will ever be echoed.
        c->done = true;
        while (c->held)
            conn_release(s, c);
        conn_unspill(c);
        if (c->recv && !c->cancels)
            cancel_conn(s, c, K_RECV);
    }
    conn_next(s, c);
}

// SIGINT or SIGTERM: stop accepting, cancel every request that could wait
// forever (the ACCEPT, a RECV from an idle client, a SEND to one that does
// not read), and let each completion close what it held.  close(2) alone
// would not do: a pending request keeps its socket open.
static void stop(struct server *s)
{
    struct signalfd_siginfo si;
    if (read(s->signal_fd, &si, sizeof(si)) == sizeof(si))
        s->signo = (int)si.ssi_signo;
    s->stopping = true;
    queue_close_fd(s, s->signal_fd);
    queue_cancel(s, ud_make(K_CANCEL, NO_SLOT, 0), s->listener_ud);
    for (unsigned i = 0; i < s->nslots; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd < 0 || c->closing)
            continue;
        if (c->recv)
            cancel_conn(s, c, K_RECV);
        if (c->send)
            cancel_conn(s, c, K_SEND);
        conn_next(s, c);
    }
}

// Route one completion by the kind of request in its user_data.
static void complete(struct server *s, const struct io_uring_cqe *cqe)
{
    enum kind k = ud_kind(cqe->user_data);
    bool more = cqe->flags & IORING_CQE_F_MORE;
    struct conn *c = 0;
    if (k == K_RECV || k == K_SEND || k == K_CLOSE ||
        (k == K_CANCEL && (unsigned)(cqe->user_data >> 8) != NO_SLOT)) {
        c = conn_of(s, cqe->user_data);
        if (!c) {
            warn_err(0,
                     "completion for a connection that is gone "
                     "(user_data %#llx)",
                     (unsigned long long)cqe->user_data);
            return;
        }
    }
    switch (k) {
    case K_SIGNAL:
        stop(s);
        break;
    case K_ACCEPT:
        on_accept(s, cqe->res, more);
        break;
    case K_PAUSE: // -ETIME: the rest is over; -ECANCELED: we are stopping
        if (s->stopping)
            queue_close_fd(s, s->listen_fd);
        else
            queue_accept(s);
        break;
    case K_RECV:
        on_recv(s, c, cqe->res, cqe->flags);
        break;
    case K_SEND:
        on_send(s, c, cqe->res);
        break;
    case K_CLOSE:
        conn_free(s, c);
        break;
    case K_CANCEL: // 0, -ENOENT (it had finished), -EALREADY: all fine
        if (c) {
            c->cancels--;
            conn_next(s, c);
        }
        break;
    case K_CLOSE_FD: // nothing held: nothing to do
    case K_PROBE:
        break;
    }
}

// The event loop: hand the kernel the buffers the last completions gave
// back (and arm the RECVs that waited for them), submit what the
// completions queued, wait for at least one more, handle them all.  While
// the backlog still holds SQEs it does not wait: it submits, reaps what is
// there and comes back for more room.  A multishot request stays in flight
// until its CQE without IORING_CQE_F_MORE.  The loop ends when nothing is
// in flight, which happens only after stop(): until then the signal poll
// and the accept (or its pause) are always pending.
static void serve(struct server *s)
{
    while (s->inflight > 0) {
        feed_starved(s);
        pool_publish(&s->pool);
        backlog_flush(s);
        submit(s, s->backlog_len ? 0 : 1);
        struct io_uring_cqe cqe;
        while (cq_pop(&s->ring, &cqe)) {
            s->cqes++;
            if (!(cqe.flags & IORING_CQE_F_MORE))
                s->inflight--;
            complete(s, &cqe);
        }
    }
}

// Set up the ring.  Every socket that becomes ready leaves the kernel
// some completion work to do in our thread (task_work).  By default it
// interrupts us for it at once, one socket at a time; DEFER_TASKRUN
// (Linux 6.1, with SINGLE_ISSUER: only this thread uses the ring) keeps it
// until we next wait in io_uring_enter and does it all in one batch.
// Kernels that lack a setup flag refuse it with EINVAL: then do without.
static void server_ring(struct server *s)
{
    unsigned entries = RING_ENTRIES;
    const char *hook = getenv("ECHO_SERVER_ENTRIES");
    if (hook && parse_count(hook, 1, 4096) > 0)
        entries = (unsigned)parse_count(hook, 1, 4096);
    const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0};
    int ret = -EINVAL;
    for (int i = 0; i < 2 && ret == -EINVAL; i++) {
        struct io_uring_params p = {.flags = tries[i]};
        if (entries == RING_ENTRIES) {
            p.flags |= IORING_SETUP_CQSIZE;
            p.cq_entries = CQ_ENTRIES;
        }
        ret = ring_init(&s->ring, entries, &p);
    }
    if (ret < 0)
        die_unavailable(-ret, "io_uring_setup");
}

int main(int argc, char **argv)
{
    std_fds_open();
    struct options o = parse_args(argc, argv);
    static struct server s = {
        .free_head = NO_SLOT, .starved_head = NO_SLOT, .starved_tail = NO_SLOT};
    server_ring(&s);
    require_opcodes(&s.ring);
    pool_init(&s, o.buffers, o.size);
    require_multishot_recv(&s);
    // One connection may hold a sixteenth of the ring, at most 16 buffers.
    s.cap = o.buffers / 16 < 1 ? 1 : o.buffers / 16 > 16 ? 16 : o.buffers / 16;
    s.signal_fd = signals_to_fd();
    s.listen_fd = listen_on(&o);
    queue_signal(&s);
    queue_accept(&s);
    serve(&s);
    warn_err(0,
             "stopped by %s: served %llu connection%s, echoed %llu bytes, "
             "finished %llu short sends, paused accept %llu times; "
             "SQEs %llu, CQEs %llu, recv arms %llu, accept arms %llu, "
             "ENOBUFS %llu, capped %llu",
             s.signo == SIGINT ? "SIGINT" : "SIGTERM", s.served,
             s.served == 1 ? "" : "s", s.bytes, s.short_sends, s.pauses,
             s.sqes, s.cqes, s.recv_arms, s.accept_arms, s.enobufs, s.capped);
    pool_exit(&s);
    ring_exit(&s.ring);
    free(s.conns);
    free(s.backlog);
    return EXIT_SUCCESS;
}
