/*
 * die.h - diagnostics and exit codes, shared by every stage
 *
 * One error idiom for the whole course (after TLPI's): a message on stderr
 * that starts with the program's name, then one of four exit codes.
 *
 *   0   success
 *   1   runtime failure          die(), die_err()
 *   2   usage error              usage_error()
 *   77  io_uring not available   die_unavailable(), die_missing()
 *
 * Every main() starts with std_fds_open(), so that diagnostics really go
 * to stderr.
 *
 * io_uring never uses errno: system call wrappers return -errno, and a
 * completion carries -errno in cqe->res.  So every helper here also comes
 * in a form that takes the error number explicitly.
 */
#ifndef DIE_H
#define DIE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 77

// The usage line of the program ("[-v] [COUNT]"), set once by main().
static const char *usage_line = "";

// Print "PROG: MESSAGE: strerror(err)" on stderr.  err == 0 omits the
// strerror part.  program_invocation_short_name is glibc's basename of
// argv[0], so the prefix is right however the program was started.
static inline void warn_errv(int err, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", program_invocation_short_name);
    vfprintf(stderr, fmt, ap);
    if (err)
        fprintf(stderr, ": %s", strerror(err));
    fputc('\n', stderr);
}

// Report a failure with an explicit error number and carry on.
__attribute__((format(printf, 2, 3))) static inline void
warn_err(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    warn_errv(err, fmt, ap);
    va_end(ap);
}

// Report a failure with an explicit error number (a -cqe->res or the -r
// of a wrapper) and exit 1.
__attribute__((format(printf, 2, 3), noreturn)) static inline void
die_err(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    warn_errv(err, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

// Report a failed libc call (which did set errno) and exit 1.
#define die(...) die_err(errno, __VA_ARGS__)

// Print the usage line on stdout and exit 0: what -h and --help do.
__attribute__((noreturn)) static inline void usage_help(void)
{
    printf("usage: %s %s\n", program_invocation_short_name, usage_line);
    exit(EXIT_SUCCESS);
}

// A bad command line: say what is wrong, then the usage line, exit 2.
__attribute__((format(printf, 1, 2), noreturn)) static inline void
usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    warn_errv(0, fmt, ap);
    va_end(ap);
    fprintf(stderr, "usage: %s %s\n", program_invocation_short_name,
            usage_line);
    exit(EXIT_USAGE);
}

// Call first thing in main().  A program started with fd 0, 1 or 2
// closed (`prog 2>&-`, or by a careless parent) would hand that number to
// the next file it opens: its ring, a socket, DST.  Its messages to
// stderr would then go into that file, or into a client's connection,
// where a send to a peer that is gone raises SIGPIPE.  So open /dev/null
// in each closed place, with the opposite access mode (gnulib's stdopen()
// does the same): writing to a closed stdout or stderr, or reading a
// closed stdin, still fails with EBADF, as it would had it stayed closed.
// Returns which of them were closed (bit n for fd n), for a program that
// cannot do without one.
static inline unsigned std_fds_open(void)
{
    unsigned closed = 0;
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        closed |= 1u << fd;
        // open() takes the lowest free number: fd, since those below it
        // are open by now.
        if (open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) < 0)
            die("open /dev/null in place of closed fd %d", fd);
    }
    return closed;
}

// Parse a whole decimal number in [min, max], or return -1.  Rejects
// empty strings, signs, spaces and trailing junk, which strtoul accepts.
static inline long long parse_count(const char *s, unsigned long long min,
                                    unsigned long long max)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    return (long long)v;
}

// The number in /proc/sys/kernel/NAME, or dflt if it cannot be read
// (a kernel before 6.6 has no io_uring_disabled).
static inline long long read_sysctl(const char *name, long long dflt)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
    FILE *f = fopen(path, "r");
    long long v = dflt;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

