// Int8 panel products in the pair form (levels avx2 and avx512): see include/ckernels.h.
//
// AVX2 has no int8 dot instruction. Its byte multiply, vpmaddubsw, takes one unsigned operand
// and saturates its int16 pair sums, so an exact int8 x int8 product needs the sign trick
// (vpsignb, vpmaddubsw, then vpmaddwd by ones to widen): three multiply-port instructions per
// 32 products. The pair form needs one. For each group of four k, with activations x and the
// weights w of one column,
//
//   x0·w0 + x1·w1 + x2·w2 + x3·w3 = (x0 + w1)(x1 + w0) + (x2 + w3)(x3 + w2)
//                                   − (x0·x1 + x2·x3) − (w0·w1 + w2·w3),
//
// an identity of integers (Winograd's inner product, 1968). The first two products are one
// int32 lane of vpmaddwd on the int16 sums (x0 + w1, x2 + w3) and (x1 + w0, x3 + w2); the row
// term depends on the activations only (computed once per row and call, when it is
// prepared), the column term on the weights only (computed when a packed panel is staged). Per
// 32 products: two vpaddw, one vpmaddwd, one vpaddd. Every value stays exact: |x + w| ≤ 255
// fits int16, a lane adds two products of magnitude ≤ 65025, and a K block of 768 sums 192
// lanes, ≤ 2.5e7 < 2^31. So the int32 block sums are those of every other level, bit for bit.
#include "ckernels.h"
#include <string.h>

// ---------------------------------------------------------------------------------------
// Plain C (every architecture): staging, the row preparation and the kernel's reference.

// Where column j's pairs sit in a staged group of 128 int16, in 16-value chunks of 8 columns:
// "wa" chunks hold (b1, b3) of each column, "wb" chunks (b0, b2). The ymm order is
// [wa0 wb0 wa1 wb1 wa2 wb2 wa3 wb3] (one ymm pair per 8 columns); the zmm order is
// [wa0 wa1 wb0 wb1 wa2 wa3 wb2 wb3] (one zmm pair per 16 columns). Returns the offset of
// column j's wa pair; its wb pair is `wb_distance(zmm)` further.
static inline long pair_offset(long j, int zmm) {
    const long v = j / 8, chunk = zmm ? (v / 2) * 4 + v % 2 : 2 * v;
    return chunk * 16 + (j % 8) * 2;
}
static inline long wb_distance(int zmm) { return zmm ? 32 : 16; }

void rtk_i8_pairs_stage_c(long kc4, const int8_t *panel, int16_t *out, int zmm) {
    int32_t terms[32] = {0};
    for (long g = 0; g < kc4; g++)
        for (long j = 0; j < 32; j++) {
            const int8_t *q = panel + g * 128 + j * 4;
            int16_t *o = out + g * 128 + pair_offset(j, zmm), *ob = o + wb_distance(zmm);
            o[0] = q[1]; o[1] = q[3];               // paired with x0, x2
            ob[0] = q[0]; ob[1] = q[2];             // paired with x1, x3
            terms[j] += (int32_t)q[0] * q[1] + (int32_t)q[2] * q[3];
        }
    memcpy(out + kc4 * 128, terms, sizeof terms);
}

void rtk_i8_pairs_prepare_c(long kc4, const int8_t *x, int32_t *out, int32_t *rowTerm) {
    int32_t term = 0;
    for (long g = 0; g < kc4; g++) {
        const int8_t x0 = x[4 * g], x1 = x[4 * g + 1], x2 = x[4 * g + 2], x3 = x[4 * g + 3];
        out[2 * g] = (int32_t)((uint32_t)(uint16_t)x0 | (uint32_t)(uint16_t)x2 << 16);
        out[2 * g + 1] = (int32_t)((uint32_t)(uint16_t)x1 | (uint32_t)(uint16_t)x3 << 16);
        term += (int32_t)x0 * x1 + (int32_t)x2 * x3;
    }
    *rowTerm = term;
}

/// Sign-extended int16 halves of a prepared word.
static inline int32_t lo16(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v & 0xFFFF); }
static inline int32_t hi16(int32_t v) { return (int16_t)(uint16_t)((uint32_t)v >> 16); }

