// Stand-alone peak probes, independent of the reptok build: plain C compiled by the system
// compiler (gcc), one pthread per requested thread, each running register-only chains of
// one instruction family. Prints one line per family the CPU has:
//     <family> <threads> <G multiply-add ops per second x 2>
// i.e. GFLOP/s for float FMAs and GOP/s for int8 multiply-adds (2 ops per multiply-add), the
// best of 5 repetitions. tools/compare-probes.sh checks `reptok bench kernels` against it.
//
// Build: cc -O2 -pthread tools/probes/peak.c -o peak   (target attributes per function)
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef double (*probe_fn)(long iterations);   // returns a value depending on every lane

struct family { const char *name; long macs_per_iteration; probe_fn run; int available; };

#if defined(__x86_64__)
#include <immintrin.h>

// Every chain starts from its own value: identical chains would be merged by the compiler.
__attribute__((target("avx2,fma"))) static double fma_ymm(long n) {
    __m256 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (long i = 0; i < n; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], x, y);
    }
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    float f[8]; _mm256_storeu_ps(f, s);
    return f[0] + f[7];
}

__attribute__((target("avx512f"))) static double fma_zmm(long n) {
    __m512 a[24];
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps((float)i);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (long i = 0; i < n; i++) {
#pragma GCC unroll 24
        for (int j = 0; j < 24; j++) a[j] = _mm512_fmadd_ps(a[j], x, y);
    }
    __m512 s = a[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

// The int8 chains are written as separate named variables, not an array: gcc 12 kept an
// accumulator array of 24 zmm partly on the stack, storing to memory after every vpdpbusd,
// and measured half of the instruction's throughput.
#define RTK_CHAINS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define RTK_CHAINS16(X) RTK_CHAINS8(X) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

// The pair form's vpaddw, vpaddw, vpmaddwd, vpaddd (avx2 and avx512 int8 panels): 16 int16
// multiplies standing for 32 int8 products. Written in assembly: compilers spill the 12
// accumulators this needs (GCC 12 does at 10 already), which would time the spills.
#define RTK_CHAINS12(X) RTK_CHAINS8(X) X(8) X(9) X(10) X(11)
// Registers 0-15 (ymm or zmm: the clobber names them by their low halves).
#define RTK_CLOBBERS_16 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
                        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
// One chain step on registers of width R (ymm or zmm); registers 12 and 13 hold the operands.
#define PAIR_ON(R, j) "vpaddw %%" #R "12, %%" #R #j ", %%" #R "14\n\t"                             \
                      "vpaddw %%" #R "13, %%" #R #j ", %%" #R "15\n\t"                             \
                      "vpmaddwd %%" #R "15, %%" #R "14, %%" #R "14\n\t"                            \
                      "vpaddd %%" #R "14, %%" #R #j ", %%" #R #j "\n\t"
#define ZERO(j) "vpxor %%ymm" #j ", %%ymm" #j ", %%ymm" #j "\n\t"
#define PAIR(j) PAIR_ON(ymm, j)
__attribute__((target("avx2"))) static double i8_pairs(long n) {
    int32_t v[8];
    __asm__ volatile(
        "vpcmpeqw %%ymm12, %%ymm12, %%ymm12\n\t" "vpsrlw $14, %%ymm12, %%ymm13\n\t"
        RTK_CHAINS12(ZERO)
        "1:\n\t"
        RTK_CHAINS12(PAIR)
        "dec %0\n\t" "jnz 1b\n\t"
        "vpaddd %%ymm1, %%ymm0, %%ymm0\n\t" "vpaddd %%ymm11, %%ymm0, %%ymm0\n\t" "vmovdqu %%ymm0, (%1)\n\t"
        : "+r"(n) : "r"(v)
        : RTK_CLOBBERS_16, "cc", "memory");
    return v[0] + v[7];
}
#undef PAIR
#undef ZERO

// The same four instructions on zmm (the avx512 level's pair kernel): 32 int16 multiplies
// standing for 64 int8 products per chain step.
#define ZERO(j) "vpxord %%zmm" #j ", %%zmm" #j ", %%zmm" #j "\n\t"
#define PAIR(j) PAIR_ON(zmm, j)
__attribute__((target("avx512f,avx512bw"))) static double i8_pairs_zmm(long n) {
    int32_t v[16];
    __asm__ volatile(
        "vpternlogd $0xff, %%zmm12, %%zmm12, %%zmm12\n\t" "vpsrlw $14, %%zmm12, %%zmm13\n\t"
        RTK_CHAINS12(ZERO)
        "1:\n\t"
        RTK_CHAINS12(PAIR)
        "dec %0\n\t" "jnz 1b\n\t"
        "vpaddd %%zmm1, %%zmm0, %%zmm0\n\t" "vpaddd %%zmm11, %%zmm0, %%zmm0\n\t" "vmovdqu32 %%zmm0, (%1)\n\t"
        "vzeroupper\n\t"
        : "+r"(n) : "r"(v)
        : RTK_CLOBBERS_16, "cc", "memory");
    return v[0] + v[15];
}
#undef PAIR
#undef ZERO
#undef PAIR_ON

// 16 vpdpbusd chains (latency 4-5 cycles, up to 2 per cycle on Zen 4/5 and Intel servers).
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double i8_vnni_zmm(long n) {
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
#define DECL(j) __m512i a##j = _mm512_set1_epi32(j);
#define STEP(j) a##j = _mm512_dpbusd_epi32(a##j, x, y);
#define SUM(j) s = _mm512_add_epi32(s, a##j);
    RTK_CHAINS16(DECL)
    for (long i = 0; i < n; i++) {
        RTK_CHAINS16(STEP)
        __asm__ volatile("" ::: "memory");       // keeps the chains in the loop
    }
    __m512i s = _mm512_setzero_si512();
    RTK_CHAINS16(SUM)
#undef DECL
#undef STEP
#undef SUM
    return _mm512_reduce_add_epi32(s);
}

static struct family families[] = {
    {"fp32-ymm-fma", 12 * 8, fma_ymm, 0},
    {"fp32-zmm-fma", 24 * 16, fma_zmm, 0},
    {"int8-ymm-pairs", 12 * 32, i8_pairs, 0},
    {"int8-zmm-vpdpbusd", 16 * 64, i8_vnni_zmm, 0},
    {"int8-zmm-pairs", 12 * 64, i8_pairs_zmm, 0},
};
static void detect(void) {
    __builtin_cpu_init();
    families[0].available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    families[1].available = __builtin_cpu_supports("avx512f");
    families[2].available = __builtin_cpu_supports("avx2");
    families[3].available = __builtin_cpu_supports("avx512vnni");
    families[4].available = __builtin_cpu_supports("avx512bw");
}

#elif defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

static double fma_neon(long n) {
    float32x4_t a[24];
    for (int i = 0; i < 24; i++) a[i] = vdupq_n_f32((float)i);
    const float32x4_t x = vdupq_n_f32(0.999999f), y = vdupq_n_f32(1e-7f);
    for (long i = 0; i < n; i++)
        for (int j = 0; j < 24; j++) a[j] = vfmaq_f32(y, a[j], x);
    float32x4_t s = a[0];
    for (int i = 1; i < 24; i++) s = vaddq_f32(s, a[i]);
    return vaddvq_f32(s);
}

__attribute__((target("dotprod"))) static double i8_sdot(long n) {
    int32x4_t a[24];
    for (int i = 0; i < 24; i++) a[i] = vdupq_n_s32(i);
    const int8x16_t x = vdupq_n_s8(3), y = vdupq_n_s8(-2);
    for (long i = 0; i < n; i++)
        for (int j = 0; j < 24; j++) a[j] = vdotq_s32(a[j], x, y);
    int32x4_t s = a[0];
    for (int i = 1; i < 24; i++) s = vaddq_s32(s, a[i]);
    return vaddvq_s32(s);
}

static struct family families[] = {
    {"fp32-neon-fmla", 24 * 4, fma_neon, 1},
    {"int8-neon-sdot", 24 * 16, i8_sdot, 0},
};
static void detect(void) { families[1].available = (getauxval(AT_HWCAP) & (1 << 20)) != 0; }

#else
static struct family families[] = {{"none", 1, 0, 0}};
static void detect(void) {}
#endif

struct job { probe_fn run; long iterations; double sink; };
static void *worker(void *p) { struct job *j = p; j->sink = j->run(j->iterations); return 0; }

static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1 || threads > 256) { fprintf(stderr, "usage: peak [threads]\n"); return 2; }
    detect();
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        if (!families[f].available) continue;
        const long iterations = 400000000L / families[f].macs_per_iteration * 16;
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            pthread_t tid[256]; struct job jobs[256];
            const double t0 = now();
            for (int t = 0; t < threads; t++) {
                jobs[t] = (struct job){families[f].run, iterations, 0};
                pthread_create(&tid[t], 0, worker, &jobs[t]);
            }
            for (int t = 0; t < threads; t++) pthread_join(tid[t], 0);
            const double rate = 2.0 * threads * (double)iterations * families[f].macs_per_iteration / (now() - t0) / 1e9;
            if (rate > best) best = rate;
        }
        printf("%s %d %.1f\n", families[f].name, threads, best);
    }
    return 0;
}
