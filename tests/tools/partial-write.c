// tests/tools/partial-write.c - where does a short IORING_OP_WRITE at
// offset -1 leave the file position?  Under a 4 KiB file-size limit, an
// 8 KiB write to an empty FILE can only do half; the CQE says how much,
// lseek(2) says where the next write at offset -1 would go.
// Prints "res R, file position P"; exit 77 without io_uring.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "../../03-cat/uring.h"

int main(int argc, char **argv)
{
    static char buf[8192];
    struct ring r;
    struct io_uring_params p = {0};
    struct io_uring_cqe cqe;
    signal(SIGXFSZ, SIG_IGN); // EFBIG past the limit, not death
    setrlimit(RLIMIT_FSIZE, &(struct rlimit){4096, 4096});
    int fd = open(argc > 1 ? argv[1] : "", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ring_init(&r, 1, &p) < 0)
        return fd < 0 ? 1 : 77;
    struct io_uring_sqe *sqe = sq_get(&r);
    sqe->opcode = IORING_OP_WRITE;
    sqe->fd = fd;
    sqe->addr = (uintptr_t)buf;
    sqe->len = sizeof(buf);
    sqe->off = (uint64_t)-1; // the file position, as write(2) uses it
    sq_publish(&r);
    if (sys_io_uring_enter(r.fd, 1, 1, IORING_ENTER_GETEVENTS) < 0 ||
        !cq_pop(&r, &cqe))
        return 1;
    printf("res %d, file position %lld\n", cqe.res,
           (long long)lseek(fd, 0, SEEK_CUR));
    return 0;
}
