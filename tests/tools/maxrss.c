/*
 * tests/tools/maxrss.c - run a command and write its peak memory to a file
 *
 *   maxrss FILE CMD [ARG]...
 *
 * Writes CMD's maximum resident set size in KiB (ru_maxrss from wait4(2))
 * into FILE, as GNU time's `/usr/bin/time -f %M -o FILE CMD` does, without
 * needing the time package.  Exits with CMD's status (128+N for a signal).
 * bench/rusage.c is the same idea with the timings added.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: maxrss FILE CMD [ARG]...\n");
        return 125;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("maxrss: fork");
        return 125;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("maxrss: exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("maxrss: wait4");
        return 125;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f)) {
        perror(argv[1]);
        return 125;
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
