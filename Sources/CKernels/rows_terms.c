// Few-row int8 products with the weight rows' terms computed once (level avx2; see
// include/ckernels.h).
//
// The avx2 dot form (avx2.c) multiplies |w| by x XOR m, m the sign mask of w, and adds back
// the weight row's term T = Σ_{w<0} |w|, which it sums beside the products: vpand and vpsadbw
// per 32 weights, on the integer-multiply pipes that the rows' vpmaddubsw and vpmaddwd need.
// A component that runs the same products many times (the generator: 50 steps per image)
// computes each row's T once instead (`I8RowTerms`), and this kernel adds it at the end. The
// sums are the same integers, bit for bit.
#include "ckernels.h"
#include <string.h>

void rtk_i8_negative_terms(long n, long k, const int8_t *w, long ldw, int32_t *terms) {
    for (long j = 0; j < n; j++) {
        const int8_t *wr = w + j * ldw;
        int32_t t = 0;
        for (long p = 0; p < k; p++) t += wr[p] < 0 ? -(int32_t)wr[p] : 0;   // vectorizes
        terms[j] = t;
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define RTK_AVX2 __attribute__((target("avx2,fma")))
#include "x86_hsum.h"


// One 32-weight step: v the weights, rows i < MR of a at position p (|w| and m shared).
#define RTK_T_STEP(MR, V)                                                                        \
    {                                                                                           \
        const __m256i v_ = (V);                                                                 \
        const __m256i mag = _mm256_abs_epi8(v_), m = _mm256_cmpgt_epi8(zero, v_);               \
        for (int i = 0; i < MR; i++)                                                            \
            acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(mag,       \
                _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + i * lda + p)), m)), ones)); \
    }
#define RTK_T_ROWS_AVX2(MR)                                                                      \
RTK_AVX2 static void t_rows_avx2_##MR(long nc, long k, const int8_t *a, long lda, const int8_t *w, \
                                      long ldw, const int32_t *terms, int32_t *out, long ldo) { \
    const long k32 = k & ~31L;                                                                  \
    const __m256i zero = _mm256_setzero_si256(), ones = _mm256_set1_epi16(1);                   \
    for (long j = 0; j < nc; j++) {                                                             \
        const int8_t *wr = w + j * ldw;                                                         \
        __m256i acc[MR];                                                                        \
        for (int i = 0; i < MR; i++) acc[i] = _mm256_setzero_si256();                           \
        long p = 0;                                                                             \
        for (; p < k32; p += 32) {                                                              \
            _mm_prefetch((const char *)wr + p + 1024, _MM_HINT_T0);                             \
            _mm_prefetch((const char *)wr + p + 16384, _MM_HINT_T1);                            \
            RTK_T_STEP(MR, _mm256_loadu_si256((const __m256i *)(wr + p)))                       \
        }                                                                                       \
        if (p < k) {               /* the k % 32 tail, zero-padded: |w| = 0 there */            \
            int8_t tail[32] = {0};                                                              \
            memcpy(tail, wr + p, (size_t)(k - p));                                              \
            RTK_T_STEP(MR, _mm256_loadu_si256((const __m256i *)tail))                           \
        }                                                                                       \
        for (int i = 0; i < MR; i++) out[i * ldo + j] = rtk_hsum8_epi32(acc[i]) + terms[j];     \
    }                                                                                           \
}
RTK_T_ROWS_AVX2(1) RTK_T_ROWS_AVX2(2) RTK_T_ROWS_AVX2(3)
RTK_T_ROWS_AVX2(4) RTK_T_ROWS_AVX2(5) RTK_T_ROWS_AVX2(6)

typedef void (*t_rows_fn)(long, long, const int8_t *, long, const int8_t *, long, const int32_t *, int32_t *, long);
static const t_rows_fn t_rows_avx2_table[6] = {t_rows_avx2_1, t_rows_avx2_2, t_rows_avx2_3,
                                               t_rows_avx2_4, t_rows_avx2_5, t_rows_avx2_6};

void rtk_avx2_i8_rows_t(long mr, long nc, long k, const int8_t *a, long lda, const int8_t *w, long ldw,
                        const int32_t *terms, int32_t *out, long ldo) {
    if (mr >= 1 && mr <= 6) t_rows_avx2_table[mr - 1](nc, k, a, lda, w, ldw, terms, out, ldo);
}

#else
void rtk_avx2_i8_rows_t(long mr, long nc, long k, const int8_t *a, long lda, const int8_t *w, long ldw,
                        const int32_t *terms, int32_t *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)terms; (void)out; (void)ldo; }
#endif
