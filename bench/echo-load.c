/*
 * bench/echo-load.c - a closed-loop load generator for echo servers
 *
 *   echo-load [-a ADDR] -p PORT [-c CONNS] [-s SIZE] [-t SECONDS] [-w WARMUP]
 *   echo-load [-a ADDR] -p PORT -i [-c CONNS] [-s SIZE]
 *
 * Opens CONNS connections (default 1); each keeps exactly one message of
 * SIZE bytes (default 128) in flight: send it, wait until all SIZE bytes
 * have come back, send the next.  Runs WARMUP seconds (default 0.5) without
 * counting, then SECONDS (default 5) counting, and prints one line:
 *
 *   conns=50 size=128 seconds=5.00 round_trips=N rt_per_s=N p50_us=X p99_us=Y
 *
 * With -i (idle) it measures nothing: each of the CONNS connections sends
 * one message of SIZE bytes and reads its echo, then all of them sit idle;
 * it prints "idle: CONNS connections" and waits until stdin ends (or a
 * signal), so a script can look at the server meanwhile.
 *
 * Latency is from the first byte handed to send(2) to the last byte of
 * the echo read.  One thread, level-triggered epoll, TCP_NODELAY on our
 * side.  Exits 1 if the server closes a connection or echoes more bytes
 * than it was sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// Latency histogram: 100 ns buckets up to 100 ms, then one overflow bucket.
#define BUCKET_NS 100
#define BUCKETS 1000000
static uint32_t hist[BUCKETS + 1];

struct conn {
    int fd;
    size_t sent, got;
    uint64_t start_ns;
    int want_out; // EPOLLOUT is on: a send was short
};

static int ep;
static size_t size = 128;
static char *msg;

static void die(const char *what)
{
    fprintf(stderr, "echo-load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void interest(struct conn *c, int out)
{
    if (c->want_out == out)
        return;
    c->want_out = out;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
}

// Push as much of the message as the socket takes.
static void send_more(struct conn *c)
{
    while (c->sent < size) {
        ssize_t n = send(c->fd, msg + c->sent, size - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            die("send");
        c->sent += (size_t)n;
    }
    interest(c, c->sent < size);
}

static void start_message(struct conn *c, uint64_t t)
{
    c->sent = c->got = 0;
    c->start_ns = t;
    send_more(c);
}

static double percentile(uint64_t count, double p)
{
    uint64_t want = (uint64_t)(count * p), seen = 0;
    for (size_t i = 0; i <= BUCKETS; i++) {
        seen += hist[i];
        if (seen > want)
            return (i + 0.5) * BUCKET_NS / 1000.0;
    }
    return 0;
}

__attribute__((noreturn)) static void usage(void)
{
    fprintf(stderr, "usage: echo-load [-a ADDR] -p PORT [-c CONNS] [-s SIZE] "
                    "[-t SECONDS] [-w WARMUP]\n"
                    "       echo-load [-a ADDR] -p PORT -i [-c CONNS] "
                    "[-s SIZE]\n");
    exit(2);
}

// -i: one blocking round trip on the (still blocking) socket fd.
static void round_trip(int fd, char *scratch)
{
    size_t got = 0;
    if (send(fd, msg, size, MSG_NOSIGNAL) != (ssize_t)size)
        die("send");
    while (got < size) {
        ssize_t r = recv(fd, scratch, 65536, 0);
        if (r <= 0)
            die("recv");
        got += (size_t)r;
    }
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    int port = -1, conns = 1, opt, idle = 0;
    double seconds = 5, warmup = 0.5;
    while ((opt = getopt(argc, argv, "a:p:c:s:t:w:i")) != -1) {
        if (opt == 'i')
            idle = 1;
        else if (opt == 'a')
            addr = optarg;
        else if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 'c')
            conns = atoi(optarg);
        else if (opt == 's')
            size = (size_t)atol(optarg);
        else if (opt == 't')
            seconds = atof(optarg);
        else if (opt == 'w')
            warmup = atof(optarg);
        else
            usage();
    }
    if (port <= 0 || conns < 1 || size < 1 || seconds <= 0 || warmup < 0)
        usage();
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof(*in6);
    } else {
        usage();
    }
    msg = malloc(size);
    char *scratch = malloc(65536);
    struct conn *cs = calloc((size_t)conns, sizeof(*cs));
    if (!msg || !scratch || !cs)
        die("malloc");
    for (size_t i = 0; i < size; i++)
        msg[i] = (char)('a' + i % 26);
    ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    for (int i = 0; i < conns; i++) {
        int fd = socket(ss.ss_family, SOCK_STREAM, 0);
        if (fd < 0)
            die("socket");
        if (connect(fd, (struct sockaddr *)&ss, len) < 0)
            die("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (idle) {
            round_trip(fd, scratch);
            continue;
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
            die("fcntl");
        cs[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
    }
    if (idle) {
        printf("idle: %d connections\n", conns);
        fflush(stdout);
        while (read(0, scratch, 65536) > 0)
            ;
        return 0;
    }
    uint64_t t = now_ns();
    uint64_t counting = t + (uint64_t)(warmup * 1e9);
    uint64_t end = counting + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < conns; i++)
        start_message(&cs[i], t);
    uint64_t count = 0;
    struct epoll_event ev[512];
    while (t < end) {
        int n = epoll_wait(ep, ev, 512, 10);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        t = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = ev[i].data.ptr;
            if (ev[i].events & EPOLLOUT)
                send_more(c);
            if (!(ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            ssize_t r = recv(c->fd, scratch, 65536, 0);
            if (r < 0 && errno == EAGAIN)
                continue;
            if (r <= 0) {
                fprintf(stderr, "echo-load: the server closed a connection\n");
                return 1;
            }
            c->got += (size_t)r;
            if (c->got > c->sent) {
                fprintf(stderr,
                        "echo-load: %zu bytes came back, %zu were sent\n",
                        c->got, c->sent);
                return 1;
            }
            if (c->got < size)
                continue;
            if (c->start_ns >= counting && t < end) {
                uint64_t b = (t - c->start_ns) / BUCKET_NS;
                hist[b < BUCKETS ? b : BUCKETS]++;
                count++;
            }
            start_message(c, t);
        }
    }
    printf("conns=%d size=%zu seconds=%.2f round_trips=%llu rt_per_s=%.0f "
           "p50_us=%.1f p99_us=%.1f\n",
           conns, size, seconds, (unsigned long long)count, count / seconds,
           percentile(count, 0.50), percentile(count, 0.99));
    for (int i = 0; i < conns; i++)
        close(cs[i].fd);
    return 0;
}
