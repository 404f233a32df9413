// Row form of the int4 (GGML Q4_0) W4A8 product on the ymm levels: few activation rows
// (the generator's 3 or 6) against the Q4_0 rows read once, straight from the blocks, no
// panel. Two kernels with the same structure and the same integers: `avxvnni` (vpdpbusd ymm,
// VEX-encoded, with an EVEX-encoded twin for testing on AVX-512 VNNI machines, as in avx2.c)
// and `avx2` (vpmaddubsw + vpmaddwd). Both are bit-identical to rtk_q4_rows_c (q4.c): the group
// sums S_g are exact int32 and acc = fma(float(S_g), d_g, acc) runs in increasing g from 0.
#include "ckernels.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"

// F16C converts the fp16 scales (every AVX2 CPU has it; cpu.c requires it for RTK_CPU_AVX2).
#define RTK_Q4R_AVX2 __attribute__((target("avx2,fma,f16c")))
#define RTK_Q4R_VEX RTK_X86_TARGET("avx2,fma,f16c,avxvnni")
#define RTK_Q4R_EVEX RTK_X86_TARGET("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")

/// Nibble bytes of the dead columns of a tail strip (read instead of memory past the matrix).
static const uint8_t q4_zero_block[16] = {0};

/// h with its 16-bit element j (a constant after unrolling) set to x.
RTK_Q4R_AVX2 static inline __attribute__((always_inline)) __m128i q4r_insert16(__m128i h, uint16_t x, int j) {
    switch (j) {
    case 0: return _mm_insert_epi16(h, x, 0);
    case 1: return _mm_insert_epi16(h, x, 1);
    case 2: return _mm_insert_epi16(h, x, 2);
    case 3: return _mm_insert_epi16(h, x, 3);
    case 4: return _mm_insert_epi16(h, x, 4);
    case 5: return _mm_insert_epi16(h, x, 5);
    case 6: return _mm_insert_epi16(h, x, 6);
    default: return _mm_insert_epi16(h, x, 7);
    }
}

