// AArch64 Advanced SIMD kernels (level `neon`); see include/ckernels.h.
//
// Float32: fmla by scalar, 6 rows x 16 columns (24 accumulators of the 32 vector registers).
// Int8, two variants with the same packed layout and bit-identical int32 sums:
//   - `sdot` (ARMv8.2 dot product; Cortex-A76 of the Raspberry Pi 5 and later): signed x
//     signed groups of four bytes straight into int32 lanes; compiled with a per-function
//     target attribute and used only when the kernel reports HWCAP_ASIMDDP;
//   - widening multiplies for CPUs without it (Cortex-A72 of the Raspberry Pi 4):
//     smull/smull2 into int16 (|w·a| <= 127·127 fits), then sadalp adds pairs into int32.
#include "ckernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>
#include "frows_chunks.h"

#define RTK_DOT __attribute__((target("dotprod")))

// ---------------------------------------------------------------------------------------
// Float32 microkernel: MR rows (MR <= 6) x 16 columns; one FMA chain per output over p in
// increasing order, from 0 or from C (bit-identical to the other levels).
#define RTK_F32_NEON(MR)                                                                         \
static void f32_neon_##MR(long kc, const float *const *a, long astep, const float *b, long ldb, \
                          float *c, long ldc, int accumulate) {                                 \
    float32x4_t acc[MR][4];                                                                     \
    const float *ap[MR];                                                                        \
    for (int i = 0; i < MR; i++) {                                                              \
        ap[i] = a[i];                                                                           \
        for (int v = 0; v < 4; v++)                                                             \
            acc[i][v] = accumulate ? vld1q_f32(c + i * ldc + 4 * v) : vdupq_n_f32(0);           \
    }                                                                                           \
    for (long p = 0; p < kc; p++) {                                                             \
        float32x4_t w[4];                                                                       \
        for (int v = 0; v < 4; v++) w[v] = vld1q_f32(b + p * ldb + 4 * v);                      \
        for (int i = 0; i < MR; i++) {                                                          \
            const float x = ap[i][p * astep];                                                   \
            for (int v = 0; v < 4; v++) acc[i][v] = vfmaq_n_f32(acc[i][v], w[v], x);            \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++)                                                                \
        for (int v = 0; v < 4; v++) vst1q_f32(c + i * ldc + 4 * v, acc[i][v]);                  \
}
RTK_F32_NEON(1) RTK_F32_NEON(2) RTK_F32_NEON(3) RTK_F32_NEON(4) RTK_F32_NEON(5) RTK_F32_NEON(6)

typedef void (*f32_neon_fn)(long, const float *const *, long, const float *, long, float *, long, int);
static const f32_neon_fn f32_neon_table[6] = {
    f32_neon_1, f32_neon_2, f32_neon_3, f32_neon_4, f32_neon_5, f32_neon_6};

void rtk_neon_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                         const float *b, long ldb, float *c, long ldc, int accumulate) {
    // (rtk_f32_strip6 in ckernels.h: a strip of one row keeps 4 `fmla` chains and of two 8, where two pipes
    // want 6 on the Cortex-A72 and 8 on the A76; not measured on an ARM CPU)
    for (long i = 0; i < rows;) {
        const long r = rtk_f32_strip6(rows - i);
        for (long v = 0; v < nv; v++)
            f32_neon_table[r - 1](kc, a + i, astep, b + 16 * v, ldb, c + i * ldc + 16 * v, ldc, accumulate);
        i += r;
    }
}

