/* Fault in MIB of anonymous memory as transparent huge pages (madvise).
 * Usage: thp_toucher MIB [hold]
 * With "hold", print "ready" once every page is touched and keep them until
 * standard input closes (a guest scenario reads /proc/buddyinfo meanwhile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    size_t bytes = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
    size_t align = 2 << 20;
    char *raw = mmap(NULL, bytes + align, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return 1;
    char *p = (char *)(((unsigned long)raw + align - 1) & ~(align - 1));
    if (madvise(p, bytes, MADV_HUGEPAGE))
        return 1;
    for (size_t off = 0; off < bytes; off += 4096)
        p[off] = 1;
    if (argc > 2 && strcmp(argv[2], "hold") == 0) {
        puts("ready");
        fflush(stdout);
        while (getchar() != EOF)
            ;
    }
    return 0;
}
