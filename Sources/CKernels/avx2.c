// AVX2 + FMA kernels (level `avx2`; the int8 dot form also serves level `avx512`); see
// include/ckernels.h. Every function carries its own target attribute, so this file builds
// for any -target-cpu; callers check rtk_cpu_features() first.
//
// The int8 dot form (few rows) multiplies |w| (unsigned) by the activations with their sign
// bits flipped where w < 0 (vpmaddubsw: unsigned by signed bytes, adjacent pairs added into
// int16 with saturation, which these operands never reach) and adds back a per-weight-row
// term; vpmaddwd by ones widens the pairs exactly into int32 sums of four. See "few-row int8
// products" below. The panel form (many rows) uses the pair form instead (i8_pairs.c).
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"
#include <string.h>

#define RTK_AVX2 __attribute__((target("avx2,fma")))
#include "x86_hsum.h"
#include "frows_chunks.h"

// ---------------------------------------------------------------------------------------
// Float32 microkernel: MR rows (MR <= 6) x 16 columns = 12 accumulators, 2 B vectors and
// one broadcast in the 16 ymm registers (the classic Haswell 6x16 shape). Each output is
// one FMA chain over p in increasing order, from 0 or from C (bit-identical to the other
// levels).
#define RTK_F32_AVX2(MR)                                                                         \
RTK_AVX2 static void f32_avx2_##MR(long kc, const float *const *a, long astep, const float *b, \
                                   long ldb, float *c, long ldc, int accumulate) {             \
    __m256 acc[MR][2];                                                                          \
    const float *ap[MR];                                                                        \
    for (int i = 0; i < MR; i++) {                                                              \
        ap[i] = a[i];                                                                           \
        acc[i][0] = accumulate ? _mm256_loadu_ps(c + i * ldc) : _mm256_setzero_ps();            \
        acc[i][1] = accumulate ? _mm256_loadu_ps(c + i * ldc + 8) : _mm256_setzero_ps();        \
    }                                                                                           \
    for (long p = 0; p < kc; p++) {                                                             \
        const __m256 w0 = _mm256_loadu_ps(b + p * ldb), w1 = _mm256_loadu_ps(b + p * ldb + 8);  \
        for (int i = 0; i < MR; i++) {                                                          \
            const __m256 x = _mm256_broadcast_ss(ap[i] + p * astep);                            \
            acc[i][0] = _mm256_fmadd_ps(x, w0, acc[i][0]);                                      \
            acc[i][1] = _mm256_fmadd_ps(x, w1, acc[i][1]);                                      \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++) {                                                              \
        _mm256_storeu_ps(c + i * ldc, acc[i][0]);                                               \
        _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);                                           \
    }                                                                                           \
}
RTK_F32_AVX2(1) RTK_F32_AVX2(2) RTK_F32_AVX2(3) RTK_F32_AVX2(4) RTK_F32_AVX2(5) RTK_F32_AVX2(6)

typedef void (*f32_avx2_fn)(long, const float *const *, long, const float *, long, float *, long, int);
static const f32_avx2_fn f32_avx2_table[6] = {
    f32_avx2_1, f32_avx2_2, f32_avx2_3, f32_avx2_4, f32_avx2_5, f32_avx2_6};

void rtk_avx2_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                         const float *b, long ldb, float *c, long ldc, int accumulate) {
    for (long i = 0; i < rows;) {
        const long r = rtk_f32_strip6(rows - i);      // ckernels.h
        for (long v = 0; v < nv; v++)
            f32_avx2_table[r - 1](kc, a + i, astep, b + 16 * v, ldb, c + i * ldc + 16 * v, ldc, accumulate);
        i += r;
    }
}

