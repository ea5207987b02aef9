/*
 * tests/tools/echo-client.c - the clients tests/06-echo-server.bats throws
 * at an echo server (built by the bats file itself, with plain sockets)
 *
 *   echo-client [-a ADDR] -p PORT [-r RCVBUF] [-d DELAY_MS] MODE ARG...
 *
 *   check CONNS BYTES    connect CONNS clients, then each sends BYTES of a
 *                        stream no other client sends, reading the echo at
 *                        the same time, and checks every byte it gets back
 *   sequential N         N connections one after another: 32 bytes there
 *                        and back, then close
 *   reset N BYTES        N connections one after another: send BYTES, read
 *                        a little, then reset the connection (RST)
 *   hog SECONDS          send for SECONDS without ever reading; print how
 *                        many bytes the server let in
 *   hold N SECONDS       open N connections, send 1 byte on each, wait
 *                        SECONDS, print how many were echoed, close those;
 *                        then wait (up to 10 s) until the rest are echoed too
 *   idle N               N connections, one round trip each, print "ready",
 *                        then wait (up to 10 s) for the server to close them
 *
 * -r sets SO_RCVBUF (small: the server's sends come back short); -d waits
 * DELAY_MS before reading anything (check mode).  "10 s" above is the
 * client's patience: how long it waits without a byte of progress before it
 * gives up.  ECHO_PATIENCE=SECONDS in the environment changes it (make grade
 * sets 3: a server that never answers is found out sooner).  Prints one line; exits 0
 * when the server behaved, 1 (with the reason on stderr) when it did not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage server;
static socklen_t server_len;
static int rcvbuf;
static int delay_ms;
static double patience = 10; // seconds without progress (ECHO_PATIENCE)

static void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "echo-client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_one(void)
{
    int fd = socket(server.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket: %s", strerror(errno));
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (connect(fd, (struct sockaddr *)&server, server_len) < 0)
        fail("connect: %s", strerror(errno));
    return fd;
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Byte i of client c's stream: a hash of (c, i / 8), so every client's
// stream differs from every other's and can be checked at any offset.
static uint8_t pattern(uint64_t c, uint64_t i)
{
    uint64_t x = (c << 40) ^ (i >> 3) ^ 0x9e3779b97f4a7c15ull;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (uint8_t)(x >> (8 * (i & 7)));
}

// Read exactly n bytes (blocking), or fail saying why.
static void read_all(int fd, char *buf, size_t n, const char *what)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int ready = poll(&pf, 1, (int)(patience * 1000));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            fail("%s: nothing for %g s after %zu of %zu bytes", what, patience, got, n);
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fail("%s: %s after %zu of %zu bytes", what,
                 r ? strerror(errno) : "end of stream", got, n);
        got += (size_t)r;
    }
}

struct client {
    int fd;
    size_t sent, got;
};

static int check(int conns, size_t bytes)
{
    struct client *cl = calloc((size_t)conns, sizeof(*cl));
    struct pollfd *pf = calloc((size_t)conns, sizeof(*pf));
    static char buf[65536];
    for (int c = 0; c < conns; c++) {
        cl[c].fd = connect_one();
        set_nonblocking(cl[c].fd);
    }
    double start = now(), progress = start;
    int done = 0;
    while (done < conns) {
        bool reading = now() - start >= delay_ms / 1000.0;
        for (int c = 0; c < conns; c++) {
            pf[c].fd = cl[c].got < bytes ? cl[c].fd : -1;
            pf[c].events =
                (cl[c].sent < bytes ? POLLOUT : 0) | (reading ? POLLIN : 0);
        }
        if (poll(pf, (nfds_t)conns, 100) < 0 && errno != EINTR)
            fail("poll: %s", strerror(errno));
        for (int c = 0; c < conns; c++) {
            struct client *k = &cl[c];
            if ((pf[c].revents & POLLOUT) && k->sent < bytes) {
                size_t n = bytes - k->sent < sizeof(buf) ? bytes - k->sent
                                                         : sizeof(buf);
                for (size_t i = 0; i < n; i++)
                    buf[i] = (char)pattern((uint64_t)c, k->sent + i);
                ssize_t w = send(k->fd, buf, n, MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN)
                    fail("client %d: send: %s", c, strerror(errno));
                if (w > 0)
                    k->sent += (size_t)w, progress = now();
            }
            if ((pf[c].revents & (POLLIN | POLLHUP | POLLERR)) &&
                k->got < bytes) {
                ssize_t r = recv(k->fd, buf, sizeof(buf), 0);
                if (r == 0 || (r < 0 && errno != EAGAIN))
                    fail("client %d: %s after %zu of %zu bytes echoed", c,
                         r ? strerror(errno) : "end of stream", k->got, bytes);
                for (ssize_t i = 0; i < r; i++)
                    if ((uint8_t)buf[i] !=
                        pattern((uint64_t)c, k->got + (size_t)i))
                        fail("client %d: byte %zu of the echo is not the byte "
                             "it sent",
                             c, k->got + (size_t)i);
                if (r > 0) {
                    k->got += (size_t)r, progress = now();
                    if (k->got > k->sent)
                        fail("client %d: got %zu bytes back, sent only %zu", c,
                             k->got, k->sent);
                    if (k->got == bytes)
                        done++;
                }
            }
        }
        if (now() - progress > patience)
            fail("no progress for %g s: %d of %d clients done", patience, done, conns);
    }
    for (int c = 0; c < conns; c++)
        close(cl[c].fd);
    printf("ok: %d clients each got back their own %zu bytes\n", conns, bytes);
    return 0;
}

static int sequential(int n)
{
    char out[32], in[32];
    for (int c = 0; c < n; c++) {
        int fd = connect_one();
        for (int i = 0; i < 32; i++)
            out[i] = (char)pattern((uint64_t)c, (uint64_t)i);
        if (write(fd, out, sizeof(out)) != sizeof(out))
            fail("connection %d: write: %s", c, strerror(errno));
        read_all(fd, in, sizeof(in), "echo");
        if (memcmp(in, out, sizeof(in)))
            fail("connection %d: the echo differs", c);
        close(fd);
    }
    printf("ok: %d connections one after another\n", n);
    return 0;
}

static int reset(int n, size_t bytes)
{
    static char buf[65536];
    for (int c = 0; c < n; c++) {
        int fd = connect_one();
        size_t sent = 0;
        while (sent < bytes) {
            size_t k = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);
            ssize_t w = write(fd, buf, k);
            if (w <= 0)
                fail("connection %d: write: %s", c, strerror(errno));
            sent += (size_t)w;
        }
        read_all(fd, buf, 1000, "echo");
        // Linger 0: close sends RST at once, with the echo still coming.
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    printf("ok: %d connections reset mid-stream\n", n);
    return 0;
}

static int hog(double seconds)
{
    static char buf[65536];
    int fd = connect_one();
    set_nonblocking(fd);
    unsigned long long sent = 0;
    double end = now() + seconds;
    while (now() < end) {
        ssize_t w = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
        if (w > 0)
            sent += (unsigned long long)w;
        else if (w < 0 && errno == EAGAIN)
            poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 50);
        else
            fail("send: %s", w ? strerror(errno) : "0");
    }
    printf("sent %llu bytes without reading\n", sent);
    close(fd);
    return 0;
}

// Bytes ready on every fd still in fds[0..n), within ms: marks them -1.
static int wait_echoes(int *fds, int n, int ms, bool close_each)
{
    int echoed = 0;
    double end = now() + ms / 1000.0;
    struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
    while (now() < end) {
        int waiting = 0;
        for (int i = 0; i < n; i++) {
            pf[i].fd = fds[i];
            pf[i].events = POLLIN;
            waiting += fds[i] >= 0;
        }
        if (!waiting)
            break;
        poll(pf, (nfds_t)n, 20);
        for (int i = 0; i < n; i++) {
            char b;
            if (fds[i] >= 0 && (pf[i].revents & POLLIN)) {
                if (read(fds[i], &b, 1) != 1)
                    fail("connection %d closed before its echo", i);
                if (close_each)
                    close(fds[i]);
                fds[i] = -1;
                echoed++;
            }
        }
    }
    free(pf);
    return echoed;
}

static int hold(int n, double seconds)
{
    int *fds = calloc((size_t)n, sizeof(int)),
        *open = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++) {
        open[i] = fds[i] = connect_one();
        if (write(fds[i], "x", 1) != 1)
            fail("write: %s", strerror(errno));
    }
    int first = wait_echoes(fds, n, (int)(seconds * 1000), false);
    // Close the ones echoed: that gives the server its fds back.
    for (int i = 0; i < n; i++)
        if (fds[i] < 0)
            close(open[i]);
    int rest = wait_echoes(fds, n, (int)(patience * 1000), true);
    printf("echoed %d of %d at first, %d in the end\n", first, n, first + rest);
    return first + rest == n ? 0 : 1;
}

static int idle(int n)
{
    int *fds = calloc((size_t)n, sizeof(int));
    char b;
    for (int i = 0; i < n; i++) {
        fds[i] = connect_one();
        if (write(fds[i], "y", 1) != 1)
            fail("write: %s", strerror(errno));
        read_all(fds[i], &b, 1, "echo");
    }
    printf("ready\n");
    fflush(stdout);
    int closed = 0;
    double end = now() + patience;
    while (closed < n && now() < end) {
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0)
                continue;
            struct pollfd pf = {.fd = fds[i], .events = POLLIN};
            if (poll(&pf, 1, 0) == 1) {
                ssize_t r = read(fds[i], &b, 1);
                if (r > 0)
                    fail("connection %d: unexpected data", i);
                close(fds[i]);
                fds[i] = -1;
                closed++;
            }
        }
        usleep(10000);
    }
    printf("the server closed %d of %d\n", closed, n);
    return closed == n ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: echo-client [-a ADDR] -p PORT [-r RCVBUF] [-d MS] "
                    "check|sequential|reset|hog|hold|idle ARG...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    int port = -1, c;
    const char *p = getenv("ECHO_PATIENCE");
    if (p && atof(p) > 0)
        patience = atof(p);
    while ((c = getopt(argc, argv, "a:p:r:d:")) != -1) {
        if (c == 'a')
            addr = optarg;
        else if (c == 'p')
            port = atoi(optarg);
        else if (c == 'r')
            rcvbuf = atoi(optarg);
        else if (c == 'd')
            delay_ms = atoi(optarg);
        else
            usage();
    }
    if (port < 0 || optind >= argc)
        usage();
    struct sockaddr_in *in4 = (struct sockaddr_in *)&server;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&server;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        server_len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        server_len = sizeof(*in6);
    } else {
        usage();
    }
    // Never hang a test: whatever happens, give up after a minute.
    alarm(60);
    const char *mode = argv[optind];
    char **arg = argv + optind + 1;
    int nargs = argc - optind - 1;
    if (!strcmp(mode, "check") && nargs == 2)
        return check(atoi(arg[0]), (size_t)atoll(arg[1]));
    if (!strcmp(mode, "sequential") && nargs == 1)
        return sequential(atoi(arg[0]));
    if (!strcmp(mode, "reset") && nargs == 2)
        return reset(atoi(arg[0]), (size_t)atoll(arg[1]));
    if (!strcmp(mode, "hog") && nargs == 1)
        return hog(atof(arg[0]));
    if (!strcmp(mode, "hold") && nargs == 2)
        return hold(atoi(arg[0]), atof(arg[1]));
    if (!strcmp(mode, "idle") && nargs == 1)
        return idle(atoi(arg[0]));
    usage();
}
