// The W4A8 panel form on int4 strips (q4_strips.c) with ymm registers: `avxvnni` (vpdpbusd
// ymm, VEX, with its EVEX twin for testing on AVX-512 VNNI machines) and `avx2` (vpmaddubsw,
// vpmaddwd). Same integers and float steps as rtk_q4x16_kernel_c, so the same bits.
#include "ckernels.h"
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"

#define Q4S_AVX2 __attribute__((target("avx2,fma,f16c")))
#define Q4S_VEX RTK_X86_TARGET("avx2,fma,f16c,avxvnni")
#define Q4S_EVEX RTK_X86_TARGET("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")

enum { GROUP_BYTES = 288 };

// One pass: R rows (1...4) x 8 columns, half h of the 16-column strip s, groups 0...ng-1.
// Per group and row, S = sum over the four quads of low nibbles x elements 4t..4t+3 and high
// nibbles x elements 16+4t..16+4t+3, minus corr; acc = fma(float(S), d, acc).
// DOT_INIT starts a row's sum, DOT adds one quad, DOT_END turns it into int32 with -corr.
#define Q4S_HALF(NAME, TARGET, DOT_INIT, DOT, DOT_END)                                            \
TARGET static inline __attribute__((always_inline)) void                                        \
NAME(const int R, long ng, const int8_t *const *a, const int32_t *const *corr,                  \
     const uint8_t *s, int h, float *c, long ldc, int accumulate) {                             \
    const __m256i low4 = _mm256_set1_epi8(0x0f);                                                \
    const __m256i ones = _mm256_set1_epi16(1);                                                  \
    (void)ones;                                                                                 \
    __m256 f[4];                                                                                \
    for (int r = 0; r < R; r++) f[r] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps(); \
    for (long g = 0; g < ng; g++) {                                                             \
        const uint8_t *bg = s + g * GROUP_BYTES;                                                \
        __m256i acc[4];                                                                         \
        _Pragma("clang loop unroll(full)")                                                      \
        for (int r = 0; r < R; r++) acc[r] = DOT_INIT(corr[r][g]);                              \
        _Pragma("clang loop unroll(full)")                                                      \
        for (int t = 0; t < 4; t++) {                                                           \
            const __m256i q = _mm256_loadu_si256((const __m256i *)(bg + 32 + 64 * t + 32 * h)); \
            const __m256i lo = _mm256_and_si256(q, low4);                                       \
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);                 \
            _Pragma("clang loop unroll(full)")                                                  \
            for (int r = 0; r < R; r++) {                                                       \
                int32_t ql, qh;                                                                 \
                memcpy(&ql, a[r] + g * 32 + 4 * t, 4);                                          \
                memcpy(&qh, a[r] + g * 32 + 16 + 4 * t, 4);                                     \
                acc[r] = DOT(acc[r], lo, _mm256_set1_epi32(ql), hi, _mm256_set1_epi32(qh));     \
            }                                                                                   \
        }                                                                                       \
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(bg + 16 * h)));      \
        _Pragma("clang loop unroll(full)")                                                      \
        for (int r = 0; r < R; r++)                                                             \
            f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(DOT_END(acc[r], corr[r][g])), d, f[r]);   \
    }                                                                                           \
    for (int r = 0; r < R; r++) _mm256_storeu_ps(c + r * ldc, f[r]);                            \
}

// vpdpbusd: the int32 sum starts at -corr.
#define VNNI_INIT(k) _mm256_set1_epi32(-(k))
#define VNNI_END(x, k) (x)
#define VEX_DOT(x, lo, bl, hi, bh) _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(x, lo, bl), hi, bh)
#define EVEX_DOT(x, lo, bl, hi, bh) _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(x, lo, bl), hi, bh)
// vpmaddubsw: nibble x activation pairs (|.| <= 2*15*128 = 3840) summed in int16 over the
// group's eight quads (<= 30 720 < 32 767: exact), widened once with vpmaddwd by ones.
#define AVX2_INIT(k) _mm256_setzero_si256()
#define AVX2_DOT(x, lo, bl, hi, bh) \
    _mm256_add_epi16(x, _mm256_add_epi16(_mm256_maddubs_epi16(lo, bl), _mm256_maddubs_epi16(hi, bh)))
#define AVX2_END(x, k) _mm256_sub_epi32(_mm256_madd_epi16(x, ones), _mm256_set1_epi32(k))

Q4S_HALF(q4s_half_vex, Q4S_VEX, VNNI_INIT, VEX_DOT, VNNI_END)
Q4S_HALF(q4s_half_evex, Q4S_EVEX, VNNI_INIT, EVEX_DOT, VNNI_END)
Q4S_HALF(q4s_half_avx2, Q4S_AVX2, AVX2_INIT, AVX2_DOT, AVX2_END)

// 32 columns: the four 8-column halves of strips sa and sb, rows in steps of 4.
#define Q4S_DRIVER(NAME, TARGET, HALF)                                                           \
TARGET static void NAME(long rows, long ng, const int8_t *const *a, const int32_t *const *corr, \
                        const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) { \
    for (long i = 0; i < rows; i += 4) {                                                        \
        const long r = rows - i >= 4 ? 4 : rows - i;                                            \
        for (int q = 0; q < 4; q++) {                                                           \
            const uint8_t *s = q < 2 ? sa : sb;                                                 \
            float *cq = c + i * ldc + 8 * q;                                                    \
            switch (r) {                                                                        \
            case 4: HALF(4, ng, a + i, corr + i, s, q & 1, cq, ldc, accumulate); break;         \
            case 3: HALF(3, ng, a + i, corr + i, s, q & 1, cq, ldc, accumulate); break;         \
            case 2: HALF(2, ng, a + i, corr + i, s, q & 1, cq, ldc, accumulate); break;         \
            default: HALF(1, ng, a + i, corr + i, s, q & 1, cq, ldc, accumulate); break;        \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
}
Q4S_DRIVER(q4s_vex, Q4S_VEX, q4s_half_vex)
Q4S_DRIVER(q4s_evex, Q4S_EVEX, q4s_half_evex)
Q4S_DRIVER(q4s_avx2, Q4S_AVX2, q4s_half_avx2)

void rtk_q4x16_kernel_avxvnni(int evex, long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                              const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    if (evex) q4s_evex(rows, ng, a, corr, sa, sb, c, ldc, accumulate);
    else q4s_vex(rows, ng, a, corr, sa, sb, c, ldc, accumulate);
}

void rtk_q4x16_kernel_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                           const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    q4s_avx2(rows, ng, a, corr, sa, sb, c, ldc, accumulate);
}

#else  // not x86-64: the portable form (never selected: no level here uses these)
void rtk_q4x16_kernel_avxvnni(int evex, long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                              const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    (void)evex;
    rtk_q4x16_kernel_c(rows, ng, a, corr, sa, sb, c, ldc, accumulate);
}
void rtk_q4x16_kernel_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                           const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    rtk_q4x16_kernel_c(rows, ng, a, corr, sa, sb, c, ldc, accumulate);
}
#endif
