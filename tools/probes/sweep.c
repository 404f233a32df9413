// Cache pressure for benchmarks: a process that keeps reading and writing a buffer of the
// given size, one 64-byte line at a time, so that a benchmark running beside it (on the
// other core) competes for the shared cache levels the way a busy neighbour on a cloud host
// does. Run it pinned to one core and the benchmark pinned to the other:
//     cc -O2 tools/probes/sweep.c -o /tmp/sweep
//     taskset -c 1 /tmp/sweep 4 60 &                 # 4 MiB, for at most 60 s
//     taskset -c 0 .build/release/reptok bench kernels --threads 1 --only gemm
// Usage: sweep MEBIBYTES SECONDS. Prints the sweep rate (GB/s touched) when it stops.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: sweep MEBIBYTES SECONDS\n"); return 2; }
    const long mib = atol(argv[1]);
    const double seconds = atof(argv[2]);
    if (mib < 1 || mib > 4096 || !(seconds > 0 && seconds <= 3600)) {
        fprintf(stderr, "sweep: MEBIBYTES in 1...4096, SECONDS in (0, 3600]\n");
        return 2;
    }
    const size_t bytes = (size_t)mib << 20, lines = bytes / 64;
    volatile uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf) { fprintf(stderr, "sweep: out of memory\n"); return 1; }
    for (size_t i = 0; i < bytes / 8; i++) buf[i] = i;
    const double t0 = now();
    double t = t0;
    long passes = 0;
    while (t - t0 < seconds) {
        for (size_t l = 0; l < lines; l++) buf[l * 8] += 1;      // one read-modify-write per line
        passes++;
        t = now();
    }
    printf("sweep: %ld passes over %ld MiB in %.1f s, %.1f GB/s of lines touched\n",
           passes, mib, t - t0, (double)passes * (double)bytes / (t - t0) / 1e9);
    return 0;
}
