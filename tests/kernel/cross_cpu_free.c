/* Allocate pages on CPU 0 and free them on CPU 0 ("same") or on CPU 1 ("cross").
 * Freed pages go to the freeing CPU's per-CPU list, so in "cross" mode CPU 0
 * keeps refilling its list from the buddy allocator under the zone lock.
 * Usage: cross_cpu_free same|cross MIB ROUNDS */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fds[2];

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *freer(void *arg)
{
    size_t bytes = *(size_t *)arg;
    void *p;
    pin(1);
    while (read(fds[0], &p, sizeof(p)) == sizeof(p) && p)
        munmap(p, bytes);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int cross = strcmp(argv[1], "cross") == 0;
    size_t bytes = (size_t)atol(argv[2]) << 20;
    int rounds = atoi(argv[3]);
    pthread_t t;
    if (pipe(fds) || pthread_create(&t, NULL, freer, &bytes))
        return 1;
    pin(0);
    for (int r = 0; r < rounds; r++) {
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        for (size_t off = 0; off < bytes; off += 4096)
            p[off] = 1;
        if (cross) {
            if (write(fds[1], &p, sizeof(p)) != sizeof(p))
                return 1;
        } else {
            munmap(p, bytes);
        }
    }
    void *stop = NULL;
    if (write(fds[1], &stop, sizeof(stop)) != sizeof(stop))
        return 1;
    pthread_join(t, NULL);
    return 0;
}
