/* Page-fault workload for numascope's benchmarks: map, touch every page, unmap.
 * Usage: fault MIB ROUNDS            prints nanoseconds per page touched
 *        fault MIB ROUNDS control    prints two figures, thread CPU nanoseconds per page:
 *                                    the fault rounds, then a control
 *
 * The control (bench/as_run.py) writes every 4 KiB of a buffer faulted in before
 * the first round, between fault rounds, timed apart: the same memory traffic as
 * the kernel zeroing a new page, and no page allocation, so no probe on the page
 * allocator ever runs for it. A machine that runs faster or slower for a while (a
 * VM's host, memory shared with neighbours) moves both; a probe moves only the
 * fault rounds, so their ratio keeps the probe's cost and loses much of the noise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double clock_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t bytes = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
    int rounds = argc > 2 ? atoi(argv[2]) : 10;
    int control = argc > 3 && strcmp(argv[3], "control") == 0;
    clockid_t clock = control ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    char *reference = NULL;
    if (control) {
        reference = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (reference == MAP_FAILED)
            return 1;
        madvise(reference, bytes, MADV_NOHUGEPAGE);
    }
    double faulting = 0, controlling = 0;
    for (int r = 0; r < rounds; r++) {
        double a = clock_ns(clock);
        volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        for (size_t off = 0; off < bytes; off += 4096)
            p[off] = 1;
        munmap((void *)p, bytes);
        double b = clock_ns(clock);
        faulting += b - a;
        if (control) {
            for (size_t off = 0; off < bytes; off += 4096)
                memset(reference + off, r, 4096);
            controlling += clock_ns(clock) - b;
        }
    }
    double pages = (double)rounds * (bytes / 4096);
    if (control)
        printf("%.1f %.1f\n", faulting / pages, controlling / pages);
    else
        printf("%.1f\n", faulting / pages);
    return 0;
}
