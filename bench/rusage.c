/*
 * bench/rusage.c - run a command and report what it cost
 *
 *   rusage CMD [ARG]...
 *
 * Prints one line on stderr after the command ends:
 *   rusage: wall=S user=S sys=S maxrss_kib=N status=N
 * from wait4(2)'s struct rusage: no outside tool (GNU time) needed.
 * stdin, stdout and the command's own stderr pass through untouched.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv)
{
    return tv.tv_sec + tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rusage CMD [ARG]...\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("rusage: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("rusage: wait4");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(stderr, "rusage: wall=%.4f user=%.4f sys=%.4f maxrss_kib=%ld status=%d\n",
            wall, seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, code);
    return code;
}
