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
 * io_uring never uses errno: system call wrappers return -errno, and a
 * completion carries -errno in cqe->res.  So every helper here also comes
 * in a form that takes the error number explicitly.
 */
#ifndef DIE_H
#define DIE_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    // EPERM has two usual causes.  The sysctl (Linux 6.6+) is readable, so
    // check it first; if it allows io_uring, a seccomp filter is the rest.
    int disabled = 0;
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (f) {
        if (fscanf(f, "%d", &disabled) != 1)
            disabled = 0;
        fclose(f);
    }
    if (disabled)
        fprintf(stderr,
                "  The sysctl kernel.io_uring_disabled is %d (1: only "
                "members of kernel.io_uring_group,\n"
                "  2: nobody).  As root: sysctl -w "
                "kernel.io_uring_disabled=0\n",
                disabled);
    else
        fprintf(stderr,
                "  kernel.io_uring_disabled allows it, so a seccomp filter "
                "refused the call:\n"
                "  Docker's default profile does.  Run the container with "
                "a profile that allows\n"
                "  io_uring_setup, io_uring_enter and io_uring_register, "
                "or run outside it.\n");
    exit(EXIT_UNAVAILABLE);
}

// The kernel has io_uring, but not a feature or opcode this program needs
// (found with the IORING_FEAT_* bits or IORING_REGISTER_PROBE, never by
// parsing uname).  Name it and the release that brought it; exit 77.
__attribute__((noreturn)) static inline void die_missing(const char *what,
                                                          const char *linux)
{
    warn_err(0,
             "io_uring is not available here: this kernel lacks %s "
             "(Linux %s and newer have it)",
             what, linux);
    exit(EXIT_UNAVAILABLE);
}

#endif