void rtk_i8_pairs_kernel_c(long mr, long kc4, const int32_t *const *a, const int16_t *staged,
                           const int32_t *rowTerm, const float *scale, float *c, long ldc, int accumulate, int zmm) {
    const int32_t *terms = (const int32_t *)(const void *)(staged + kc4 * 128);
    const long wb = wb_distance(zmm);
    for (long i = 0; i < mr; i++) {
        for (long j = 0; j < 32; j++) {
            int32_t sum = 0;
            for (long g = 0; g < kc4; g++) {
                const int16_t *p = staged + g * 128 + pair_offset(j, zmm);
                const int32_t xa = a[i][2 * g], xb = a[i][2 * g + 1];
                sum += (lo16(xa) + p[0]) * (lo16(xb) + p[wb]) + (hi16(xa) + p[1]) * (hi16(xb) + p[wb + 1]);
            }
            const float t = (float)(sum - rowTerm[i] - terms[j]) * scale[i];
            c[i * ldc + j] = accumulate ? t + c[i * ldc + j] : t;
        }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"

#define RTK_AVX2 __attribute__((target("avx2,fma")))

#include "x86_hsum.h"

// ---------------------------------------------------------------------------------------
// AVX2: row preparation, 4 groups (16 bytes) per step: widen to int16, reorder each group
// (x0, x1, x2, x3) to (x0, x2 | x1, x3), and sum x0·x1 + x2·x3 with one vpmaddwd against the
// group's pairs swapped (each product counted twice, halved at the end).
RTK_AVX2 void rtk_avx2_i8_pairs_prepare(long kc4, const int8_t *x, int32_t *out, int32_t *rowTerm) {
    const __m256i order = _mm256_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15,
                                           0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15);
    const __m256i swap = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
                                          2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    const long kc16 = kc4 & ~3L;
    __m256i twice = _mm256_setzero_si256();
    long g = 0;
    for (; g < kc16; g += 4) {
        const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + 4 * g)));
        _mm256_storeu_si256((__m256i *)(out + 2 * g), _mm256_shuffle_epi8(v, order));
        twice = _mm256_add_epi32(twice, _mm256_madd_epi16(v, _mm256_shuffle_epi8(v, swap)));
    }
    int32_t tailTerm;
    rtk_i8_pairs_prepare_c(kc4 - g, x + 4 * g, out + 2 * g, &tailTerm);
    *rowTerm = rtk_hsum8_epi32(twice) / 2 + tailTerm;
}

// Staging: one packed panel (rtk_pack_i8_panels: lane l of 8-column vector v holds column
// 8v + l's four bytes b0..b3) turned into the int16 pairs the kernel adds to, once per
// (task, K block), so that its vpaddw read them straight from L1 (AMD runs vpmovsxbw and
// memory broadcasts on its two shuffle pipes: widening per row pass, not the multiplies,
// would bound the kernel). Per vector: vpshufb gathers (b1, b3) then (b0, b2) of each lane
// within the 128-bit halves, vpermq joins the halves, vpmovsxbw widens; vpmaddwd of the two
// widened halves is the lane's b0·b1 + b2·b3, summed into the column terms.
RTK_AVX2 void rtk_avx2_i8_pairs_stage(long kc4, const int8_t *panel, int16_t *out, int zmm) {
    const __m256i split = _mm256_setr_epi8(1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14,
                                           1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14);
    __m256i terms[4];
    for (int v = 0; v < 4; v++) terms[v] = _mm256_setzero_si256();
    for (long g = 0; g < kc4; g++)
        for (int v = 0; v < 4; v++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(panel + g * 128 + v * 32));
            // [A(lanes 0-3) B(0-3) | A(4-7) B(4-7)] -> [A(0-3) A(4-7) | B(0-3) B(4-7)]
            const __m256i ab = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(q, split), 0xD8);
            const __m256i wa = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(ab));
            const __m256i wb = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(ab, 1));
            int16_t *o = out + g * 128 + pair_offset(8 * v, zmm);
            _mm256_storeu_si256((__m256i *)o, wa);
            _mm256_storeu_si256((__m256i *)(o + wb_distance(zmm)), wb);
            terms[v] = _mm256_add_epi32(terms[v], _mm256_madd_epi16(wa, wb));
        }
    for (int v = 0; v < 4; v++) _mm256_storeu_si256((__m256i *)(out + kc4 * 128 + 16 * v), terms[v]);
}