// ---------------------------------------------------------------------------------------
// Float panels (the rtk_pack_f32_from_i8 layout [panels][kc][32]) with 8x8 transposes:
// 8 weight rows x 8 k values are loaded (widened to float for int8), transposed in
// registers, and stored as 8 panel rows of 8 columns.
RTK_AVX2 static inline void transpose8(__m256 r[8]) {
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    __m256 u[8];
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

#define RTK_PACK_F32_AVX2(NAME, T, LOAD8)                                                        \
RTK_AVX2 void NAME(const T *w, long ldw, long nc, long kc, float *out) {                        \
    const long panels = (nc + 31) / 32, kc8 = kc & ~7L;                                         \
    for (long jp = 0; jp < panels; jp++) {                                                      \
        float *po = out + jp * kc * 32;                                                         \
        for (long j8 = 0; j8 < 32; j8 += 8) {                                                   \
            const long j0 = jp * 32 + j8;                                                       \
            if (j0 + 8 <= nc) {                                                                 \
                long p = 0;                                                                     \
                for (; p < kc8; p += 8) {                                                       \
                    __m256 r[8];                                                                \
                    for (int q = 0; q < 8; q++) r[q] = LOAD8(w + (j0 + q) * ldw + p);           \
                    transpose8(r);                                                              \
                    for (int e = 0; e < 8; e++) _mm256_storeu_ps(po + (p + e) * 32 + j8, r[e]); \
                }                                                                               \
                for (; p < kc; p++)                                                             \
                    for (int q = 0; q < 8; q++) po[p * 32 + j8 + q] = (float)w[(j0 + q) * ldw + p]; \
            } else {                                                                            \
                for (long p = 0; p < kc; p++)                                                   \
                    for (long q = 0; q < 8; q++)                                                \
                        po[p * 32 + j8 + q] = j0 + q < nc ? (float)w[(j0 + q) * ldw + p] : 0.0f; \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
}
#define RTK_LOAD8_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define RTK_LOAD8_F32(p) _mm256_loadu_ps(p)
RTK_PACK_F32_AVX2(rtk_avx2_pack_f32_from_i8, int8_t, RTK_LOAD8_I8)
RTK_PACK_F32_AVX2(rtk_avx2_pack_f32_from_f32, float, RTK_LOAD8_F32)

// ---------------------------------------------------------------------------------------
// The int8 panel kernels' epilogue for 16 columns (the AVX-VNNI kernels below; the pair form
// has its own in i8_pairs.c): c (= or +=) float(sum) * s, the same two float steps (multiply,
// then add) as every other level's int8 kernels.
RTK_AVX2 static inline void store_scaled16(__m256i lo, __m256i hi, float scale, float *ci, int accumulate) {
    const __m256 s = _mm256_set1_ps(scale);
    __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(lo), s), v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(hi), s);
    if (accumulate) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ci));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, v0);
    _mm256_storeu_ps(ci + 8, v1);
}

// ---------------------------------------------------------------------------------------
// Dot form for few rows: each weight row is streamed once (sequentially, with software
// prefetch) against MR activation rows held in L1.

// One 32-byte step of a dot-form row (inside the loops below: MR rows of a at row stride
// lda, position p): ACC[i] = STEP(ACC[i], V, 32 activations of row i), i < MR.
#define RTK_ROWS_STEP32(MR, V, STEP, ACC)                                                        \
    {                                                                                           \
        const __m256i v_ = (V);                                                                 \
        for (int i = 0; i < MR; i++)                                                            \
            ACC[i] = STEP(ACC[i], v_, _mm256_loadu_si256((const __m256i *)(a + i * lda + p)));  \
    }
// The k % 32 tail of weight row WR, through a zero-padded copy.
#define RTK_ROWS_TAIL(MR, WR, LOADW, STEP, ACC)                                                  \
    if (p < k) {                                                                                \
        int8_t tail[32] = {0};                                                                  \
        memcpy(tail, (WR) + p, (size_t)(k - p));                                                \
        RTK_ROWS_STEP32(MR, LOADW(tail), STEP, ACC)                                             \
    }
