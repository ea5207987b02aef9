/*
 * 06-echo-server/echo-server.c - stage 6: sockets, and state in user_data
 *
 * A TCP echo server in which every accept, receive, send and close is an
 * io_uring request.  Many connections share one ring; each completion says
 * which connection and which step it was through user_data alone.  Each
 * connection has one buffer and one request in flight: receive, send it all
 * back (finishing short sends), receive again.  A signal ends the loop the
 * same way: as a completion.
 * New since 05-sqpoll: sockets, per-connection state, cancellation (and
 * no SQPOLL: a server that waits for clients would keep a poller busy).
 * Read alongside docs/06-echo-server.md.   usage: ./echo-server [-a A] [-p P]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "die.h"
#include "uring.h"

// SQEs per io_uring_enter at most; the test hook ECHO_SERVER_ENTRIES makes
// it tiny so that a full SQ and a full CQ happen all the time.
#define RING_ENTRIES 256
// Every connection has one request in flight, so hundreds of connections
// can complete at once: give the CQ room for them (IORING_SETUP_CQSIZE).
#define CQ_ENTRIES 4096
// One buffer per connection: what we received and are sending back.
#define BUF_SIZE 16384
// How long accept rests after running out of file descriptors.
#define PAUSE_MS 50

// Newer than the 5.15 headers the course builds against.
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12) // Linux 6.0
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13) // Linux 6.1
#endif

// What a request was.  With the slot and generation of its connection,
// this is all a completion needs to find its way home (see ud_make).
enum kind {
    K_SIGNAL = 1, // POLL_ADD: the signalfd became readable
    K_ACCEPT,     // ACCEPT on the listening socket
    K_PAUSE,      // TIMEOUT: accept rests after EMFILE and friends
    K_RECV,       // RECV into a connection's buffer
    K_SEND,       // SEND of what is left of that buffer
    K_CLOSE,      // CLOSE of a connection's socket
    K_CLOSE_FD,   // CLOSE of the listener or the signalfd
    K_CANCEL,     // ASYNC_CANCEL of another request
};

// One connection.  Slots are reused; the generation tells a reused slot
// from the connection that had it before.
struct conn {
    int fd;             // -1 while the slot is free
    unsigned gen;       // changes each time the slot is freed
    enum kind busy;     // the one request in flight for it, or 0
    bool cancelled;     // an ASYNC_CANCEL of that request is on its way
    unsigned len, sent; // bytes in buf, and how many are echoed already
    unsigned next_free; // next slot of the free list
    char *buf;          // BUF_SIZE bytes, kept with the slot for reuse
};

#define NO_SLOT 0xffffffffu

struct server {
    struct ring ring;
    int listen_fd, signal_fd;
    struct conn *conns; // grows by doubling; the kernel never sees it
    unsigned nslots, free_head;
    unsigned inflight;    // requests queued or owned by the kernel
    // SQEs that found the SQ full, oldest first (see sqe_for).  It never
    // holds more than the requests in flight: about two per connection.
    struct io_uring_sqe *backlog;
    unsigned backlog_len, backlog_size;
    uint64_t listener_ud; // the ACCEPT or TIMEOUT now in flight
    bool stopping;        // a signal came: wind down, then return
    bool paused;          // accept failed and has not succeeded since
    struct __kernel_timespec pause;
    int signo;
    unsigned long long served, bytes, short_sends, pauses;
};

struct options {
    struct sockaddr_storage addr; // ADDR and PORT
    socklen_t addrlen;
};

static struct options parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    usage_line = "[-a ADDR] [-p PORT]";
    const char *addr = "127.0.0.1";
    long long port = 8000;
    // We say what is wrong ourselves, in the usual "echo-server: ..." form.
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "ha:p:", longopts, 0)) != -1) {
        if (c == 'h')
            usage_help();
        else if (c == 'a')
            addr = optarg;
        else if (c == 'p' && (port = parse_count(optarg, 0, 65535)) < 0)
            usage_error("PORT must be a number from 0 to 65535, not '%s'",
                        optarg);
        else if (c == '?' && !strncmp(argv[optind - 1], "--", 2))
            usage_error("unknown option '%s'", argv[optind - 1]);
        else if (c == '?' && optopt && strchr("ap", optopt))
            usage_error("option '-%c' needs a value", optopt);
        else if (c == '?' && optopt)
            usage_error("option '-%c' is unknown", optopt);
        else if (c == '?')
            usage_error("unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        usage_error("too many arguments");
    struct options o = {0};
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
// is closed, accept may hand the same number to a new client.
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
// ring_submit() already pauses and tries again when the kernel takes no
// new requests (EAGAIN, EBUSY), for up to a second.  A
// copy gives up after that; a server keeps its clients and simply tries
// again on the next turn of the loop, so those two are not fatal here.
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

static void queue_accept(struct server *s)
{
    s->listener_ud = ud_make(K_ACCEPT, 0, 0);
    struct io_uring_sqe *sqe = sqe_for(s, s->listener_ud);
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = s->listen_fd;
    sqe->accept_flags = SOCK_CLOEXEC;
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

// Receive into the connection's whole buffer.  Nothing else is in flight
// for it: its buffer is free.
static void queue_recv(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s, conn_ud(s, c, K_RECV));
    sqe->opcode = IORING_OP_RECV;
    sqe->fd = c->fd;
    sqe->addr = (uintptr_t)c->buf;
    sqe->len = BUF_SIZE;
    c->busy = K_RECV;
}

// Send what is left of the buffer: bytes sent..len.  IORING_OP_SEND
// cannot raise SIGPIPE (the kernel adds MSG_NOSIGNAL since 5.12; we say it
// for older ones), where IORING_OP_WRITE to a reset socket kills us.
static void queue_send(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s, conn_ud(s, c, K_SEND));
    sqe->opcode = IORING_OP_SEND;
    sqe->fd = c->fd;
    sqe->addr = (uintptr_t)(c->buf + c->sent);
    sqe->len = c->len - c->sent;
    sqe->msg_flags = MSG_NOSIGNAL;
    c->busy = K_SEND;
}

// Close a socket the connection no longer uses.  Its slot stays taken
// until the CLOSE completes, so no completion can outlive its state.
static void queue_close(struct server *s, struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_for(s, conn_ud(s, c, K_CLOSE));
    sqe->opcode = IORING_OP_CLOSE;
    sqe->fd = c->fd;
    c->busy = K_CLOSE;
}

static void queue_close_fd(struct server *s, int fd)
{
    struct io_uring_sqe *sqe = sqe_for(s, ud_make(K_CLOSE_FD, 0, 0));
    sqe->opcode = IORING_OP_CLOSE;
    sqe->fd = fd;
}

// Ask the kernel to cancel the request whose user_data is target.  That
// request still completes (with -ECANCELED, or with its result if it won
// the race); only then may its buffer and socket go.
static void queue_cancel(struct server *s, uint64_t target)
{
    struct io_uring_sqe *sqe = sqe_for(s, ud_make(K_CANCEL, 0, 0));
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = target;
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
            grown[i] = (struct conn){.fd = -1, .next_free = s->free_head};
            s->free_head = i;
        }
        s->nslots = n;
    }
    struct conn *c = &s->conns[s->free_head];
    if (!c->buf && !(c->buf = malloc(BUF_SIZE)))
        return 0;
    s->free_head = c->next_free;
    c->fd = fd;
    c->busy = 0;
    c->cancelled = false;
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
    c->next_free = s->free_head;
    s->free_head = (unsigned)(c - s->conns);
}

// An ACCEPT completed: res is the new socket, or -errno.  Out of file
// descriptors (EMFILE, ENFILE) or memory, accepting again at once would
// fail again at once, a busy loop: rest PAUSE_MS first.  The waiting
// clients stay in the listen backlog meanwhile.
static void on_accept(struct server *s, int res)
{
    if (res >= 0) {
        s->paused = false;
        struct conn *c = conn_new(s, res);
        if (!c) {
            warn_err(ENOMEM, "connection state");
            queue_close_fd(s, res);
        } else if (s->stopping) {
            queue_close(s, c);
        } else {
            s->served++;
            queue_recv(s, c);
        }
    } else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR &&
               res != -EAGAIN) {
        if (!s->paused) {
            warn_err(-res, "accept (trying again every %d ms)", PAUSE_MS);
            s->pauses++;
        }
        s->paused = true;
    }
    if (s->stopping)
        queue_close_fd(s, s->listen_fd);
    else if (res < 0 && s->paused)
        queue_pause(s);
    else
        queue_accept(s);
}

// A RECV completed.  Data: echo it.  0 (the client closed), an error
// (a reset) or a cancellation: this connection is done, the others go on.
static void on_recv(struct server *s, struct conn *c, int res)
{
    if ((res == -EAGAIN || res == -EINTR) && !s->stopping)
        queue_recv(s, c);
    else if (res <= 0 || s->stopping)
        queue_close(s, c);
    else {
        c->len = (unsigned)res;
        c->sent = 0;
        queue_send(s, c);
    }
}

// A SEND completed, perhaps short: a stream socket may take only part of
// the buffer (when the client reads slowly, say).  Send the rest before
// receiving more.  A client that never reads thus stops being read from:
// its send waits in the kernel, holding nothing but its own buffer.
static void on_send(struct server *s, struct conn *c, int res)
{
    if (res > 0) {
        s->bytes += (unsigned)res;
        c->sent += (unsigned)res;
    }
    if ((res == -EAGAIN || res == -EINTR) && !s->stopping)
        queue_send(s, c);
    else if (res <= 0 || s->stopping)
        queue_close(s, c);
    else if (c->sent < c->len) {
        s->short_sends++;
        queue_send(s, c);
    } else
        queue_recv(s, c);
}

// SIGINT or SIGTERM: stop accepting, cancel every request that could wait
// forever (an ACCEPT, a RECV from an idle client, a SEND to one that does
// not read), and let each completion close what it held.  close(2) alone
// would not do: a pending request keeps its socket open.
static void stop(struct server *s)
{
    struct signalfd_siginfo si;
    if (read(s->signal_fd, &si, sizeof(si)) == sizeof(si))
        s->signo = (int)si.ssi_signo;
    s->stopping = true;
    queue_close_fd(s, s->signal_fd);
    queue_cancel(s, s->listener_ud);
    for (unsigned i = 0; i < s->nslots; i++) {
        struct conn *c = &s->conns[i];
        if (c->fd >= 0 && (c->busy == K_RECV || c->busy == K_SEND) &&
            !c->cancelled) {
            queue_cancel(s, conn_ud(s, c, c->busy));
            c->cancelled = true;
        }
    }
}

// Route one completion by the kind of request in its user_data.
static void complete(struct server *s, const struct io_uring_cqe *cqe)
{
    enum kind k = ud_kind(cqe->user_data);
    struct conn *c = 0;
    if (k == K_RECV || k == K_SEND || k == K_CLOSE) {
        c = conn_of(s, cqe->user_data);
        if (!c) {
            warn_err(0,
                     "completion for a connection that is gone "
                     "(user_data %#llx)",
                     (unsigned long long)cqe->user_data);
            return;
        }
        c->busy = 0;
    }
    switch (k) {
    case K_SIGNAL:
        stop(s);
        break;
    case K_ACCEPT:
        on_accept(s, cqe->res);
        break;
    case K_PAUSE: // -ETIME: the rest is over; -ECANCELED: we are stopping
        if (s->stopping)
            queue_close_fd(s, s->listen_fd);
        else
            queue_accept(s);
        break;
    case K_RECV:
        on_recv(s, c, cqe->res);
        break;
    case K_SEND:
        on_send(s, c, cqe->res);
        break;
    case K_CLOSE:
        conn_free(s, c);
        break;
    case K_CLOSE_FD: // nothing held: nothing to do
    case K_CANCEL:   // 0, -ENOENT (it had finished), -EALREADY: all fine
        break;
    }
}

// The event loop: submit what the last completions queued, wait for at
// least one more, handle them all.  While the backlog still holds SQEs
// it does not wait: it submits, reaps what is there and comes back for
// more room.  It ends when nothing is in flight, which happens only after
// stop(): until then the signal poll and the accept (or its pause) are
// always pending.
static void serve(struct server *s)
{
    while (s->inflight > 0) {
        backlog_flush(s);
        submit(s, s->backlog_len ? 0 : 1);
        struct io_uring_cqe cqe;
        while (cq_pop(&s->ring, &cqe)) {
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
    static struct server s = {.free_head = NO_SLOT};
    server_ring(&s);
    require_opcodes(&s.ring);
    s.signal_fd = signals_to_fd();
    s.listen_fd = listen_on(&o);
    queue_signal(&s);
    queue_accept(&s);
    serve(&s);
    warn_err(0,
             "stopped by %s: served %llu connection%s, echoed %llu bytes, "
             "finished %llu short sends, paused accept %llu times",
             s.signo == SIGINT ? "SIGINT" : "SIGTERM", s.served,
             s.served == 1 ? "" : "s", s.bytes, s.short_sends, s.pauses);
    ring_exit(&s.ring);
    for (unsigned i = 0; i < s.nslots; i++)
        free(s.conns[i].buf);
    free(s.conns);
    free(s.backlog);
    return EXIT_SUCCESS;
}