// c (= or +=) float(sum − rowTerm − colTerm) · scale, the same two float steps as every
// other level's int8 kernels.
// fin (the last K block of a scales-only product, or NULL): then × the column scales and
// (+ the output), stored to the output instead of c; the epilogue's own steps in its order.
RTK_AVX2 static void pairs_avx2_store(long mr, long kc4, const int16_t *staged, const int32_t *sums,
                                      const int32_t *rowTerm, const float *scale, float *c, long ldc, int accumulate,
                                      const rtk_i8_final *fin) {
    const int32_t *colTerm = (const int32_t *)(const void *)(staged + kc4 * 128);
    for (long i = 0; i < mr; i++) {
        const __m256i r = _mm256_set1_epi32(rowTerm[i]);
        const __m256 sc = _mm256_set1_ps(scale[i]);
        float *ci = c + i * ldc;
        for (int v = 0; v < 4; v++) {
            const __m256i t = _mm256_loadu_si256((const __m256i *)(colTerm + 8 * v));
            const __m256i acc = _mm256_loadu_si256((const __m256i *)(sums + i * 32 + 8 * v));
            __m256 o = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_sub_epi32(acc, t), r)), sc);
            if (accumulate) o = _mm256_add_ps(o, _mm256_loadu_ps(ci + 8 * v));
            if (fin) {
                float *oi = fin->out + i * fin->ldo + 8 * v;
                o = _mm256_mul_ps(o, _mm256_loadu_ps(fin->ws + 8 * v));
                if (fin->accumulate) o = _mm256_add_ps(o, _mm256_loadu_ps(oi));
                _mm256_storeu_ps(oi, o);
            } else {
                _mm256_storeu_ps(ci + 8 * v, o);
            }
        }
    }
}

// The kernel: MR rows (MR <= 2) x the panel's 32 columns (four 8-column vectors), groups
// g0..<kc4, into the int32 sums[MR][32] (from zero if init, else added to what they hold).
// 8 accumulators, the rows' broadcasts (2 per row), one staged weight pair and two sums:
// 16 ymm. Per group: 2·MR broadcasts, 8 weight loads, and per row 8 vpaddw, 4 vpmaddwd,
// 4 vpaddd.
#define RTK_I8_PAIRS_AVX2(MR)                                                                    \
RTK_AVX2 static void pairs_avx2_##MR(long kc4, const int32_t *const *a, const int16_t *wp,      \
                                     int32_t *sums, long g0, int init) {                        \
    __m256i acc[MR][4];                                                                         \
    const int32_t *ap[MR];                                                                      \
    for (int i = 0; i < MR; i++) {                                                              \
        for (int v = 0; v < 4; v++) acc[i][v] = init ? _mm256_setzero_si256()                   \
            : _mm256_loadu_si256((const __m256i *)(sums + i * 32 + 8 * v));                    \
        ap[i] = a[i];                                                                           \
    }                                                                                           \
    for (long g = g0; g < kc4; g++) {                                                           \
        const __m256i *p = (const __m256i *)(wp + g * 128);                                     \
        __m256i xa[MR], xb[MR];                                                                 \
        for (int i = 0; i < MR; i++) {                                                          \
            xa[i] = _mm256_set1_epi32(ap[i][2 * g]);                                            \
            xb[i] = _mm256_set1_epi32(ap[i][2 * g + 1]);                                        \
        }                                                                                       \
        for (int v = 0; v < 4; v++) {                                                           \
            const __m256i wa = _mm256_loadu_si256(p + 2 * v), wb = _mm256_loadu_si256(p + 2 * v + 1); \
            for (int i = 0; i < MR; i++)                                                        \
                acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(                       \
                    _mm256_add_epi16(xa[i], wa), _mm256_add_epi16(xb[i], wb)));                  \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++)                                                                \
        for (int v = 0; v < 4; v++) _mm256_storeu_si256((__m256i *)(sums + i * 32 + 8 * v), acc[i][v]); \
}
RTK_I8_PAIRS_AVX2(1) RTK_I8_PAIRS_AVX2(2)