// The few-row int8 products of this level: |w| (unsigned) times x XOR m, where m is the sign
// mask of w (0xFF where w < 0). Where w ≥ 0 that is |w|·x = w·x; where w < 0, x XOR m = −x − 1,
// so |w|·(−x − 1) = w·x − |w|. The weight row's term T = Σ_{w<0} |w| is summed beside the
// products (vpsadbw) and added back at the end: exact. Every pair sum lies in
// [−2·128·128, 2·128·127] = [−32768, 32512] (|w| ≤ 128, x XOR m in [−128, 127]), so vpmaddubsw
// never saturates, for every int8 operand. |w| and m are shared by the MR rows, so per row
// and 32 products: vpxor, vpmaddubsw, vpmaddwd (by ones), vpaddd. The sign trick it replaced
// had vpsignb for vpxor, which can run on fewer pipes (Skylake: the two multiply ports).
// 6 rows, k = 4608, one thread, Zen 4, a C loop over L1/L2-resident weights: 11.4–12.0 GB/s
// of weights with vpsignb, 13.3–14.2 with vpxor and T summed in the loop (14.9–15.3 with T
// precomputed: rows_avx2_t below). On a Zen 5 the same change
// measured 5 % slower (docs/kernels.md); the level is for CPUs without AVX-512 (Zen 2/3,
// Intel client cores), which are closer to the Zen 4 here.
//
// LOADW and STEP of the dot-form loop: the load also adds the vector's part of T to `term`
// (a local of the loop below), and the step recomputes |w| and m per row, which the compiler
// folds into one of each per weight vector.
RTK_AVX2 static inline __m256i xor_load(const int8_t *p, __m256i *term) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)p), zero = _mm256_setzero_si256();
    *term = _mm256_add_epi64(*term, _mm256_sad_epu8(_mm256_and_si256(_mm256_abs_epi8(v),
                                                                     _mm256_cmpgt_epi8(zero, v)), zero));
    return v;
}
RTK_AVX2 static inline __m256i xor_step(__m256i acc, __m256i v, __m256i x) {
    const __m256i m = _mm256_cmpgt_epi8(_mm256_setzero_si256(), v);
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(v), _mm256_xor_si256(x, m));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
// The term summed beside the products (four int64 lanes of vpsadbw), as int32.
RTK_AVX2 static inline int32_t term_sum(__m256i term) {
    const __m128i t2 = _mm_add_epi64(_mm256_castsi256_si128(term), _mm256_extracti128_si256(term, 1));
    return (int32_t)(_mm_cvtsi128_si64(t2) + _mm_extract_epi64(t2, 1));
}
#define RTK_LOADW_XOR(p) xor_load((p), &term)
#define RTK_LOADW_PLAIN(p) _mm256_loadu_si256((const __m256i *)(p))
// Two variants of the loop: NAME = rows_avx2 sums T in the loop (LOADW = RTK_LOADW_XOR, TERM =
// term_sum(term)); NAME = rows_avx2_t takes the rows' T from `terms`, computed once with the
// weights (rtk_i8_negative_terms: `I8RowTerms`, for the generator, whose 50 steps reuse them),
// which saves the vpand and vpsadbw per weight vector (LOADW = RTK_LOADW_PLAIN, TERM = terms[j]).
#define RTK_ROWS_AVX2(NAME, MR, LOADW, TERM)                                                     \
RTK_AVX2 static void NAME##_##MR(long nc, long k, const int8_t *a, long lda, const int8_t *w,   \
                                 long ldw, const int32_t *terms, int32_t *out, long ldo) {      \
    const long k32 = k & ~31L;                                                                  \
    (void)terms;                                                                                \
    for (long j = 0; j < nc; j++) {                                                             \
        const int8_t *wr = w + j * ldw;                                                         \
        __m256i acc[MR], term = _mm256_setzero_si256();                                         \
        (void)term;                                                                             \
        for (int i = 0; i < MR; i++) acc[i] = _mm256_setzero_si256();                           \
        long p = 0;                                                                             \
        for (; p < k32; p += 32) {                                                              \
            _mm_prefetch((const char *)wr + p + 1024, _MM_HINT_T0);                             \
            _mm_prefetch((const char *)wr + p + 16384, _MM_HINT_T1);                            \
            RTK_ROWS_STEP32(MR, LOADW(wr + p), xor_step, acc)                                   \
        }                                                                                       \
        RTK_ROWS_TAIL(MR, wr, LOADW, xor_step, acc)                                             \
        const int32_t t = (TERM);                                                               \
        for (int i = 0; i < MR; i++) out[i * ldo + j] = rtk_hsum8_epi32(acc[i]) + t;            \
    }                                                                                           \
}
#define RTK_ROWS_AVX2_ALL(NAME, LOADW, TERM)                                                     \
    RTK_ROWS_AVX2(NAME, 1, LOADW, TERM) RTK_ROWS_AVX2(NAME, 2, LOADW, TERM)                     \
    RTK_ROWS_AVX2(NAME, 3, LOADW, TERM) RTK_ROWS_AVX2(NAME, 4, LOADW, TERM)                     \
    RTK_ROWS_AVX2(NAME, 5, LOADW, TERM) RTK_ROWS_AVX2(NAME, 6, LOADW, TERM)