// Float dot form for few rows: each weight row streamed once, widened to float, dotted
// with MR rows. Same arithmetic as the generic level (16 lane-wise FMA chains per output,
// the tree sum 8 + 8, 4 + 4, 2 + 2, 1 + 1, the k % 16 tail in order): the same bits.
static inline float tree16(const float32x4_t q[4]) {
    const float32x4_t a0 = vaddq_f32(q[0], q[2]), a1 = vaddq_f32(q[1], q[3]);   // lanes l + (l + 8)
    const float32x4_t b = vaddq_f32(a0, a1);                                     // 4 + 4
    const float32x2_t c = vadd_f32(vget_low_f32(b), vget_high_f32(b));           // 2 + 2
    return vget_lane_f32(c, 0) + vget_lane_f32(c, 1);
}
static inline void widen16_i8(const int8_t *p, float32x4_t w[4]) {
    const int8x16_t b = vld1q_s8(p);
    const int16x8_t lo = vmovl_s8(vget_low_s8(b)), hi = vmovl_s8(vget_high_s8(b));
    w[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))); w[1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo)));
    w[2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))); w[3] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi)));
}
static inline void widen16_f32(const float *p, float32x4_t w[4]) {
    for (int v = 0; v < 4; v++) w[v] = vld1q_f32(p + 4 * v);
}
// Each output's 16 lane sums over p in [c0, c1) (multiples of 16), added to acc[MR][4].
#define RTK_FROWS_NEON_SPAN(TAG, MR, wr, c0, c1, acc)                                            \
    for (long p = (c0); p < (c1); p += 16) {                                                    \
        if ((p & 63) == 0) __builtin_prefetch((wr) + p + 1024 / sizeof(*(wr)), 0, 3);           \
        float32x4_t wv[4];                                                                      \
        widen16_##TAG((wr) + p, wv);                                                            \
        for (int i = 0; i < MR; i++)                                                            \
            for (int v = 0; v < 4; v++)                                                         \
                acc[i][v] = vfmaq_f32(acc[i][v], vld1q_f32(a + i * lda + p + 4 * v), wv[v]);    \
    }
// out[i * ldo + j] = the tree sum of acc[i] plus the k % 16 tail, for the MR rows.
#define RTK_FROWS_NEON_FINISH(MR, wr, acc, j)                                                    \
    for (int i = 0; i < MR; i++) {                                                              \
        float t = tree16(acc[i]);                                                               \
        for (long r = k16; r < k; r++) t = __builtin_fmaf(a[i * lda + r], (float)(wr)[r], t);   \
        out[i * ldo + (j)] = t;                                                                 \
    }
// Activation rows longer than L1 go in chunks (frows_chunks.h: the Zen 3 measured the gain in
// avx2.c's copy of this loop; not measured on an ARM CPU).
#define RTK_FROWS_NEON(TAG, T, MR)                                                               \
static void frows_##TAG##_##MR(long nc, long k, const float *a, long lda, const T *w, long ldw, \
                               float *out, long ldo) {                                          \
    RTK_FROWS_BODY(T, MR, float32x4_t, 4, vdupq_n_f32(0), RTK_FROWS_NEON_SPAN, TAG, RTK_FROWS_NEON_FINISH) \
}
RTK_FROWS_NEON(i8, int8_t, 1) RTK_FROWS_NEON(i8, int8_t, 2) RTK_FROWS_NEON(i8, int8_t, 3)
RTK_FROWS_NEON(i8, int8_t, 4) RTK_FROWS_NEON(i8, int8_t, 5) RTK_FROWS_NEON(i8, int8_t, 6)
RTK_FROWS_NEON(f32, float, 1) RTK_FROWS_NEON(f32, float, 2) RTK_FROWS_NEON(f32, float, 3)
RTK_FROWS_NEON(f32, float, 4) RTK_FROWS_NEON(f32, float, 5) RTK_FROWS_NEON(f32, float, 6)

typedef void (*frows_i8_fn)(long, long, const float *, long, const int8_t *, long, float *, long);
typedef void (*frows_f32_fn)(long, long, const float *, long, const float *, long, float *, long);
static const frows_i8_fn frows_i8_table[6] = {frows_i8_1, frows_i8_2, frows_i8_3, frows_i8_4, frows_i8_5, frows_i8_6};
static const frows_f32_fn frows_f32_table[6] = {frows_f32_1, frows_f32_2, frows_f32_3, frows_f32_4, frows_f32_5, frows_f32_6};

void rtk_neon_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                          float *out, long ldo) {
    if (mr >= 1 && mr <= 6) frows_i8_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}