RTK_AVX2 void rtk_avx2_i8_pairs_kernel(long mr, long kc4, const int32_t *const *a, const int16_t *staged,
                                       const int32_t *rowTerm, const float *scale, float *c, long ldc, int accumulate,
                                       const rtk_i8_final *fin) {
    int32_t sums[RTK_I8_PAIRS_AVX2_MAX_ROWS * 32];
    if (mr > RTK_I8_PAIRS_AVX2_MAX_ROWS) mr = RTK_I8_PAIRS_AVX2_MAX_ROWS;
    // The row pairs pass over the staged panel in chunks of 48 groups (12 KB of it), so that
    // the chunk stays in L1 for every pair: a whole 768-input panel (48 KB) does not fit a
    // 32 KB L1 (Zen 4, most Intel cores) and was read from L2 once per pair. On a Zen 4 at
    // this level, 1 thread: W8A8 GEMM 141-143 -> 157-160 GOP/s (24 groups: 154-159, 96: 147-153).
    // The first pair reads each chunk from L2, the others from L1; with calls of up to 32
    // rows (16 pairs) rather than 8, that first pass is one in 16: 164-172 -> 173-177 GOP/s.
    const long chunk = 48;
    for (long g0 = 0; g0 < kc4; g0 += chunk) {
        const long g1 = g0 + chunk < kc4 ? g0 + chunk : kc4;
        for (long i = 0; i < mr; i += 2) {
            if (mr - i >= 2) pairs_avx2_2(g1, a + i, staged, sums + i * 32, g0, g0 == 0);
            else pairs_avx2_1(g1, a + i, staged, sums + i * 32, g0, g0 == 0);
        }
    }
    pairs_avx2_store(mr, kc4, staged, sums, rowTerm, scale, c, ldc, accumulate, fin);
}

RTK_AVX2 int32_t rtk_avx2_peak_i8_pairs(long iterations) {
    // The kernel's four instructions per 32 products, in 12 independent chains; both sums
    // read the chain's accumulator, so nothing is loop-invariant (with a shared operand the
    // compiler would compute that sum once for all chains). The values wrap; only the
    // instruction rate matters.
    __m256i acc[12];
    const __m256i w = _mm256_set1_epi16(3), y = _mm256_set1_epi16(-2);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_epi32(i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++)
            acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_add_epi16(acc[i], w), _mm256_add_epi16(acc[i], y)));
        __asm__ volatile("" ::: "memory");
    }
    __m256i s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_epi32(s, acc[i]);
    return rtk_hsum8_epi32(s);
}