RTK_ROWS_AVX2_ALL(rows_avx2, RTK_LOADW_XOR, term_sum(term))
RTK_ROWS_AVX2_ALL(rows_avx2_t, RTK_LOADW_PLAIN, terms[j])

typedef void (*xor_rows_fn)(long, long, const int8_t *, long, const int8_t *, long, const int32_t *, int32_t *, long);
static const xor_rows_fn xor_rows_table[2][6] = {
    {rows_avx2_1, rows_avx2_2, rows_avx2_3, rows_avx2_4, rows_avx2_5, rows_avx2_6},
    {rows_avx2_t_1, rows_avx2_t_2, rows_avx2_t_3, rows_avx2_t_4, rows_avx2_t_5, rows_avx2_t_6}};

void rtk_avx2_i8_rows(long mr, long nc, long k, const int8_t *a, long lda,
                      const int8_t *w, long ldw, int32_t *out, long ldo) {
    if (mr >= 1 && mr <= 6) xor_rows_table[0][mr - 1](nc, k, a, lda, w, ldw, NULL, out, ldo);
}

void rtk_avx2_i8_rows_t(long mr, long nc, long k, const int8_t *a, long lda, const int8_t *w, long ldw,
                        const int32_t *terms, int32_t *out, long ldo) {
    if (mr >= 1 && mr <= 6) xor_rows_table[1][mr - 1](nc, k, a, lda, w, ldw, terms, out, ldo);
}

// ---------------------------------------------------------------------------------------
// Float dot form for few rows (W8A32 and float weights; the generator's 6-row products):
// each weight row is streamed once, widened to float, and dotted with the MR rows.
// The arithmetic is exactly the generic level's (RowKernels.swift): per output, 16 lane-wise
// FMA chains over 16-value chunks, the fixed tree sum (8 + 8, 4 + 4, 2 + 2, 1 + 1), then the
// k % 16 tail as scalar FMAs in order, so the result is the same bits on every level.
#define RTK_W8_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define RTK_W8_F32(p) _mm256_loadu_ps(p)
// Each output's 16 lane sums over p in [c0, c1) (multiples of 16), added to acc[MR][2]: weight
// row wr widened 8 at a time, every activation row read once. Prefetches run 1 KB (L1) and
// 16 KB (L2) ahead along the weight row.
#define RTK_FROWS_SPAN(LOAD8, MR, wr, c0, c1, acc)                                               \
    for (long p = (c0); p < (c1); p += 16) {                                                    \
        if ((p & 63) == 0) {                                                                    \
            _mm_prefetch((const char *)((wr) + p) + 1024, _MM_HINT_T0);                         \
            _mm_prefetch((const char *)((wr) + p) + 16384, _MM_HINT_T1);                        \
        }                                                                                       \
        const __m256 w0 = LOAD8((wr) + p), w1 = LOAD8((wr) + p + 8);                            \
        for (int i = 0; i < MR; i++) {                                                          \
            acc[i][0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + p), w0, acc[i][0]);       \
            acc[i][1] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i * lda + p + 8), w1, acc[i][1]);   \
        }                                                                                       \
    }
