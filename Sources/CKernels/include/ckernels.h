// x86-64 AVX-512 / VNNI helpers for the Kernels module.
//
// Every function here is compiled with a per-function target attribute, so this file
// builds for any -target-cpu (and to stubs on other architectures). Callers must check
// rtk_cpu_features() at run time before calling anything else in this header.
#ifndef RTK_CKERNELS_H
#define RTK_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sequentially consistent atomics on a long, and a spin-wait hint, for the thread pool.
static inline long rtk_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void rtk_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline long rtk_atomic_add(long *p, long v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline void rtk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/// Prefetch the cache line at p for reading (any architecture; a hint only).
static inline void rtk_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
/// The same into the second-level cache only (prefetcht1 on x86).
static inline void rtk_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }

/// Bit 0: AVX-512 F+BW+VL with OS support for zmm state (xgetbv).
/// Bit 1: bit 0 and AVX512-VNNI (vpdpbusd).
/// Always 0 on non-x86 builds.
int rtk_cpu_features(void);

/// Packs rows [0, nc) x columns [0, kc) of an int8 matrix W (row stride ldw bytes) into
/// float panels: out[(jp * kc + p) * 32 + jj] = (float)W[jp*32 + jj, p], jp < ceil(nc/32);
/// columns jj beyond nc are 0. Requires bit 0 of rtk_cpu_features().
void rtk_pack_f32_from_i8(const int8_t *w, long ldw, long nc, long kc, float *out);

/// Same layout from a float matrix W (row stride ldw floats).
void rtk_pack_f32_from_f32(const float *w, long ldw, long nc, long kc, float *out);

/// Packs rows [0, nc) x columns [0, kc) of int8 W into VNNI panels of unsigned bytes:
/// out[((jp * kc4 + g) * 32 + jj) * 4 + e] = (uint8_t)(W[jp*32 + jj, 4g + e] + 128),
/// kc4 = ceil(kc/4); bytes beyond kc or nc are 128 (weight 0). Requires bit 0.
void rtk_pack_vnni(const int8_t *w, long ldw, long nc, long kc, uint8_t *out);

/// Microkernel, mr in 1...8 rows x 32 columns, int8 x int8 -> int32 via vpdpbusd:
///   acc[i, j] = sum_g sum_e wpanel[g, j, e] * a[i][4g + e]      (g < kc4)
///   c[i * ldc + j] (+)= (float)(acc[i, j] - corr[i]) * scale[i]
/// a[i] points at kc4*4 readable signed bytes of row i; wpanel is one 32-column panel
/// from rtk_pack_vnni; corr[i] = 128 * sum of those bytes. accumulate = 0 stores.
/// Requires bit 1.
void rtk_vnni_kernel(long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                     const int32_t *corr, const float *scale, float *c, long ldc, int accumulate);

/// Dot-form product for few rows (mr in 1...6) against nc rows of int8 W, without packing:
///   out[i * ldo + j] = sum_p (W[j, p] + 128) * a[i * lda + p],  p < k
/// a rows must be readable and zero for p in [k, roundup(k, 64)). Requires bit 1.
void rtk_vnni_rows(long mr, long nc, long k, const int8_t *a, long lda,
                   const int8_t *w, long ldw, int32_t *out, long ldo);

/// Float register-only FMA loop for the peak measurement: runs `iterations` rounds of
/// 24 independent zmm FMAs; returns a value that depends on every lane (keeps it live).
/// Requires bit 0. (Int8 twin below requires bit 1.)
float rtk_peak_fma_f32(long iterations);
int32_t rtk_peak_vnni(long iterations);

#ifdef __cplusplus
}
#endif
#endif
