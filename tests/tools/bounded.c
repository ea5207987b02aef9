/*
 * tests/tools/bounded.c - run a command, and let nothing it started outlive it
 *
 *   bounded SECONDS CMD [ARG]...
 *
 * Like timeout(1), plus a guarantee timeout(1) does not give: when CMD ends
 * (or is killed after SECONDS), every process it started is killed too,
 * even one that left its process group or was orphaned.  The tests run the
 * programs under test through it (tests/helpers.bash), so that a wrong
 * program a student wrote (a cat that never ends, left in the background by
 * a shell line) cannot keep bats waiting for it: bats waits for every
 * process that holds its output open.
 *
 * How: bounded becomes a "child subreaper" (prctl(2), Linux 3.4), so every
 * orphan among CMD's descendants is re-parented to it rather than to init;
 * CMD runs in a process group of its own.  After CMD, bounded kills that
 * group and then each child it still has, until it has none.
 *
 * Exit status: CMD's; 128+N if a signal N killed it; 124 if SECONDS ran out
 * (CMD was sent SIGTERM, then SIGKILL 5 s later); 125 if bounded failed;
 * 126/127 if CMD could not be run.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t cmd_pid;

// Send sig to CMD's process group and to every child we have now (orphans
// re-parented to us, whatever their group).  Returns how many were signalled.
static int signal_all(int sig)
{
    int n = 0;
    if (cmd_pid > 0 && kill(-cmd_pid, sig) == 0)
        n++;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return n;
    int pid;
    while (fscanf(f, "%d", &pid) == 1)
        if (kill(pid, sig) == 0)
            n++;
    fclose(f);
    return n;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char *end;
    double limit = argc >= 3 ? strtod(argv[1], &end) : 0;
    if (argc < 3 || *end || limit <= 0) {
        fprintf(stderr, "usage: bounded SECONDS CMD [ARG]...\n");
        return 125;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        perror("bounded: prctl(PR_SET_CHILD_SUBREAPER)");
        return 125;
    }
    // SIGCHLD is taken with sigtimedwait; TERM, INT and HUP (bats giving
    // up on the test, or ^C) are passed on to CMD's group.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);

    cmd_pid = fork();
    if (cmd_pid < 0) {
        perror("bounded: fork");
        return 125;
    }
    if (cmd_pid == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "bounded: %s: %s\n", argv[2], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    setpgid(cmd_pid, cmd_pid); // either of us may get there first

    double deadline = now() + limit;
    int status = 0, timed_out = 0, done = 0;
    while (!done) {
        double left = deadline - now();
        if (left <= 0) {
            if (timed_out)
                break; // the 5 s of grace are over too
            fprintf(stderr, "bounded: %s still running after %g s: stopped\n", argv[2], limit);
            timed_out = 1;
            signal_all(SIGTERM);
            signal_all(SIGCONT);
            deadline = now() + 5;
            continue;
        }
        struct timespec ts = {(time_t)left, (long)((left - (time_t)left) * 1e9)};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            signal_all(sig);
            continue;
        }
        // Reap whatever ended: CMD, or orphans of it that were re-parented.
        pid_t pid;
        int st;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
            if (pid == cmd_pid) {
                status = st;
                done = 1;
            }
    }
    // CMD has ended (or will not end): nothing it started may outlive it.
    for (;;) {
        signal_all(SIGKILL);
        pid_t pid;
        int st;
        while ((pid = waitpid(-1, &st, 0)) > 0) {
            if (pid == cmd_pid && !done) {
                status = st;
                done = 1;
            }
            signal_all(SIGKILL);
        }
        if (errno == ECHILD)
            break;
    }
    if (timed_out)
        return 124;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
