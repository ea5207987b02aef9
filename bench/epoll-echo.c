/*
 * bench/epoll-echo.c - the classic epoll echo server, to measure
 * 06-echo-server against
 *
 *   epoll-echo [-a ADDR] [-p PORT]      prints "listening on ADDR:PORT"
 *
 * Built the way 06-echo-server is, so the comparison is of the interface and
 * not of the design: one 16 KiB buffer per connection; receive, send it all
 * back, receive again; while a send is short, wait for EPOLLOUT and stop
 * reading that client.  Level-triggered epoll, non-blocking sockets, one
 * recv(2) per readiness event.  SIGINT/SIGTERM: a one-line summary on
 * stderr, exit 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define MAX_EVENTS 512

struct conn {
    int fd;
    unsigned len, sent;
    char buf[BUF_SIZE];
};

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    stop = sig;
}

static void die(const char *what)
{
    fprintf(stderr, "epoll-echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

__attribute__((noreturn)) static void usage(void)
{
    fprintf(stderr, "usage: epoll-echo [-a ADDR] [-p PORT]\n");
    exit(2);
}

static int listen_on(const char *addr, int port)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    uint16_t *pport;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        pport = &in4->sin_port;
        len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        pport = &in6->sin6_port;
        len = sizeof(*in6);
    } else {
        usage();
    }
    *pport = htons((uint16_t)port);
    int fd =
        socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        die("bind");
    if (listen(fd, SOMAXCONN) < 0)
        die("listen");
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        die("getsockname");
    printf(ss.ss_family == AF_INET6 ? "listening on [%s]:%u\n"
                                    : "listening on %s:%u\n",
           addr, ntohs(*pport));
    fflush(stdout);
    return fd;
}

static void watch(int ep, int op, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &ev) < 0)
        die("epoll_ctl");
}

static void drop(struct conn *c)
{
    close(c->fd); // also removes it from the epoll set
    free(c);
}

// Send what is left; true when all of it went.  A short send waits for
// EPOLLOUT, and until then the connection is not read from.
static int send_rest(int ep, struct conn *c, unsigned long long *bytes)
{
    while (c->sent < c->len) {
        ssize_t n =
            send(c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            watch(ep, EPOLL_CTL_MOD, c, EPOLLOUT);
            return 0;
        }
        if (n <= 0)
            return -1;
        c->sent += (unsigned)n;
        *bytes += (unsigned long long)n;
    }
    return 1;
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    int port = 8000, opt;
    while ((opt = getopt(argc, argv, "ha:p:")) != -1) {
        if (opt == 'a')
            addr = optarg;
        else if (opt == 'p') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0 || v > 65535)
                usage();
            port = (int)v;
        } else if (opt == 'h') {
            printf("usage: epoll-echo [-a ADDR] [-p PORT]\n");
            return 0;
        } else
            usage();
    }
    struct sigaction sa = {.sa_handler =
                               on_signal}; // no SA_RESTART: EINTR ends the wait
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
    int lfd = listen_on(addr, port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct conn listener = {.fd = lfd};
    watch(ep, EPOLL_CTL_ADD, &listener, EPOLLIN);
    unsigned long long served = 0, bytes = 0;
    struct epoll_event ev[MAX_EVENTS];
    while (!stop) {
        int n = epoll_wait(ep, ev, MAX_EVENTS, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = ev[i].data.ptr;
            if (c == &listener) {
                int fd;
                while ((fd = accept4(lfd, 0, 0,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct conn *nc = malloc(sizeof(*nc));
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    nc->len = nc->sent = 0;
                    served++;
                    watch(ep, EPOLL_CTL_ADD, nc, EPOLLIN);
                }
                continue;
            }
            if (c->sent <
                c->len) { // EPOLLOUT, or an error while waiting for it
                int r = send_rest(ep, c, &bytes);
                if (r < 0)
                    drop(c);
                else if (r > 0)
                    watch(ep, EPOLL_CTL_MOD, c, EPOLLIN);
                continue;
            }
            ssize_t got = recv(c->fd, c->buf, BUF_SIZE, 0);
            if (got < 0 && errno == EAGAIN)
                continue;
            if (got <= 0) {
                drop(c);
                continue;
            }
            c->len = (unsigned)got;
            c->sent = 0;
            if (send_rest(ep, c, &bytes) < 0)
                drop(c);
        }
    }
    fprintf(stderr,
            "epoll-echo: stopped by %s: served %llu connections, echoed %llu "
            "bytes\n",
            stop == SIGINT ? "SIGINT" : "SIGTERM", served, bytes);
    return 0;
}
