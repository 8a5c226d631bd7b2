/* Page-fault workload for numascope's benchmarks: map, touch every page, unmap.
 * Usage: fault MIB ROUNDS   (prints nanoseconds per page touched) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t bytes = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
    int rounds = argc > 2 ? atoi(argv[2]) : 10;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int r = 0; r < rounds; r++) {
        volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        for (size_t off = 0; off < bytes; off += 4096)
            p[off] = 1;
        munmap((void *)p, bytes);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("%.1f\n", ns / ((double)rounds * (bytes / 4096)));
    return 0;
}