void rtk_neon_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                           float *out, long ldo) {
    if (mr >= 1 && mr <= 6) frows_f32_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}

// Shared epilogue of the int8 panel kernels: c (=|+=) float(acc) * scale, 16 columns.
static inline void store_scaled(const int32x4_t acc[4], float s, float *ci, int accumulate) {
    for (int v = 0; v < 4; v++) {
        float32x4_t f = vmulq_n_f32(vcvtq_f32_s32(acc[v]), s);
        if (accumulate) f = vaddq_f32(f, vld1q_f32(ci + 4 * v));
        vst1q_f32(ci + 4 * v, f);
    }
}

// ---------------------------------------------------------------------------------------
// Int8 panel microkernels: MR rows x 16 columns of a signed panel (rtk_pack_i8_panels).
#define RTK_I8_SDOT(MR)                                                                          \
RTK_DOT static void i8_sdot_##MR(long kc4, const int8_t *const *a, const int8_t *wp,            \
                                 const float *scale, float *c, long ldc, int accumulate) {      \
    int32x4_t acc[MR][4];                                                                       \
    for (int i = 0; i < MR; i++) for (int v = 0; v < 4; v++) acc[i][v] = vdupq_n_s32(0);        \
    for (long g = 0; g < kc4; g++) {                                                            \
        int8x16_t w[4];                                                                         \
        for (int v = 0; v < 4; v++) w[v] = vld1q_s8(wp + g * 128 + 16 * v);                     \
        for (int i = 0; i < MR; i++) {                                                          \
            int32_t q; memcpy(&q, a[i] + 4 * g, 4);                                             \
            const int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(q));                           \
            for (int v = 0; v < 4; v++) acc[i][v] = vdotq_s32(acc[i][v], w[v], x);              \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++) store_scaled(acc[i], scale[i], c + i * ldc, accumulate);       \
}
RTK_I8_SDOT(1) RTK_I8_SDOT(2) RTK_I8_SDOT(3) RTK_I8_SDOT(4) RTK_I8_SDOT(5) RTK_I8_SDOT(6)

