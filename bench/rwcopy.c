/*
 * bench/rwcopy.c - the baseline cp: plain read(2) and write(2), one block
 * at a time, in blocks of BYTES (default 128 KiB; make bench passes 04-cp's).
 *
 *   rwcopy [-b BYTES] SRC DST
 *
 * What 04-cp would be without io_uring: two system calls per block, each
 * waiting for the one before.  Short writes are finished; errors exit 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t bs = 128 * 1024;
    int argi = 1;
    if (argc == 5 && !strcmp(argv[1], "-b")) {
        bs = strtoul(argv[2], 0, 10);
        argi = 3;
    }
    if (argc - argi != 2 || bs == 0) {
        fprintf(stderr, "usage: rwcopy [-b BYTES] SRC DST\n");
        return 2;
    }
    int in = open(argv[argi], O_RDONLY);
    int out = open(argv[argi + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *buf = malloc(bs);
    if (in < 0 || out < 0 || !buf) {
        perror("rwcopy: open");
        return 1;
    }
    for (;;) {
        ssize_t n = read(in, buf, bs);
        if (n < 0) {
            perror("rwcopy: read");
            return 1;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, n - done);
            if (w < 0) {
                perror("rwcopy: write");
                return 1;
            }
            done += w;
        }
    }
    free(buf);
    return close(out) < 0 || close(in) < 0;
}