// out[i * ldo + j] = the tree sum of acc[i] plus the k % 16 tail, for the MR rows.
#define RTK_FROWS_FINISH(MR, wr, acc, j)                                                         \
    for (int i = 0; i < MR; i++) {                                                              \
        float t = rtk_tree16_ps(acc[i][0], acc[i][1]);                                                 \
        for (long r = k16; r < k; r++) t = __builtin_fmaf(a[i * lda + r], (float)(wr)[r], t);   \
        out[i * ldo + (j)] = t;                                                                 \
    }
// Activation rows longer than L1 go in chunks (frows_chunks.h).
#define RTK_FROWS_AVX2(TAG, T, LOAD8, MR)                                                        \
RTK_AVX2 static void frows_##TAG##_##MR(long nc, long k, const float *a, long lda,              \
                                        const T *w, long ldw, float *out, long ldo) {           \
    RTK_FROWS_BODY(T, MR, __m256, 2, _mm256_setzero_ps(), RTK_FROWS_SPAN, LOAD8, RTK_FROWS_FINISH) \
}
RTK_FROWS_AVX2(i8, int8_t, RTK_W8_I8, 1) RTK_FROWS_AVX2(i8, int8_t, RTK_W8_I8, 2)
RTK_FROWS_AVX2(i8, int8_t, RTK_W8_I8, 3) RTK_FROWS_AVX2(i8, int8_t, RTK_W8_I8, 4)
RTK_FROWS_AVX2(i8, int8_t, RTK_W8_I8, 5) RTK_FROWS_AVX2(i8, int8_t, RTK_W8_I8, 6)
RTK_FROWS_AVX2(f32, float, RTK_W8_F32, 1) RTK_FROWS_AVX2(f32, float, RTK_W8_F32, 2)
RTK_FROWS_AVX2(f32, float, RTK_W8_F32, 3) RTK_FROWS_AVX2(f32, float, RTK_W8_F32, 4)
RTK_FROWS_AVX2(f32, float, RTK_W8_F32, 5) RTK_FROWS_AVX2(f32, float, RTK_W8_F32, 6)

typedef void (*frows_i8_fn)(long, long, const float *, long, const int8_t *, long, float *, long);
typedef void (*frows_f32_fn)(long, long, const float *, long, const float *, long, float *, long);
static const frows_i8_fn frows_i8_table[6] = {frows_i8_1, frows_i8_2, frows_i8_3, frows_i8_4, frows_i8_5, frows_i8_6};
static const frows_f32_fn frows_f32_table[6] = {frows_f32_1, frows_f32_2, frows_f32_3, frows_f32_4, frows_f32_5, frows_f32_6};

void rtk_avx2_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                          float *out, long ldo) {
    if (mr >= 1 && mr <= 6) frows_i8_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}
void rtk_avx2_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                           float *out, long ldo) {
    if (mr >= 1 && mr <= 6) frows_f32_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}

// ---------------------------------------------------------------------------------------
// AVX-VNNI: ymm vpdpbusd on weight + 128 (unsigned) times activations (signed), four
// products into each int32 lane without any intermediate saturation; the bias 128 * sum(a)
// is removed with the per-row correction, as in the zmm VNNI kernels. One instruction per
// 32 multiply-adds instead of the sign trick's four. Each kernel is instantiated twice from
// one macro: VEX-encoded (AVX-VNNI CPUs: Alder Lake and later, Zen 5) and EVEX-encoded
// (AVX-512 VNNI CPUs, where the tests run it: the encodings compute the same thing).
#define RTK_AVXVNNI_VEX RTK_X86_TARGET("avx2,fma,avxvnni")
#define RTK_AVXVNNI_EVEX RTK_X86_TARGET("avx2,fma,avx512f,avx512vl,avx512vnni")
#define RTK_DP_VEX(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)
#define RTK_DP_EVEX(acc, u, s) _mm256_dpbusd_epi32(acc, u, s)