// ---------------------------------------------------------------------------------------
// AVX-512 (BW): the same pair form on zmm, on panels staged in the zmm order. Per group and
// 16-column half: the wa and wb vectors of the 16 columns; per row, two broadcasts and per
// half vpaddw ×2, vpmaddwd, vpaddd: 32 products per instruction pair where ymm did 16. Up
// to 8 rows: 16 accumulators, 4 weight vectors, the broadcasts and two sums (≤ 26 zmm).
// The int32 sums land in the same [MR][32] layout as the AVX2 kernel's, so the store is its.
#define RTK_AVX512BW RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#define RTK_I8_PAIRS_512(MR)                                                                     \
RTK_AVX512BW static void pairs_512_##MR(long kc4, const int32_t *const *a, const int16_t *wp,   \
                                        int32_t *sums) {                                        \
    __m512i acc[MR][2];                                                                         \
    const int32_t *ap[MR];                                                                      \
    for (int i = 0; i < MR; i++) {                                                              \
        acc[i][0] = _mm512_setzero_si512(); acc[i][1] = acc[i][0];                              \
        ap[i] = a[i];                                                                           \
    }                                                                                           \
    for (long g = 0; g < kc4; g++) {                                                            \
        const int16_t *p = wp + g * 128;                                                        \
        const __m512i wa0 = _mm512_loadu_si512((const void *)p), wb0 = _mm512_loadu_si512((const void *)(p + 32)); \
        const __m512i wa1 = _mm512_loadu_si512((const void *)(p + 64)), wb1 = _mm512_loadu_si512((const void *)(p + 96)); \
        for (int i = 0; i < MR; i++) {                                                          \
            const __m512i xa = _mm512_set1_epi32(ap[i][2 * g]), xb = _mm512_set1_epi32(ap[i][2 * g + 1]); \
            acc[i][0] = _mm512_add_epi32(acc[i][0], _mm512_madd_epi16(_mm512_add_epi16(xa, wa0), _mm512_add_epi16(xb, wb0))); \
            acc[i][1] = _mm512_add_epi32(acc[i][1], _mm512_madd_epi16(_mm512_add_epi16(xa, wa1), _mm512_add_epi16(xb, wb1))); \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++) {                                                              \
        _mm512_storeu_si512((void *)(sums + i * 32), acc[i][0]);                                \
        _mm512_storeu_si512((void *)(sums + i * 32 + 16), acc[i][1]);                           \
    }                                                                                           \
}
RTK_I8_PAIRS_512(1) RTK_I8_PAIRS_512(2) RTK_I8_PAIRS_512(3) RTK_I8_PAIRS_512(4)
RTK_I8_PAIRS_512(5) RTK_I8_PAIRS_512(6) RTK_I8_PAIRS_512(7) RTK_I8_PAIRS_512(8)

typedef void (*pairs_512_fn)(long, const int32_t *const *, const int16_t *, int32_t *);
static const pairs_512_fn pairs_512_table[8] = {pairs_512_1, pairs_512_2, pairs_512_3, pairs_512_4,
                                                pairs_512_5, pairs_512_6, pairs_512_7, pairs_512_8};

RTK_AVX512BW void rtk_avx512_i8_pairs_kernel(long mr, long kc4, const int32_t *const *a, const int16_t *staged,
                                             const int32_t *rowTerm, const float *scale, float *c, long ldc,
                                             int accumulate, const rtk_i8_final *fin) {
    int32_t sums[8 * 32];
    if (mr > 8) mr = 8;
    if (mr < 1) return;
    pairs_512_table[mr - 1](kc4, a, staged, sums);
    pairs_avx2_store(mr, kc4, staged, sums, rowTerm, scale, c, ldc, accumulate, fin);
}

RTK_AVX512BW int32_t rtk_avx512_peak_i8_pairs(long iterations) {
    // The zmm kernel's four instructions per 64 products, 12 independent chains (as the ymm probe).
    __m512i acc[12];
    const __m512i w = _mm512_set1_epi16(3), y = _mm512_set1_epi16(-2);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++)
            acc[i] = _mm512_add_epi32(acc[i], _mm512_madd_epi16(_mm512_add_epi16(acc[i], w), _mm512_add_epi16(acc[i], y)));
        __asm__ volatile("" ::: "memory");
    }
    __m512i s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_epi32(s, acc[i]);
    return _mm512_reduce_add_epi32(s);
}

#else
void rtk_avx2_i8_pairs_prepare(long kc4, const int8_t *x, int32_t *out, int32_t *rowTerm) {
    (void)kc4; (void)x; (void)out; (void)rowTerm; }
void rtk_avx2_i8_pairs_stage(long kc4, const int8_t *panel, int16_t *out, int zmm) {
    (void)kc4; (void)panel; (void)out; (void)zmm; }
void rtk_avx2_i8_pairs_kernel(long mr, long kc4, const int32_t *const *a, const int16_t *staged, const int32_t *rowTerm,
                              const float *scale, float *c, long ldc, int accumulate, const rtk_i8_final *fin) {
    (void)mr; (void)kc4; (void)a; (void)staged; (void)rowTerm; (void)scale; (void)c; (void)ldc; (void)accumulate; (void)fin; }
void rtk_avx512_i8_pairs_kernel(long mr, long kc4, const int32_t *const *a, const int16_t *staged, const int32_t *rowTerm,
                                const float *scale, float *c, long ldc, int accumulate, const rtk_i8_final *fin) {
    (void)mr; (void)kc4; (void)a; (void)staged; (void)rowTerm; (void)scale; (void)c; (void)ldc; (void)accumulate; (void)fin; }
int32_t rtk_avx2_peak_i8_pairs(long iterations) { (void)iterations; return 0; }
int32_t rtk_avx512_peak_i8_pairs(long iterations) { (void)iterations; return 0; }
#endif