// One group of 8 columns: column j's 16 nibble bytes (at bg + j * row_bytes + 2) are one
// 128-bit load; columns q and 4 + q share a ymm (low and high lane), and a 4x4 transpose of
// dwords inside each lane leaves dword t of columns 0...7, in order, in wv[t]. Dword t holds
// the group's elements 4t...4t+3 in its low nibbles and 16+4t...16+4t+3 in its high ones, so
// wv[t] = low nibbles and wv[4 + t] = high nibbles, as unsigned bytes 0...15, line up with the
// activation dwords t and 4 + t. The fp16 scales are read from the lines the loads just
// brought in. In a tail strip (`full` 0, a constant in every caller) columns at or past `live`
// read nothing of the matrix: their nibbles come from q4_zero_block and their scale is 0.
// Returns the scales.
RTK_Q4R_AVX2 static inline __attribute__((always_inline)) __m256
q4_group8(const int full, const uint8_t *bg, long row_bytes, long live, __m256i wv[8]) {
    __m256i z[4];
    for (int q = 0; q < 4; q++) {
        const uint8_t *lo = bg + q * row_bytes + 2, *hi = bg + (4 + q) * row_bytes + 2;
        if (!full) {
            lo = q < live ? lo : q4_zero_block;
            hi = 4 + q < live ? hi : q4_zero_block;
        }
        z[q] = _mm256_loadu2_m128i((const __m128i *)hi, (const __m128i *)lo);
    }
    const __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
    const __m256i qd[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                           _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (int t = 0; t < 4; t++) {
        wv[t] = _mm256_and_si256(qd[t], low4);
        wv[4 + t] = _mm256_and_si256(_mm256_srli_epi16(qd[t], 4), low4);
    }
    // the 8 fp16 scales, one vpinsrw each (measured ~10 % faster overall than a vpgatherdd
    // and its repacking on Zen 5)
    __m128i h = _mm_setzero_si128();
    for (int j = 0; j < 8; j++) {
        if (full || j < live) {
            uint16_t x;
            memcpy(&x, bg + j * row_bytes, 2);
            h = q4r_insert16(h, x, j);
        }
    }
    return _mm256_cvtph_ps(h);
}

/// Activation dword t of row r's group (elements 4t...4t+3), broadcast.
#define Q4R_ACT(ag, t) _mm256_set1_epi32(q4r_load32((ag) + 4 * (t)))
static inline int32_t q4r_load32(const int8_t *p) { int32_t x; memcpy(&x, p, 4); return x; }

// The strip loop shared by the kernels: R rows (1...8) x 8 columns (`full` 1: all 8 live,
// else the first `live`; both constants after inlining), all ng groups, float
// accumulators in registers; DOT(s, wv, ag, r) sets the int32 lanes s to the exact group sum
// of row r (before the correction). The strip's 8 rows are one contiguous run of 8 * row_bytes
// bytes, consumed at 144 bytes per group: the next strip's run is streamed into L1 and the
// run four strips ahead into L2 at that pace (a prefetch past the matrix never faults).
#define Q4R_STRIP(NAME, ATTR, DOT)                                                                 \
ATTR static inline __attribute__((always_inline)) void                                            \
NAME(const int R, const int full, long ng, const int8_t *const *a, const int32_t *const *corr, const uint8_t *w,  \
     long row_bytes, long live, float *c, long ldc) {                                             \
    __m256 f[8];                                                                                  \
    for (int r = 0; r < R; r++) f[r] = _mm256_setzero_ps();                                       \
    for (long g = 0; g < ng; g++) {                                                               \
        for (int z = 0; z < 3; z++) {                                                             \
            rtk_prefetch(w + 8 * row_bytes + g * 144 + z * 64);                                   \
            rtk_prefetch_l2(w + 32 * row_bytes + g * 144 + z * 64);                               \
        }                                                                                         \
        __m256i wv[8];                                                                            \
        const __m256 d = q4_group8(full, w + g * 18, row_bytes, live, wv);                  \
        for (int r = 0; r < R; r++) {                                                             \
            const int8_t *ag = a[r] + g * 32;                                                     \
            __m256i s;                                                                            \
            DOT(s, wv, ag);                                                                       \
            s = _mm256_sub_epi32(s, _mm256_set1_epi32(corr[r][g]));                               \
            f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), d, f[r]);                               \
        }                                                                                         \
    }                                                                                             \
    for (int r = 0; r < R; r++) _mm256_storeu_ps(c + r * ldc, f[r]);                              \
}

// vpdpbusd: unsigned nibbles x signed activations, four products per int32 lane, no
// saturation; two chains (low and high nibbles) so one row's 8 steps are not one long
// dependency, added at the end (exact).
#define Q4R_DOT_DP(DP, s, wv, ag)                                                                 \
    do {                                                                                          \
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();                         \
        for (int t = 0; t < 4; t++) {                                                             \
            s0 = DP(s0, wv[t], Q4R_ACT(ag, t));                                                   \
            s1 = DP(s1, wv[4 + t], Q4R_ACT(ag, 4 + t));                                           \
        }                                                                                         \
        s = _mm256_add_epi32(s0, s1);                                                             \
    } while (0)
#define Q4R_DOT_VEX(s, wv, ag) Q4R_DOT_DP(_mm256_dpbusd_avx_epi32, s, wv, ag)
#define Q4R_DOT_EVEX(s, wv, ag) Q4R_DOT_DP(_mm256_dpbusd_epi32, s, wv, ag)