#define RTK_I8_DP(TAG, ATTR, DP, MR)                                                             \
ATTR static void i8_##TAG##_##MR(long kc4, const int8_t *const *a, const uint8_t *wp,           \
                                 const int32_t *corr, const float *scale, float *c, long ldc,   \
                                 int accumulate) {                                              \
    __m256i acc[MR][2];                                                                         \
    for (int i = 0; i < MR; i++) { acc[i][0] = _mm256_setzero_si256(); acc[i][1] = acc[i][0]; } \
    for (long g = 0; g < kc4; g++) {                                                            \
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(wp + g * 128));                 \
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + g * 128 + 32));            \
        for (int i = 0; i < MR; i++) {                                                          \
            int32_t q; memcpy(&q, a[i] + 4 * g, 4);                                             \
            const __m256i x = _mm256_set1_epi32(q);                                             \
            acc[i][0] = DP(acc[i][0], w0, x);                                                   \
            acc[i][1] = DP(acc[i][1], w1, x);                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++) {                                                              \
        const __m256i cr = _mm256_set1_epi32(corr[i]);                                          \
        store_scaled16(_mm256_sub_epi32(acc[i][0], cr), _mm256_sub_epi32(acc[i][1], cr), scale[i], \
                       c + i * ldc, accumulate);                                                \
    }                                                                                           \
}
RTK_I8_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 1) RTK_I8_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 2)
RTK_I8_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 3) RTK_I8_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 4)
RTK_I8_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 1) RTK_I8_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 2)
RTK_I8_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 3) RTK_I8_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 4)

typedef void (*i8_dp_fn)(long, const int8_t *const *, const uint8_t *, const int32_t *, const float *, float *, long, int);
static const i8_dp_fn i8_dp_table[2][4] = {{i8_vex_1, i8_vex_2, i8_vex_3, i8_vex_4},
                                           {i8_evex_1, i8_evex_2, i8_evex_3, i8_evex_4}};

void rtk_avxvnni_i8_kernel(int evex, long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                           const int32_t *corr, const float *scale, float *c, long ldc, int accumulate) {
    for (long i = 0; i < mr; i += 4) {
        const long r = mr - i < 4 ? mr - i : 4;
        const i8_dp_fn f = i8_dp_table[evex ? 1 : 0][r - 1];
        f(kc4, a + i, wpanel, corr + i, scale + i, c + i * ldc, ldc, accumulate);
        f(kc4, a + i, wpanel + 64, corr + i, scale + i, c + i * ldc + 16, ldc, accumulate);
    }
}