// Without sdot: per 4-column vector, two int32x4 accumulators holding (column, k pair)
// partial sums, folded pairwise at the end.
#define RTK_I8_MULL(MR)                                                                          \
static void i8_mull_##MR(long kc4, const int8_t *const *a, const int8_t *wp,                    \
                         const float *scale, float *c, long ldc, int accumulate) {              \
    int32x4_t lo[MR][4], hi[MR][4];                                                             \
    for (int i = 0; i < MR; i++)                                                                \
        for (int v = 0; v < 4; v++) { lo[i][v] = vdupq_n_s32(0); hi[i][v] = lo[i][v]; }         \
    for (long g = 0; g < kc4; g++) {                                                            \
        int8x16_t w[4];                                                                         \
        for (int v = 0; v < 4; v++) w[v] = vld1q_s8(wp + g * 128 + 16 * v);                     \
        for (int i = 0; i < MR; i++) {                                                          \
            int32_t q; memcpy(&q, a[i] + 4 * g, 4);                                             \
            const int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(q));                           \
            for (int v = 0; v < 4; v++) {                                                       \
                lo[i][v] = vpadalq_s16(lo[i][v], vmull_s8(vget_low_s8(w[v]), vget_low_s8(x)));  \
                hi[i][v] = vpadalq_s16(hi[i][v], vmull_high_s8(w[v], x));                       \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++) {                                                              \
        int32x4_t acc[4];                                                                       \
        for (int v = 0; v < 4; v++) acc[v] = vpaddq_s32(lo[i][v], hi[i][v]);                    \
        store_scaled(acc, scale[i], c + i * ldc, accumulate);                                   \
    }                                                                                           \
}
RTK_I8_MULL(1) RTK_I8_MULL(2) RTK_I8_MULL(3)

typedef void (*i8_neon_fn)(long, const int8_t *const *, const int8_t *, const float *, float *, long, int);
static const i8_neon_fn i8_sdot_table[6] = {i8_sdot_1, i8_sdot_2, i8_sdot_3, i8_sdot_4, i8_sdot_5, i8_sdot_6};
static const i8_neon_fn i8_mull_table[3] = {i8_mull_1, i8_mull_2, i8_mull_3};

void rtk_neon_i8_kernel(int dot, long mr, long kc4, const int8_t *const *a, const int8_t *wpanel,
                        const float *scale, float *c, long ldc, int accumulate) {
    const long step = dot ? 6 : 3;
    for (long i = 0; i < mr; i += step) {
        const long r = mr - i < step ? mr - i : step;
        const i8_neon_fn f = dot ? i8_sdot_table[r - 1] : i8_mull_table[r - 1];
        f(kc4, a + i, wpanel, scale + i, c + i * ldc, ldc, accumulate);
        f(kc4, a + i, wpanel + 64, scale + i, c + i * ldc + 16, ldc, accumulate);
    }
}

// ---------------------------------------------------------------------------------------
// Dot form for few rows: each weight row streamed once against MR activation rows.
#define RTK_ROWS_NEON(NAME, ATTR, MR, STEP)                                                      \
ATTR static void NAME##_##MR(long nc, long k, const int8_t *a, long lda,                        \
                             const int8_t *w, long ldw, int32_t *out, long ldo) {               \
    const long k16 = k & ~15L;                                                                  \
    for (long j = 0; j < nc; j++) {                                                             \
        const int8_t *wr = w + j * ldw;                                                         \
        int32x4_t acc[MR];                                                                      \
        for (int i = 0; i < MR; i++) acc[i] = vdupq_n_s32(0);                                   \
        long p = 0;                                                                             \
        for (; p < k16; p += 16) {                                                              \
            __builtin_prefetch(wr + p + 1024, 0, 3);                                            \
            const int8x16_t v = vld1q_s8(wr + p);                                               \
            for (int i = 0; i < MR; i++) { STEP(acc[i], v, vld1q_s8(a + i * lda + p)); }        \
        }                                                                                       \
        if (p < k) {                                                                            \
            int8_t tail[16] = {0};                                                              \
            memcpy(tail, wr + p, (size_t)(k - p));                                              \
            const int8x16_t v = vld1q_s8(tail);                                                 \
            for (int i = 0; i < MR; i++) { STEP(acc[i], v, vld1q_s8(a + i * lda + p)); }        \
        }                                                                                       \
        for (int i = 0; i < MR; i++) out[i * ldo + j] = vaddvq_s32(acc[i]);                     \
    }                                                                                           \
}
#define RTK_STEP_SDOT(acc, v, x) acc = vdotq_s32(acc, v, x)
// two products per int16 lane (<= 2·127·127 = 32258: exact), then pairs into int32
#define RTK_STEP_MULL(acc, v, x) acc = vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(v), vget_low_s8(x)), v, x))
RTK_ROWS_NEON(rows_sdot, RTK_DOT, 1, RTK_STEP_SDOT) RTK_ROWS_NEON(rows_sdot, RTK_DOT, 2, RTK_STEP_SDOT)
RTK_ROWS_NEON(rows_sdot, RTK_DOT, 3, RTK_STEP_SDOT) RTK_ROWS_NEON(rows_sdot, RTK_DOT, 4, RTK_STEP_SDOT)
RTK_ROWS_NEON(rows_sdot, RTK_DOT, 5, RTK_STEP_SDOT) RTK_ROWS_NEON(rows_sdot, RTK_DOT, 6, RTK_STEP_SDOT)
RTK_ROWS_NEON(rows_mull, , 1, RTK_STEP_MULL) RTK_ROWS_NEON(rows_mull, , 2, RTK_STEP_MULL)
RTK_ROWS_NEON(rows_mull, , 3, RTK_STEP_MULL) RTK_ROWS_NEON(rows_mull, , 4, RTK_STEP_MULL)
RTK_ROWS_NEON(rows_mull, , 5, RTK_STEP_MULL) RTK_ROWS_NEON(rows_mull, , 6, RTK_STEP_MULL)