// Would kernel.io_uring_disabled = 1 let us through?  It lets in a
// process with CAP_SYS_ADMIN (as capable() sees it: in the initial user
// namespace, so not a container's root) or one in kernel.io_uring_group
// (io_uring_allowed() in io_uring/io_uring.c, 6.6+).  The effective
// capabilities are the CapEff mask of /proc/self/status.
static inline bool io_uring_exempt(void)
{
    bool admin = false, init_ns = false;
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long caps;
        if (sscanf(line, "CapEff: %llx", &caps) == 1)
            admin = caps >> CAP_SYS_ADMIN & 1;
    }
    if (f)
        fclose(f);
    // The initial user namespace maps every uid to itself.
    unsigned long long inside, outside, count;
    f = fopen("/proc/self/uid_map", "r");
    if (f && fscanf(f, "%llu %llu %llu", &inside, &outside, &count) == 3)
        init_ns = inside == 0 && outside == 0 && count == 4294967295ULL;
    if (f)
        fclose(f);
    if (admin && init_ns)
        return true;
    long long group = read_sysctl("io_uring_group", -1);
    if (group < 0)
        return false;
    if ((gid_t)group == getegid())
        return true;
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == (gid_t)group)
            return true;
    return false;
}

// io_uring_setup failed with err.  ENOSYS and EPERM mean "io_uring is not
// available here", which is not the program's fault: say which cause we
// found and what the user can do, and exit 77 (the "skip" code of
// liburing's tests and of automake).  Any other error is a plain failure.
__attribute__((noreturn)) static inline void die_unavailable(int err,
                                                              const char *what)
{
    if (err != ENOSYS && err != EPERM)
        die_err(err, "%s", what);
    warn_err(err, "io_uring is not available here: %s", what);
    if (err == ENOSYS) {
        fprintf(stderr,
                "  The kernel has no io_uring (it needs Linux 5.6 or newer, "
                "built with CONFIG_IO_URING),\n"
                "  or a seccomp filter answers ENOSYS for io_uring_setup.\n"
                "  Run the course on a newer kernel, or outside that "
                "sandbox.\n");
        exit(EXIT_UNAVAILABLE);
    }
    // EPERM has two usual causes.  The sysctl (Linux 6.6+) is readable:
    // 0 allows everyone, 1 only CAP_SYS_ADMIN and kernel.io_uring_group,
    // 2 nobody.  If it lets us through, a seccomp filter (or a security
    // module: newer kernels also ask the LSM hook security_uring_allowed)
    // is the rest.
    long long disabled = read_sysctl("io_uring_disabled", 0);
    if (disabled == 2 || (disabled == 1 && !io_uring_exempt()))
        fprintf(stderr,
                "  The sysctl kernel.io_uring_disabled is %lld (1: only "
                "CAP_SYS_ADMIN and members of\n"
                "  kernel.io_uring_group, 2: nobody).  As root: sysctl -w "
                "kernel.io_uring_disabled=0\n",
                disabled);
    else
        fprintf(stderr,
                "  kernel.io_uring_disabled %s.\n"
                "  So a seccomp filter (Docker's default profile has one) "
                "or a security module\n"
                "  refused the call.  Run the container with a profile "
                "that allows\n"
                "  io_uring_setup, io_uring_enter and io_uring_register, "
                "or run outside it.\n",
                disabled == 1 ? "is 1, which lets this process in"
                              : "allows io_uring");
    exit(EXIT_UNAVAILABLE);
}

// The kernel has io_uring, but not a feature or opcode this program needs
// (found with the IORING_FEAT_* bits or IORING_REGISTER_PROBE, never by
// parsing uname).  Name it and the release that brought it; exit 77.
// (The parameter is not called "linux": gcc and clang predefine that
// name as a macro, 1, unless given a strict -std=c11.)
__attribute__((noreturn)) static inline void die_missing(const char *what,
                                                          const char *since)
{
    warn_err(0,
             "io_uring is not available here: this kernel lacks %s "
             "(Linux %s and newer have it)",
             what, since);
    exit(EXIT_UNAVAILABLE);
}

#endif