// vpmaddubsw: unsigned nibble x signed activation pairs, each at most 2 * 15 * 128 = 3840 in
// magnitude; the eight products of a group are added in int16 (at most 16 * 15 * 128 = 30720,
// never past 32767, so exact), and one vpmaddwd by ones widens the pairs into int32 lanes.
#define Q4R_DOT_AVX2(s, wv, ag)                                                                   \
    do {                                                                                          \
        __m256i p[8];                                                                             \
        for (int t = 0; t < 8; t++) p[t] = _mm256_maddubs_epi16(wv[t], Q4R_ACT(ag, t));           \
        const __m256i p01 = _mm256_add_epi16(p[0], p[1]), p23 = _mm256_add_epi16(p[2], p[3]);     \
        const __m256i p45 = _mm256_add_epi16(p[4], p[5]), p67 = _mm256_add_epi16(p[6], p[7]);     \
        const __m256i sum = _mm256_add_epi16(_mm256_add_epi16(p01, p23), _mm256_add_epi16(p45, p67)); \
        s = _mm256_madd_epi16(sum, _mm256_set1_epi16(1));                                         \
    } while (0)

Q4R_STRIP(q4r_strip_vex, RTK_Q4R_VEX, Q4R_DOT_VEX)
Q4R_STRIP(q4r_strip_evex, RTK_Q4R_EVEX, Q4R_DOT_EVEX)
Q4R_STRIP(q4r_strip_avx2, RTK_Q4R_AVX2, Q4R_DOT_AVX2)

// One strip for the row count `rows` (each case a constant R).
#define Q4R_ROWS_SWITCH(STRIP, FULL)                                                              \
    do {                                                                                          \
        switch (rows) {                                                                           \
        case 8: STRIP(8, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        case 7: STRIP(7, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        case 6: STRIP(6, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        case 5: STRIP(5, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        case 4: STRIP(4, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        case 3: STRIP(3, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        case 2: STRIP(2, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                 \
        default: STRIP(1, FULL, ng, a, corr, wj, row_bytes, live, cj, ldc); break;                \
        }                                                                                         \
    } while (0)

// The driver: 8-column strips up to ceil(nc/16)*16 (the contract of rtk_q4_rows_c); strips
// wholly past nc are written as 0 without reading anything; the last live strip may be a tail.
#define Q4R_DRIVER(NAME, ATTR, STRIP)                                                             \
ATTR static void NAME(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,     \
                      const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {            \
    const long width = (nc + 15) / 16 * 16;                                                       \
    for (long j0 = 0; j0 < width; j0 += 8) {                                                      \
        const long live = nc - j0 > 8 ? 8 : nc - j0;                                              \
        float *cj = c + j0;                                                                       \
        if (live <= 0) {                                                                          \
            for (long r = 0; r < rows; r++) _mm256_storeu_ps(cj + r * ldc, _mm256_setzero_ps());  \
            continue;                                                                             \
        }                                                                                         \
        const uint8_t *wj = w + j0 * row_bytes;                                                   \
        if (live == 8) Q4R_ROWS_SWITCH(STRIP, 1);                                                 \
        else Q4R_ROWS_SWITCH(STRIP, 0);                                                           \
    }                                                                                             \
}

Q4R_DRIVER(q4r_rows_vex, RTK_Q4R_VEX, q4r_strip_vex)
Q4R_DRIVER(q4r_rows_evex, RTK_Q4R_EVEX, q4r_strip_evex)
Q4R_DRIVER(q4r_rows_avx2, RTK_Q4R_AVX2, q4r_strip_avx2)

void rtk_q4_rows_avxvnni(int evex, long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                         const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    if (evex) q4r_rows_evex(rows, ng, a, corr, w, row_bytes, nc, c, ldc);
    else q4r_rows_vex(rows, ng, a, corr, w, row_bytes, nc, c, ldc);
}

void rtk_q4_rows_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    q4r_rows_avx2(rows, ng, a, corr, w, row_bytes, nc, c, ldc);
}

#else  // not x86-64: the portable row form (never selected: no level here uses these)

void rtk_q4_rows_avxvnni(int evex, long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                         const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    (void)evex;
    rtk_q4_rows_c(rows, ng, a, corr, w, row_bytes, nc, c, ldc);
}
void rtk_q4_rows_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    rtk_q4_rows_c(rows, ng, a, corr, w, row_bytes, nc, c, ldc);
}
#endif