// Dot form: weights + 128 (unsigned) against the activations; the caller removes 128·Σa.
// The loop of rows_avx2 above with two accumulators per row, for the even and odd 32 bytes of
// each 64: one vpdpbusd chain per row had bound it by the instruction's latency (30 against
// 34 GB/s in a C loop over 75 MB of weights, 6 rows, one thread, Zen 5). 12 accumulators,
// two weight vectors and the 0x80 mask fit the 16 ymm of VEX.
#define RTK_LOADW_BIASED(p) _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p)), _mm256_set1_epi8((char)0x80))
// Two weight rows per pass (rows j and j + 1): each activation load feeds both rows' chains,
// which also gives every chain a neighbour to overlap the instruction's latency with. VEX: 12
// sums, two weight vectors, the activation and the 0x80 mask fill the 16 ymm, without spills.
// Zen 4 (EVEX), guided W8A8 generator step, six alternated rounds of 15 runs: one thread
// 0.0349-0.0357 -> 0.0304-0.0312 s, two threads 0.0206-0.0213 -> 0.0191-0.0197 s. An odd last
// weight row takes the one-row loop below.
#define RTK_ROWS_PAIR(MR, DP, j)                                                                 \
    {                                                                                           \
        const int8_t *w0 = w + (j) * ldw, *w1 = w0 + ldw;                                       \
        __m256i s0[MR], s1[MR];                                                                 \
        for (int i = 0; i < MR; i++) { s0[i] = _mm256_setzero_si256(); s1[i] = s0[i]; }         \
        long p = 0;                                                                             \
        for (; p < k32; p += 32) {                                                              \
            if ((p & 63) == 0) {                                                                \
                _mm_prefetch((const char *)w0 + p + 1024, _MM_HINT_T0);                         \
                _mm_prefetch((const char *)w1 + p + 1024, _MM_HINT_T0);                         \
                _mm_prefetch((const char *)w0 + p + 16384, _MM_HINT_T1);                        \
                _mm_prefetch((const char *)w1 + p + 16384, _MM_HINT_T1);                        \
            }                                                                                   \
            const __m256i v0 = RTK_LOADW_BIASED(w0 + p), v1 = RTK_LOADW_BIASED(w1 + p);         \
            for (int i = 0; i < MR; i++) {                                                      \
                const __m256i x = _mm256_loadu_si256((const __m256i *)(a + i * lda + p));       \
                s0[i] = DP(s0[i], v0, x);                                                       \
                s1[i] = DP(s1[i], v1, x);                                                       \
            }                                                                                   \
        }                                                                                       \
        RTK_ROWS_TAIL(MR, w0, RTK_LOADW_BIASED, DP, s0)                                         \
        RTK_ROWS_TAIL(MR, w1, RTK_LOADW_BIASED, DP, s1)                                         \
        for (int i = 0; i < MR; i++) {                                                          \
            out[i * ldo + (j)] = rtk_hsum8_epi32(s0[i]);                                        \
            out[i * ldo + (j) + 1] = rtk_hsum8_epi32(s1[i]);                                    \
        }                                                                                       \
    }
#define RTK_ROWS_DP(TAG, ATTR, DP, MR)                                                           \
ATTR static void rows_##TAG##_##MR(long nc, long k, const int8_t *a, long lda,                  \
                                   const int8_t *w, long ldw, int32_t *out, long ldo) {         \
    const long k32 = k & ~31L, k64 = k & ~63L;                                                  \
    long j0 = 0;                                                                                \
    for (; j0 + 2 <= nc; j0 += 2) RTK_ROWS_PAIR(MR, DP, j0)                                     \
    for (long j = j0; j < nc; j++) {                                                            \
        const int8_t *wr = w + j * ldw;                                                         \
        __m256i acc[MR], odd[MR];                                                               \
        for (int i = 0; i < MR; i++) { acc[i] = _mm256_setzero_si256(); odd[i] = acc[i]; }     \
        long p = 0;                                                                             \
        for (; p < k64; p += 64) {                                                              \
            _mm_prefetch((const char *)wr + p + 1024, _MM_HINT_T0);                             \
            _mm_prefetch((const char *)wr + p + 16384, _MM_HINT_T1);                            \
            const __m256i v = RTK_LOADW_BIASED(wr + p), v2 = RTK_LOADW_BIASED(wr + p + 32);     \
            for (int i = 0; i < MR; i++) {                                                      \
                acc[i] = DP(acc[i], v, _mm256_loadu_si256((const __m256i *)(a + i * lda + p))); \
                odd[i] = DP(odd[i], v2, _mm256_loadu_si256((const __m256i *)(a + i * lda + p + 32))); \
            }                                                                                   \
        }                                                                                       \
        if (p < k32) {                                                                          \
            RTK_ROWS_STEP32(MR, RTK_LOADW_BIASED(wr + p), DP, acc)                              \
            p += 32;                                                                            \
        }                                                                                       \
        RTK_ROWS_TAIL(MR, wr, RTK_LOADW_BIASED, DP, odd)                                        \
        for (int i = 0; i < MR; i++) out[i * ldo + j] = rtk_hsum8_epi32(_mm256_add_epi32(acc[i], odd[i])); \
    }                                                                                           \
}
RTK_ROWS_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 1) RTK_ROWS_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 2)
RTK_ROWS_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 3) RTK_ROWS_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 4)
RTK_ROWS_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 5) RTK_ROWS_DP(vex, RTK_AVXVNNI_VEX, RTK_DP_VEX, 6)
RTK_ROWS_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 1) RTK_ROWS_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 2)
RTK_ROWS_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 3) RTK_ROWS_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 4)
RTK_ROWS_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 5) RTK_ROWS_DP(evex, RTK_AVXVNNI_EVEX, RTK_DP_EVEX, 6)