typedef void (*rows_neon_fn)(long, long, const int8_t *, long, const int8_t *, long, int32_t *, long);
static const rows_neon_fn rows_sdot_table[6] = {rows_sdot_1, rows_sdot_2, rows_sdot_3, rows_sdot_4, rows_sdot_5, rows_sdot_6};
static const rows_neon_fn rows_mull_table[6] = {rows_mull_1, rows_mull_2, rows_mull_3, rows_mull_4, rows_mull_5, rows_mull_6};

void rtk_neon_i8_rows(int dot, long mr, long nc, long k, const int8_t *a, long lda,
                      const int8_t *w, long ldw, int32_t *out, long ldo) {
    if (mr < 1 || mr > 6) return;
    (dot ? rows_sdot_table : rows_mull_table)[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}

// ---------------------------------------------------------------------------------------
// Peak probes: independent chains entirely in registers.
float rtk_neon_peak_fma(long iterations) {
    float32x4_t acc[24];
    for (int i = 0; i < 24; i++) acc[i] = vdupq_n_f32((float)i);
    const float32x4_t x = vdupq_n_f32(0.999999f), y = vdupq_n_f32(1e-7f);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = vfmaq_f32(y, acc[i], x);
        __asm__ volatile("" ::: "memory");
    }
    float32x4_t s = acc[0];
    for (int i = 1; i < 24; i++) s = vaddq_f32(s, acc[i]);
    return vaddvq_f32(s);
}

RTK_DOT static int32_t peak_sdot(long iterations) {
    int32x4_t acc[24];
    for (int i = 0; i < 24; i++) acc[i] = vdupq_n_s32(i);
    const int8x16_t x = vdupq_n_s8(3), y = vdupq_n_s8(-2);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = vdotq_s32(acc[i], x, y);
        __asm__ volatile("" ::: "memory");
    }
    int32x4_t s = acc[0];
    for (int i = 1; i < 24; i++) s = vaddq_s32(s, acc[i]);
    return vaddvq_s32(s);
}

// Each chain multiplies its own accumulator's bytes, so no multiply is loop-invariant.
static int32_t peak_mull(long iterations) {
    int32x4_t acc[12];
    for (int i = 0; i < 12; i++) acc[i] = vdupq_n_s32(i);
    const int8x16_t x = vdupq_n_s8(3);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) RTK_STEP_MULL(acc[i], x, vreinterpretq_s8_s32(acc[i]));
        __asm__ volatile("" ::: "memory");
    }
    int32x4_t s = acc[0];
    for (int i = 1; i < 12; i++) s = vaddq_s32(s, acc[i]);
    return vaddvq_s32(s);
}

int32_t rtk_neon_peak_i8(int dot, long iterations) {
    return dot ? peak_sdot(iterations) : peak_mull(iterations);
}

#else  // not AArch64: stubs, never called because rtk_cpu_features() reports no NEON

void rtk_neon_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                         const float *b, long ldb, float *c, long ldc, int accumulate) {
    (void)rows; (void)nv; (void)kc; (void)a; (void)astep; (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate; }
void rtk_neon_i8_kernel(int dot, long mr, long kc4, const int8_t *const *a, const int8_t *wpanel,
                        const float *scale, float *c, long ldc, int accumulate) {
    (void)dot; (void)mr; (void)kc4; (void)a; (void)wpanel; (void)scale; (void)c; (void)ldc; (void)accumulate; }
void rtk_neon_i8_rows(int dot, long mr, long nc, long k, const int8_t *a, long lda,
                      const int8_t *w, long ldw, int32_t *out, long ldo) {
    (void)dot; (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
float rtk_neon_peak_fma(long iterations) { (void)iterations; return 0; }
int32_t rtk_neon_peak_i8(int dot, long iterations) { (void)dot; (void)iterations; return 0; }
void rtk_neon_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                          float *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
void rtk_neon_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                           float *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }

#endif
