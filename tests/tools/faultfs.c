/*
 * tests/tools/faultfs.c - a FUSE file system of one file that fails on cue
 *
 *   faultfs [--source FILE | --size N] [--eof-at OFF] [--eio-at OFF[:LEN]]
 *           [--delay-at OFF:MS]... [--log FILE] [--no-fixup] MOUNTPOINT
 *   faultfs -u MOUNTPOINT        unmount it (umount2 MNT_DETACH)
 *   faultfs --dump N             print the first N bytes of the pattern
 *
 * Serves one read-only regular file, MOUNTPOINT/data, whose reads go
 * wrong in exactly chosen ways, for the tests of the programs that read
 * at explicit offsets (03-cat, 04-cp ...).  A read of SIZE bytes at OFF:
 *   - its bytes are FILE's (--source), else byte i is (i/4096*31 + i)
 *     & 0xff, a pattern in which a misplaced 4 KiB block shows;
 *   - the data ends at min(--size, FILE's size, --eof-at): a read there
 *     returns what is left (short), 0 (EOF) at or past it, while stat
 *     says --size (default: FILE's size) - a file that shrank;
 *   - --eio-at E[:LEN]: bad bytes from E on (LEN of them; default: all
 *     to the end).  A read starting among them fails with EIO; one that
 *     starts before E returns only the bytes before E; one that starts
 *     after them is served.  So coreutils cat prints exactly the first E
 *     bytes, then "cat: F: Input/output error";
 *   - --delay-at D:MS (up to 16): a read whose [OFF, OFF+SIZE) holds D
 *     is answered MS ms after it came; other reads are answered meanwhile;
 *   - --log FILE: "ask OFF SIZE" as each read comes, "reply OFF SIZE RES"
 *     as it is answered (RES: bytes, or -errno), "re-ask ..." (below).
 * It mounts, forks the server, checks that it answers (stat of data),
 * prints the server's pid and exits 0: the file system is ready (exit
 * 77: /dev/fuse or mount(2) refused, as in a container; 2: usage).  The
 * server exits when unmounted (its reads of /dev/fuse fail with ENODEV),
 * or unmounts and exits on SIGTERM/SIGINT.  Needs root and /dev/fuse.
 *
 * FUSE facts it relies on (raw protocol of <linux/fuse.h>; measured on
 * Linux 6.18 with this server's --log, protocol 7.38 answered):
 *   - mount(2) of type fuse.faultfs with "fd=N,rootmode=40000,user_id=U,
 *     group_id=G" returns at once; every request then waits for INIT;
 *   - OPEN answers FOPEN_DIRECT_IO, so every read(2) comes here as asked,
 *     at its offset and size; through the page cache, reads would be
 *     rounded to pages, read ahead and cached, hiding the faults;
 *   - a read of up to max_pages pages (we ask 256: 1 MiB) is one READ;
 *     for read(2) a short answer ends the call short, nothing re-asked;
 *   - io_uring (6.18) issues READs of a FUSE file INLINE: the task in
 *     io_uring_enter (or the SQPOLL thread) sends them one at a time and
 *     sleeps until each is answered.  So --delay-at delays the submitter
 *     (and every read queued behind it); it cannot make a later block
 *     complete first.  (IOSQE_ASYNC, which hands reads to io-wq workers,
 *     was not tried.)  Answering EAGAIN does not get a read punted to
 *     io-wq either: the CQE says -EAGAIN;
 *   - and io_uring's retry of a short read is broken here: after a short
 *     answer of n bytes to READ(OFF, SIZE) the kernel asks, once the
 *     reads submitted with it are issued, READ(OFF, SIZE-n) - the SAME
 *     offset - puts the answer after the n bytes, and repeats until the
 *     buffer is full: the CQE (which now comes after the later blocks')
 *     counts SIZE bytes, the tail of them wrong.  No program can be right
 *     on top of that, so faultfs answers such a re-ask (same OFF, exactly
 *     the missing size, after a short answer) as the read at OFF+n it
 *     stands for: 0 or EIO, and the CQE says n, the true short read.  The
 *     cost: a program that itself re-asks that way is not caught.
 *     --no-fixup shows the raw kernel behaviour;
 *   - FUSE_INTERRUPT (the caller got a signal) is ignored: every read is
 *     answered at its time, a killed caller waits at most the delay;
 *     FORGET gets no answer; what is not handled gets ENOSYS.
 * One thread: delayed replies wait in a list in due order, and ppoll(2)
 * on /dev/fuse sleeps until the first is due.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DATA_ID 2 // the nodeid of "data"; the root is FUSE_ROOT_ID (1)
#define MAX_DELAYS 16

static uint64_t size, eof_at = UINT64_MAX, eio_at = UINT64_MAX, eio_len = UINT64_MAX;
static struct { uint64_t off; unsigned ms; } delays[MAX_DELAYS];
static int ndelays, src_fd = -1, fuse_fd;
static FILE *logf;
static volatile sig_atomic_t stop;

struct reply { // a read's answer, waiting for its time
    struct reply *next;
    uint64_t due_ms, unique, off;
    uint32_t size;
    int32_t res; // bytes in data, or -errno
    char data[];
};
static struct reply *waiting;

// The last short answers, for the kernel's re-asks (see the header).
#define NSHORT 16
static struct { uint64_t off, got; uint32_t size, rest; } shorts[NSHORT];
static int fixup = 1, next_short;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void pattern(char *buf, uint64_t off, size_t n)
{
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)(((off + k) / 4096 * 31 + off + k) & 0xff);
}

// The answer to a request: a header, then the body (none for an error).
// A write(2) to /dev/fuse that fails with ENOENT means the request was
// interrupted and is gone: nothing to do.
static void answer(uint64_t unique, int err, const void *body, size_t len)
{
    struct fuse_out_header h = { sizeof h + len, -err, unique };
    struct iovec iov[2] = { { &h, sizeof h }, { (void *)body, len } };
    if (writev(fuse_fd, iov, len ? 2 : 1) < 0 && errno != ENOENT)
        perror("faultfs: write /dev/fuse");
}

static void fill_attr(struct fuse_attr *a, uint64_t id)
{
    memset(a, 0, sizeof *a);
    a->ino = id;
    a->mode = id == DATA_ID ? S_IFREG | 0444 : S_IFDIR | 0555;
    a->nlink = id == DATA_ID ? 1 : 2;
    a->size = id == DATA_ID ? size : 0;
    a->blocks = (a->size + 511) / 512;
    a->blksize = 4096;
    a->uid = getuid();
    a->gid = getgid();
}

static void send_reply(struct reply *r)
{
    if (logf)
        fprintf(logf, "reply %llu %u %d\n", (unsigned long long)r->off,
                r->size, r->res), fflush(logf);
    answer(r->unique, r->res < 0 ? -r->res : 0, r->data,
           r->res > 0 ? (size_t)r->res : 0);
    free(r);
}

static void do_read(uint64_t unique, const struct fuse_read_in *in)
{
    uint64_t asked = in->offset, off = asked, end = off + in->size, last = size, got = 0;
    if (logf)
        fprintf(logf, "ask %llu %u\n", (unsigned long long)off, in->size), fflush(logf);
    // The kernel's re-ask for the rest of a short answer (see the header)
    // is answered as the read of that rest, at its true offset.
    for (int i = 0; i < NSHORT && fixup; i++)
        if (shorts[i].size && shorts[i].off == off && shorts[i].rest == in->size) {
            if (logf)
                fprintf(logf, "re-ask %llu %u: taken at %llu\n", (unsigned long long)off,
                        in->size, (unsigned long long)(off + shorts[i].got)),
                    fflush(logf);
            got = shorts[i].got;
            off += got;
            end = off + in->size;
            shorts[i].size = 0;
            break;
        }
    if (eof_at < last)
        last = eof_at;
    if (off < eio_at && eio_at < last) // stop short before the bad bytes
        last = eio_at;
    if (end > last)
        end = last > off ? last : off;
    struct reply *r = malloc(sizeof *r + (end - off));
    if (!r)
        die("faultfs: malloc");
    *r = (struct reply){ NULL, now_ms(), unique, off, in->size, (int32_t)(end - off) };
    if (off >= eio_at && off - eio_at < eio_len)
        r->res = -EIO;
    else if (src_fd >= 0) {
        ssize_t n = pread(src_fd, r->data, end - off, (off_t)off);
        r->res = n < 0 ? -EIO : (int32_t)n; // FILE may have shrunk too
    } else
        pattern(r->data, off, end - off);
    if (r->res > 0 && (uint32_t)r->res < in->size) {
        int i = next_short++ % NSHORT;
        shorts[i].off = asked, shorts[i].got = got + (uint64_t)r->res;
        shorts[i].size = in->size, shorts[i].rest = in->size - (uint32_t)r->res;
    }
    uint64_t wait_ms = 0;
    for (int i = 0; i < ndelays; i++)
        if (delays[i].off >= off && delays[i].off - off < in->size)
            wait_ms += delays[i].ms;
    if (!wait_ms) {
        send_reply(r);
        return;
    }
    r->due_ms += wait_ms;
    // Keep the list in due order; equal times stay in arrival order.
    struct reply **p = &waiting;
    while (*p && (*p)->due_ms <= r->due_ms)
        p = &(*p)->next;
    r->next = *p;
    *p = r;
}

static void do_readdir(uint64_t unique, const struct fuse_read_in *in)
{
    static const char *const names[] = { ".", "..", "data" };
    char buf[256];
    size_t len = 0;
    for (uint64_t i = in->offset; i < 3; i++) {
        size_t nl = strlen(names[i]);
        size_t sz = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + nl);
        if (len + sz > in->size)
            break;
        struct fuse_dirent *d = (struct fuse_dirent *)(buf + len);
        memset(d, 0, sz);
        *d = (struct fuse_dirent){ i == 2 ? DATA_ID : FUSE_ROOT_ID, i + 1,
                                   (uint32_t)nl, i == 2 ? DT_REG : DT_DIR };
        memcpy(d->name, names[i], nl);
        len += sz;
    }
    answer(unique, 0, buf, len);
}

// One request from /dev/fuse.
static void handle(char *req)
{
    struct fuse_in_header *h = (struct fuse_in_header *)req;
    void *arg = h + 1;
    uint64_t u = h->unique;
    switch (h->opcode) {
    case FUSE_INIT: {
        const struct fuse_init_in *in = arg;
        struct fuse_init_out out = {
            .major = FUSE_KERNEL_VERSION,
            .minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor
                                                          : FUSE_KERNEL_MINOR_VERSION,
            .max_readahead = in->max_readahead,
            .flags = FUSE_MAX_PAGES & in->flags,
            .max_background = 64, .congestion_threshold = 48,
            .max_write = 4096, .time_gran = 1, .max_pages = 256,
        };
        if (in->major != FUSE_KERNEL_VERSION) {
            fprintf(stderr, "faultfs: kernel FUSE protocol %u, not 7\n", in->major);
            exit(1);
        }
        answer(u, 0, &out, sizeof out);
        break;
    }
    case FUSE_LOOKUP: {
        struct fuse_entry_out e = { .nodeid = DATA_ID, .entry_valid = 3600 };
        fill_attr(&e.attr, DATA_ID);
        if (h->nodeid == FUSE_ROOT_ID && !strcmp(arg, "data"))
            answer(u, 0, &e, sizeof e);
        else
            answer(u, ENOENT, NULL, 0);
        break;
    }
    case FUSE_GETATTR: {
        struct fuse_attr_out a = { 0 }; // attr_valid 0: always asked
        fill_attr(&a.attr, h->nodeid);
        answer(u, 0, &a, sizeof a);
        break;
    }
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
        const struct fuse_open_in *in = arg;
        struct fuse_open_out o = { .open_flags =
                                       h->opcode == FUSE_OPEN ? FOPEN_DIRECT_IO : 0 };
        if ((in->flags & O_ACCMODE) == O_RDONLY)
            answer(u, 0, &o, sizeof o);
        else
            answer(u, EROFS, NULL, 0);
        break;
    }
    case FUSE_READ:
        do_read(u, arg);
        break;
    case FUSE_READDIR:
        do_readdir(u, arg);
        break;
    case FUSE_STATFS: {
        struct fuse_statfs_out s = { .st = { .bsize = 4096, .frsize = 4096,
                                             .namelen = 255, .files = 2 } };
        answer(u, 0, &s, sizeof s);
        break;
    }
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_FLUSH:
    case FUSE_DESTROY:
        answer(u, 0, NULL, 0);
        break;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT: // see the header: every read is answered at its time
        break;
    default:
        answer(u, ENOSYS, NULL, 0);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t number(const char *s, char **end)
{
    errno = 0;
    char *e;
    unsigned long long v = strtoull(s, &e, 0);
    if (errno || e == s || *s == '-' || (!end && *e)) {
        fprintf(stderr, "faultfs: not a number: %s\n", s);
        exit(2);
    }
    if (end)
        *end = e;
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: faultfs [--source FILE | --size N] [--eof-at OFF] [--eio-at OFF[:LEN]]\n"
                    "               [--delay-at OFF:MS]... [--log FILE] [--no-fixup] MOUNTPOINT\n"
                    "       faultfs -u MOUNTPOINT\n"
                    "       faultfs --dump N\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int have_size = 0;
    char *mnt = NULL, *e;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-') {
            if (mnt)
                usage();
            mnt = argv[i];
            continue;
        }
        if (!strcmp(o, "--no-fixup")) {
            fixup = 0;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(o, "-u")) {
            if (umount2(v, MNT_DETACH) < 0)
                die("faultfs: umount2");
            return 0;
        } else if (!strcmp(o, "--dump")) {
            static char buf[65536];
            for (uint64_t off = 0, n = number(v, NULL); off < n; off += sizeof buf) {
                size_t len = n - off < sizeof buf ? n - off : sizeof buf;
                pattern(buf, off, len);
                fwrite(buf, 1, len, stdout);
            }
            return fflush(stdout) ? 1 : 0;
        } else if (!strcmp(o, "--size")) {
            size = number(v, NULL), have_size = 1;
        } else if (!strcmp(o, "--source")) {
            struct stat st;
            if ((src_fd = open(v, O_RDONLY | O_CLOEXEC)) < 0 || fstat(src_fd, &st) < 0)
                die(v);
            if (!have_size)
                size = (uint64_t)st.st_size;
        } else if (!strcmp(o, "--eof-at")) {
            eof_at = number(v, NULL);
        } else if (!strcmp(o, "--eio-at")) {
            eio_at = number(v, &e);
            if (*e == ':')
                eio_len = number(e + 1, NULL);
            else if (*e)
                usage();
        } else if (!strcmp(o, "--delay-at") && ndelays < MAX_DELAYS) {
            delays[ndelays].off = number(v, &e);
            if (*e != ':')
                usage();
            delays[ndelays++].ms = (unsigned)number(e + 1, NULL);
        } else if (!strcmp(o, "--log")) {
            if (!(logf = fopen(v, "w")))
                die(v);
        } else
            usage();
    }
    if (!mnt || (src_fd < 0 && !have_size))
        usage();
    char root[PATH_MAX], opts[128], path[PATH_MAX + 8];
    if (!realpath(mnt, root))
        die(mnt);
    // Exit 77 where FUSE cannot be had (not root, a container): tests skip.
    if ((fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0) {
        perror("faultfs: /dev/fuse");
        return 77;
    }
    snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=%u,group_id=%u", fuse_fd,
             getuid(), getgid());
    if (mount("faultfs", root, "fuse.faultfs", MS_NOSUID | MS_NODEV | MS_RDONLY, opts) < 0) {
        perror("faultfs: mount");
        return 77;
    }

    // The parent checks that the server answers (stat sends LOOKUP after
    // INIT), says the server's pid and returns: then the tests may start.
    pid_t pid = fork();
    if (pid < 0)
        die("faultfs: fork");
    if (pid > 0) {
        struct stat st;
        close(fuse_fd); // the server's death must end the connection
        snprintf(path, sizeof path, "%s/data", root);
        if (stat(path, &st) < 0) {
            perror(path);
            umount2(root, MNT_DETACH);
            return 1;
        }
        printf("%d\n", (int)pid);
        return 0;
    }
    // The server: its own session, no terminal, nothing of the caller's
    // stdout/stderr kept open (a test reading them would wait for EOF).
    int null = open("/dev/null", O_RDWR);
    setsid();
    if (null < 0 || chdir("/") < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
        dup2(null, 2) < 0)
        exit(1);
    sigset_t term, none;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGINT);
    sigprocmask(SIG_BLOCK, &term, &none);
    sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);
    sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);

    static char req[FUSE_MIN_READ_BUFFER * 8]; // INIT's max_write is 4096
    for (;;) {
        struct timespec ts = { 0, 0 }, *timeout = NULL; // no reply due: sleep
        if (waiting) {
            uint64_t t = now_ms(), ms = waiting->due_ms > t ? waiting->due_ms - t : 0;
            ts = (struct timespec){ (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
            timeout = &ts;
        }
        struct pollfd p = { fuse_fd, POLLIN, 0 };
        // SIGTERM/SIGINT are let in only while asleep here: none is missed.
        int n = ppoll(&p, 1, timeout, &none);
        if (stop) {
            umount2(root, MNT_DETACH);
            return 0;
        }
        while (waiting && waiting->due_ms <= now_ms()) {
            struct reply *r = waiting;
            waiting = r->next;
            send_reply(r);
        }
        if (n <= 0)
            continue;
        ssize_t len = read(fuse_fd, req, sizeof req);
        if (len < 0 && errno == ENODEV)
            return 0; // unmounted
        if (len < 0 && (errno == EINTR || errno == ENOENT || errno == EAGAIN))
            continue;
        if (len < (ssize_t)sizeof(struct fuse_in_header))
            die("faultfs: read /dev/fuse");
        handle(req);
    }
}
