// Run-time CPU feature detection (see RTK_CPU_* in include/ckernels.h), and naming threads.
#define _GNU_SOURCE
#include <pthread.h>
#include "ckernels.h"

void rtk_name_thread(const char *name) {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), name);   // Linux: at most 15 bytes, else it is refused
#else
    (void)name;
#endif
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>

int rtk_cpu_features(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1;
    const int f16c = (c >> 29) & 1;                     // vcvtph2ps (every AVX2 CPU has it)
    if (!(c & (1u << 27))) return 0;                    // OSXSAVE: xgetbv is usable
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const int ymmState = (lo & 0x6) == 0x6;             // XMM and YMM state enabled by the OS
    const int zmmState = (lo & 0xE6) == 0xE6;           // plus opmask and ZMM state
    if (!ymmState || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int out = 0;
    const int avx2 = (b >> 5) & 1;
    if (avx2 && fma && f16c) out |= RTK_CPU_AVX2;
    unsigned a1, b1, c1, d1;
    if ((out & RTK_CPU_AVX2) && a >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && ((a1 >> 4) & 1))
        out |= RTK_CPU_AVXVNNI;                         // VEX vpdpbusd (Alder Lake, Zen 5)
    const int avx512 = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) && (b & (1u << 17));  // F, BW, VL, DQ
    if (avx512 && zmmState && (out & RTK_CPU_AVX2)) {
        out |= RTK_CPU_AVX512;
        if ((c >> 11) & 1) out |= RTK_CPU_AVX512VNNI;
    }
    // AMX-TILE (edx 24) and AMX-INT8 (edx 25), with the tile configuration and data state
    // (XCR0 bits 17 and 18) enabled by the OS; the data state still needs rtk_amx_request().
    const int amx = ((d >> 24) & 1) && ((d >> 25) & 1) && ((lo >> 17) & 3) == 3;
    if (amx && (out & RTK_CPU_AVX512VNNI)) out |= RTK_CPU_AMX;
#ifdef RTK_EMULATE_AVX512
    // A test build whose AVX-512 and VNNI kernels run on AVX2 (x86_emulate.h): those levels
    // are available wherever AVX2 is.
    if (out & RTK_CPU_AVX2) out |= RTK_CPU_AVX512 | RTK_CPU_AVX512VNNI | RTK_CPU_AVXVNNI;
#endif
    return out;
}

#elif defined(__aarch64__)
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

int rtk_cpu_features(void) {
    int out = RTK_CPU_NEON;                             // Advanced SIMD is mandatory on AArch64
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) out |= RTK_CPU_DOTPROD;
#endif
    return out;
}

#else
int rtk_cpu_features(void) { return 0; }
#endif

int rtk_avx512_emulated(void) {
#ifdef RTK_EMULATE_AVX512
    return 1;
#else
    return 0;
#endif
}