typedef void (*rows_avx2_fn)(long, long, const int8_t *, long, const int8_t *, long, int32_t *, long);
static const rows_avx2_fn rows_dp_table[2][6] = {
    {rows_vex_1, rows_vex_2, rows_vex_3, rows_vex_4, rows_vex_5, rows_vex_6},
    {rows_evex_1, rows_evex_2, rows_evex_3, rows_evex_4, rows_evex_5, rows_evex_6}};

void rtk_avxvnni_i8_rows(int evex, long mr, long nc, long k, const int8_t *a, long lda,
                         const int8_t *w, long ldw, int32_t *out, long ldo) {
    if (mr >= 1 && mr <= 6) rows_dp_table[evex ? 1 : 0][mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}

// ---------------------------------------------------------------------------------------
// Peak probes: independent chains entirely in registers.
RTK_AVX2 float rtk_avx2_peak_fma(long iterations) {
    __m256 acc[12];
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" ::: "memory");
    }
    __m256 s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(h) + _mm_cvtss_f32(_mm_shuffle_ps(h, h, 1));
}

RTK_AVXVNNI_VEX int32_t rtk_avxvnni_peak(long iterations) {
    __m256i acc[12];
    const __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-2);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], x, y);
        __asm__ volatile("" ::: "memory");
    }
    __m256i s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_epi32(s, acc[i]);
    return rtk_hsum8_epi32(s);
}

#else  // not x86-64: stubs, never called because rtk_cpu_features() reports no AVX2

void rtk_avx2_pack_f32_from_i8(const int8_t *w, long ldw, long nc, long kc, float *out) {
    (void)w; (void)ldw; (void)nc; (void)kc; (void)out; }
void rtk_avx2_pack_f32_from_f32(const float *w, long ldw, long nc, long kc, float *out) {
    (void)w; (void)ldw; (void)nc; (void)kc; (void)out; }
void rtk_avx2_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                         const float *b, long ldb, float *c, long ldc, int accumulate) {
    (void)rows; (void)nv; (void)kc; (void)a; (void)astep; (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate; }
void rtk_avx2_i8_rows(long mr, long nc, long k, const int8_t *a, long lda,
                      const int8_t *w, long ldw, int32_t *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
void rtk_avx2_i8_rows_t(long mr, long nc, long k, const int8_t *a, long lda, const int8_t *w, long ldw,
                        const int32_t *terms, int32_t *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)terms; (void)out; (void)ldo; }
float rtk_avx2_peak_fma(long iterations) { (void)iterations; return 0; }
void rtk_avxvnni_i8_kernel(int evex, long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                           const int32_t *corr, const float *scale, float *c, long ldc, int accumulate) {
    (void)evex; (void)mr; (void)kc4; (void)a; (void)wpanel; (void)corr; (void)scale; (void)c; (void)ldc; (void)accumulate; }
void rtk_avxvnni_i8_rows(int evex, long mr, long nc, long k, const int8_t *a, long lda,
                         const int8_t *w, long ldw, int32_t *out, long ldo) {
    (void)evex; (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
int32_t rtk_avxvnni_peak(long iterations) { (void)iterations; return 0; }
void rtk_avx2_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                          float *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
void rtk_avx2_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                           float *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }

#endif
