// AVX-512 and AVX-512 VNNI kernels (levels `avx512` and `avx512vnni`); see include/ckernels.h.
// Every function carries its own target attribute, so this file builds for any -target-cpu;
// callers check rtk_cpu_features() first.
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"

#define RTK_AVX512 RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq")
#define RTK_VNNI RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")

#include "x86_transpose.h"
#define RTK_AVX2 RTK_X86_TARGET("avx2,fma")
#include "x86_hsum.h"

static inline __mmask16 mask16(long n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }
static inline __mmask64 mask64(long n) { return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1); }

// out block: 16 columns (jj0 .. jj0+15 of a 32-wide panel) x 16 k values starting at p0.
RTK_AVX512 void rtk_pack_f32_from_i8(const int8_t *w, long ldw, long nc, long kc, float *out) {
    long panels = (nc + 31) / 32;
    for (long jp = 0; jp < panels; jp++) {
        float *po = out + jp * kc * 32;
        for (long half = 0; half < 2; half++) {
            long j0 = jp * 32 + half * 16;
            for (long p0 = 0; p0 < kc; p0 += 16) {
                __mmask16 km = mask16(kc - p0);
                __m512i r[16];
                for (int jj = 0; jj < 16; jj++) {
                    long j = j0 + jj;
                    if (j < nc) {
                        __m128i b = _mm_maskz_loadu_epi8(km, w + j * ldw + p0);
                        r[jj] = _mm512_castps_si512(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)));
                    } else {
                        r[jj] = _mm512_setzero_si512();
                    }
                }
                transpose16(r);
                long np = kc - p0 < 16 ? kc - p0 : 16;
                for (long e = 0; e < np; e++)
                    _mm512_storeu_si512((void *)(po + (p0 + e) * 32 + half * 16), r[e]);
            }
        }
    }
}

RTK_AVX512 void rtk_pack_f32_from_f32(const float *w, long ldw, long nc, long kc, float *out) {
    long panels = (nc + 31) / 32;
    for (long jp = 0; jp < panels; jp++) {
        float *po = out + jp * kc * 32;
        for (long half = 0; half < 2; half++) {
            long j0 = jp * 32 + half * 16;
            for (long p0 = 0; p0 < kc; p0 += 16) {
                __mmask16 km = mask16(kc - p0);
                __m512i r[16];
                for (int jj = 0; jj < 16; jj++) {
                    long j = j0 + jj;
                    r[jj] = j < nc ? _mm512_castps_si512(_mm512_maskz_loadu_ps(km, w + j * ldw + p0))
                                   : _mm512_setzero_si512();
                }
                transpose16(r);
                long np = kc - p0 < 16 ? kc - p0 : 16;
                for (long e = 0; e < np; e++)
                    _mm512_storeu_si512((void *)(po + (p0 + e) * 32 + half * 16), r[e]);
            }
        }
    }
}

RTK_AVX512 void rtk_pack_vnni(const int8_t *w, long ldw, long nc, long kc, uint8_t *out) {
    long panels = (nc + 31) / 32;
    long kc4 = (kc + 3) / 4;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    for (long jp = 0; jp < panels; jp++) {
        uint8_t *po = out + jp * kc4 * 128;
        for (long half = 0; half < 2; half++) {
            long j0 = jp * 32 + half * 16;
            for (long g0 = 0; g0 < kc4; g0 += 16) {          // 16 groups of 4 bytes = 64 k
                __mmask64 km = mask64(kc - g0 * 4);
                __m512i r[16];
                for (int jj = 0; jj < 16; jj++) {
                    long j = j0 + jj;
                    __m512i v = j < nc ? _mm512_maskz_loadu_epi8(km, w + j * ldw + g0 * 4)
                                       : _mm512_setzero_si512();
                    r[jj] = _mm512_xor_si512(v, flip);
                }
                transpose16(r);
                long ng = kc4 - g0 < 16 ? kc4 - g0 : 16;
                for (long e = 0; e < ng; e++)
                    _mm512_storeu_si512((void *)(po + (g0 + e) * 128 + half * 64), r[e]);
            }
        }
    }
}

// MR x 32 VNNI microkernel; MR is a compile-time constant in each instantiation.
#define RTK_VNNI_KERNEL(MR)                                                                      \
RTK_VNNI static void vnni_kernel_##MR(long kc4, const int8_t *const *a, const uint8_t *wp,      \
                                      const int32_t *corr, const float *scale, float *c,        \
                                      long ldc, int accumulate, const rtk_i8_final *fin) {    \
    __m512i acc0[MR], acc1[MR];                                                                 \
    const int8_t *ap[MR];                                                                       \
    for (int i = 0; i < MR; i++) { acc0[i] = _mm512_setzero_si512(); acc1[i] = acc0[i]; ap[i] = a[i]; } \
    for (long g = 0; g < kc4; g++) {                                                            \
        __m512i w0 = _mm512_loadu_si512((const void *)(wp + g * 128));                          \
        __m512i w1 = _mm512_loadu_si512((const void *)(wp + g * 128 + 64));                     \
        for (int i = 0; i < MR; i++) {                                                          \
            __m512i b = _mm512_set1_epi32(*(const int32_t *)(ap[i] + g * 4));                   \
            acc0[i] = _mm512_dpbusd_epi32(acc0[i], w0, b);                                      \
            acc1[i] = _mm512_dpbusd_epi32(acc1[i], w1, b);                                      \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++) {                                                              \
        __m512i cr = _mm512_set1_epi32(corr[i]);                                                \
        __m512 s = _mm512_set1_ps(scale[i]);                                                    \
        __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc0[i], cr)), s);        \
        __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc1[i], cr)), s);        \
        float *ci = c + i * ldc;                                                                \
        if (accumulate) {                                                                       \
            v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));                                        \
            v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));                                   \
        }                                                                                       \
        if (fin) {                                                                              \
            /* the epilogue's own two steps: × the column scales, then + the output */          \
            v0 = _mm512_mul_ps(v0, _mm512_loadu_ps(fin->ws));                                   \
            v1 = _mm512_mul_ps(v1, _mm512_loadu_ps(fin->ws + 16));                              \
            ci = fin->out + i * fin->ldo;                                                       \
            if (fin->accumulate) {                                                              \
                v0 = _mm512_add_ps(v0, _mm512_loadu_ps(ci));                                    \
                v1 = _mm512_add_ps(v1, _mm512_loadu_ps(ci + 16));                               \
            }                                                                                   \
        }                                                                                       \
        _mm512_storeu_ps(ci, v0);                                                               \
        _mm512_storeu_ps(ci + 16, v1);                                                          \
    }                                                                                           \
}
RTK_VNNI_KERNEL(1)
RTK_VNNI_KERNEL(2)
RTK_VNNI_KERNEL(3)
RTK_VNNI_KERNEL(4)
RTK_VNNI_KERNEL(5)
RTK_VNNI_KERNEL(6)
RTK_VNNI_KERNEL(7)
RTK_VNNI_KERNEL(8)

RTK_VNNI void rtk_vnni_kernel(long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                              const int32_t *corr, const float *scale, float *c, long ldc, int accumulate,
                              const rtk_i8_final *fin) {
    switch (mr) {
    case 1: vnni_kernel_1(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 2: vnni_kernel_2(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 3: vnni_kernel_3(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 4: vnni_kernel_4(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 5: vnni_kernel_5(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 6: vnni_kernel_6(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 7: vnni_kernel_7(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    case 8: vnni_kernel_8(kc4, a, wpanel, corr, scale, c, ldc, accumulate, fin); break;
    default: break;
    }
}

RTK_AVX512 static inline int32_t hsum_epi32(__m512i v) { return _mm512_reduce_add_epi32(v); }

// Sums of the 16 lanes of four vectors, as four Int32 values.
RTK_AVX512 static inline __m128i hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d) {
    __m256i a1 = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
    __m256i b1 = _mm256_add_epi32(_mm512_castsi512_si256(b), _mm512_extracti64x4_epi64(b, 1));
    __m256i c1 = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
    __m256i d1 = _mm256_add_epi32(_mm512_castsi512_si256(d), _mm512_extracti64x4_epi64(d, 1));
    __m256i ab = _mm256_hadd_epi32(a1, b1), cd = _mm256_hadd_epi32(c1, d1);
    __m256i abcd = _mm256_hadd_epi32(ab, cd);     // per 128-bit half: a b c d partial sums
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// The sign trick's dot form on zmm (AVX-512 BW has no vpsignb): |w| unsigned, x negated where
// w < 0 (a masked subtraction from 0 on w's sign bits); |w|·(±x) pairs stay within int16
// (≤ 2·128·127). MR activation rows against the weight rows one after the other: since the
// rows are contiguous, each thread reads its weights as one sequential stream (what the
// hardware prefetcher handles best; two or four interleaved short rows ran at half the
// bandwidth), with software prefetches 1 KB ahead into L1 and 16 KB ahead into L2. Four
// consecutive rows keep their own accumulators so the horizontal sums are done four at a
// time. The k tail uses a masked load.
#define RTK_PF_BYTES 1024          // into L1
#define RTK_PF_L2_BYTES 16384      // into L2: measured best of 4-32 KB (≈ +20 % at 2 threads)
#define RTK_STEP_SIGN512(acc, v, x) _mm512_add_epi32((acc), _mm512_madd_epi16(_mm512_maddubs_epi16(       \
    _mm512_abs_epi8(v), _mm512_mask_sub_epi8((x), _mm512_movepi8_mask(v), _mm512_setzero_si512(), (x))), \
    _mm512_set1_epi16(1)))
#define RTK_ROW_PASS_G(q, wq)                                                                   \
    {                                                                                           \
        long p = 0;                                                                             \
        for (; p < k64; p += 64) {                                                              \
            _mm_prefetch((const char *)(wq) + p + RTK_PF_BYTES, _MM_HINT_T0);                   \
            _mm_prefetch((const char *)(wq) + p + RTK_PF_L2_BYTES, _MM_HINT_T1);                \
            __m512i v = _mm512_loadu_si512((const void *)((wq) + p));                           \
            for (int i = 0; i < rows; i++)                                                      \
                acc[i][q] = RTK_STEP_SIGN512(acc[i][q], v, _mm512_loadu_si512((const void *)(ar[i] + p))); \
        }                                                                                       \
        if (p < k) {                                                                            \
            __m512i v = _mm512_maskz_loadu_epi8(km, (wq) + p);                                  \
            for (int i = 0; i < rows; i++)                                                      \
                acc[i][q] = RTK_STEP_SIGN512(acc[i][q], v, _mm512_loadu_si512((const void *)(ar[i] + p))); \
        }                                                                                       \
    }
#define RTK_SIGN512_ROWS(MR)                                                                     \
RTK_AVX512 static void sign512_rows_##MR(long nc, long k, const int8_t *a, long lda, const int8_t *w, \
                                         long ldw, int32_t *out, long ldo) {                    \
    const long k64 = k & ~63L;                                                                  \
    const __mmask64 km = mask64(k - k64);                                                       \
    enum { rows = MR };            /* what RTK_ROW_PASS_G loops to */                           \
    const int8_t *ar[MR];                                                                       \
    for (int i = 0; i < MR; i++) ar[i] = a + i * lda;                                           \
    long j = 0;                                                                                 \
    for (; j + 4 <= nc; j += 4) {                                                               \
        __m512i acc[MR][4];                                                                     \
        for (int i = 0; i < MR; i++)                                                            \
            for (int q = 0; q < 4; q++) acc[i][q] = _mm512_setzero_si512();                     \
        const int8_t *w0 = w + j * ldw;                                                         \
        RTK_ROW_PASS_G(0, w0)                                                                   \
        RTK_ROW_PASS_G(1, w0 + ldw)                                                             \
        RTK_ROW_PASS_G(2, w0 + 2 * ldw)                                                         \
        RTK_ROW_PASS_G(3, w0 + 3 * ldw)                                                         \
        for (int i = 0; i < MR; i++)                                                            \
            _mm_storeu_si128((__m128i *)(out + i * ldo + j),                                    \
                             hsum4_epi32(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));          \
    }                                                                                           \
    for (; j < nc; j++) {                                                                       \
        __m512i acc[MR][1];                                                                     \
        for (int i = 0; i < MR; i++) acc[i][0] = _mm512_setzero_si512();                        \
        RTK_ROW_PASS_G(0, w + j * ldw)                                                          \
        for (int i = 0; i < MR; i++) out[i * ldo + j] = hsum_epi32(acc[i][0]);                  \
    }                                                                                           \
}
RTK_SIGN512_ROWS(1) RTK_SIGN512_ROWS(2) RTK_SIGN512_ROWS(3)
RTK_SIGN512_ROWS(4) RTK_SIGN512_ROWS(5) RTK_SIGN512_ROWS(6)

typedef void (*zmm_rows_fn)(long, long, const int8_t *, long, const int8_t *, long, int32_t *, long);
static const zmm_rows_fn sign512_rows_table[6] = {sign512_rows_1, sign512_rows_2, sign512_rows_3,
                                                  sign512_rows_4, sign512_rows_5, sign512_rows_6};

void rtk_avx512_i8_rows(long mr, long nc, long k, const int8_t *a, long lda,
                        const int8_t *w, long ldw, int32_t *out, long ldo) {
    if (mr >= 1 && mr <= 6) sign512_rows_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}

// Float dot form for few rows on zmm (W8A32 and float weights: the generator's 6-row
// products). The arithmetic is the generic level's (RowKernels.swift) and avx2.c's: per
// output, 16 lane-wise FMA chains over 16-value chunks, the fixed tree sum (8 + 8, 4 + 4,
// 2 + 2, 1 + 1), then the k % 16 tail as scalar FMAs in order, so the bits are the same on
// every level. Four weight rows per pass (24 zmm sums for 6 rows, 29 of the 32 registers),
// so each activation load feeds four FMAs: the activation rows (36 KB at k = 1 536, 144 KB
// at 6 144) come from L2 once per four weight rows. Zen 4, 6 rows, one thread: 82-86 GFLOP/s
// with two rows per pass (the Swift loop's), 101-102 with four, of a 117 GFLOP/s probe.
// Passing k in L1-sized chunks, as avx2.c does, lost on the Zen 4 (docs/kernels.md).
#define RTK_ZW_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p))))
#define RTK_ZW_F32(p) _mm512_loadu_ps(p)
RTK_AVX512 static inline float tree16z(__m512 v) {
    const __m512i b = _mm512_castps_si512(v);
    return rtk_tree16_ps(_mm256_castsi256_ps(_mm512_castsi512_si256(b)),
                         _mm256_castsi256_ps(_mm512_extracti64x4_epi64(b, 1)));
}
// Outputs j ... j + NW - 1 of the MR rows: the lane sums of weight rows j + q over all of k,
// then the tree sum plus the tail. Prefetches run 1 KB (L1) and 16 KB (L2) ahead along each
// weight row.
#define RTK_ZROWS_PASS(T, LOAD, MR, NW, j)                                                       \
    {                                                                                           \
        const T *wr[NW];                                                                        \
        __m512 acc[NW][MR];                                                                     \
        for (int q = 0; q < (NW); q++) {                                                        \
            wr[q] = w + ((j) + q) * ldw;                                                        \
            for (int i = 0; i < (MR); i++) acc[q][i] = _mm512_setzero_ps();                     \
        }                                                                                       \
        for (long p = 0; p < k16; p += 16) {                                                    \
            __m512 v[NW];                                                                       \
            for (int q = 0; q < (NW); q++) {                                                    \
                if ((p & 63) == 0) {                                                            \
                    _mm_prefetch((const char *)(wr[q] + p) + 1024, _MM_HINT_T0);                \
                    _mm_prefetch((const char *)(wr[q] + p) + 16384, _MM_HINT_T1);               \
                }                                                                               \
                v[q] = LOAD(wr[q] + p);                                                         \
            }                                                                                   \
            for (int i = 0; i < (MR); i++) {                                                    \
                const __m512 x = _mm512_loadu_ps(a + i * lda + p);                              \
                for (int q = 0; q < (NW); q++) acc[q][i] = _mm512_fmadd_ps(x, v[q], acc[q][i]); \
            }                                                                                   \
        }                                                                                       \
        for (int q = 0; q < (NW); q++)                                                          \
            for (int i = 0; i < (MR); i++) {                                                    \
                float t = tree16z(acc[q][i]);                                                   \
                for (long r = k16; r < k; r++) t = __builtin_fmaf(a[i * lda + r], (float)wr[q][r], t); \
                out[i * ldo + (j) + q] = t;                                                     \
            }                                                                                   \
    }
#define RTK_ZROWS(TAG, T, LOAD, MR)                                                              \
RTK_AVX512 static void zrows_##TAG##_##MR(long nc, long k, const float *a, long lda,            \
                                          const T *w, long ldw, float *out, long ldo) {         \
    const long k16 = k & ~15L;                                                                  \
    long j = 0;                                                                                 \
    for (; j + 4 <= nc; j += 4) RTK_ZROWS_PASS(T, LOAD, MR, 4, j)                               \
    if (j + 2 <= nc) { RTK_ZROWS_PASS(T, LOAD, MR, 2, j) j += 2; }                              \
    if (j < nc) RTK_ZROWS_PASS(T, LOAD, MR, 1, j)                                               \
}
RTK_ZROWS(i8, int8_t, RTK_ZW_I8, 1) RTK_ZROWS(i8, int8_t, RTK_ZW_I8, 2)
RTK_ZROWS(i8, int8_t, RTK_ZW_I8, 3) RTK_ZROWS(i8, int8_t, RTK_ZW_I8, 4)
RTK_ZROWS(i8, int8_t, RTK_ZW_I8, 5) RTK_ZROWS(i8, int8_t, RTK_ZW_I8, 6)
RTK_ZROWS(f32, float, RTK_ZW_F32, 1) RTK_ZROWS(f32, float, RTK_ZW_F32, 2)
RTK_ZROWS(f32, float, RTK_ZW_F32, 3) RTK_ZROWS(f32, float, RTK_ZW_F32, 4)
RTK_ZROWS(f32, float, RTK_ZW_F32, 5) RTK_ZROWS(f32, float, RTK_ZW_F32, 6)

typedef void (*zrows_i8_fn)(long, long, const float *, long, const int8_t *, long, float *, long);
typedef void (*zrows_f32_fn)(long, long, const float *, long, const float *, long, float *, long);
static const zrows_i8_fn zrows_i8_table[6] = {zrows_i8_1, zrows_i8_2, zrows_i8_3, zrows_i8_4, zrows_i8_5, zrows_i8_6};
static const zrows_f32_fn zrows_f32_table[6] = {zrows_f32_1, zrows_f32_2, zrows_f32_3,
                                                zrows_f32_4, zrows_f32_5, zrows_f32_6};

void rtk_avx512_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                            float *out, long ldo) {
    if (mr >= 1 && mr <= 6) zrows_i8_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}
void rtk_avx512_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                             float *out, long ldo) {
    if (mr >= 1 && mr <= 6) zrows_f32_table[mr - 1](nc, k, a, lda, w, ldw, out, ldo);
}

RTK_AVX512 float rtk_peak_fma_f32(long iterations) {
    __m512 acc[24];
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
        __asm__ volatile("" ::: "memory");
    }
    __m512 s = acc[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

RTK_VNNI int32_t rtk_peak_vnni(long iterations) {
    __m512i acc[24];
    const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], x, y);
        __asm__ volatile("" ::: "memory");
    }
    __m512i s = acc[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_epi32(s, acc[i]);
    return _mm512_reduce_add_epi32(s);
}

// Float32 microkernel, MR rows x 16*NV columns (NV zmm vectors per row). Every output is one
// fused multiply-add chain over p in increasing order, from 0 or from C: the same arithmetic
// as the Swift microkernels and the other levels, so the result is bit-identical.
#define RTK_F32_512(MR, NV)                                                                      \
RTK_AVX512 static void f32_512_##MR##x##NV(long kc, const float *const *a, long astep,          \
                                          const float *b, long ldb, float *c, long ldc,         \
                                          int accumulate) {                                     \
    __m512 acc[MR][NV];                                                                         \
    const float *ap[MR];                                                                        \
    for (int i = 0; i < MR; i++) {                                                              \
        ap[i] = a[i];                                                                           \
        for (int v = 0; v < NV; v++)                                                            \
            acc[i][v] = accumulate ? _mm512_loadu_ps(c + i * ldc + 16 * v) : _mm512_setzero_ps(); \
    }                                                                                           \
    for (long p = 0; p < kc; p++) {                                                             \
        __m512 w[NV];                                                                           \
        for (int v = 0; v < NV; v++) w[v] = _mm512_loadu_ps(b + p * ldb + 16 * v);              \
        for (int i = 0; i < MR; i++) {                                                          \
            __m512 x = _mm512_set1_ps(ap[i][p * astep]);                                        \
            for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(x, w[v], acc[i][v]);       \
        }                                                                                       \
    }                                                                                           \
    for (int i = 0; i < MR; i++)                                                                \
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(c + i * ldc + 16 * v, acc[i][v]);         \
}
RTK_F32_512(1, 1) RTK_F32_512(2, 1) RTK_F32_512(3, 1) RTK_F32_512(4, 1)
RTK_F32_512(5, 1) RTK_F32_512(6, 1) RTK_F32_512(7, 1) RTK_F32_512(8, 1)
RTK_F32_512(1, 2) RTK_F32_512(2, 2) RTK_F32_512(3, 2) RTK_F32_512(4, 2)
RTK_F32_512(5, 2) RTK_F32_512(6, 2) RTK_F32_512(7, 2) RTK_F32_512(8, 2)

typedef void (*f32_512_fn)(long, const float *const *, long, const float *, long, float *, long, int);
static const f32_512_fn f32_512_table[2][8] = {
    {f32_512_1x1, f32_512_2x1, f32_512_3x1, f32_512_4x1, f32_512_5x1, f32_512_6x1, f32_512_7x1, f32_512_8x1},
    {f32_512_1x2, f32_512_2x2, f32_512_3x2, f32_512_4x2, f32_512_5x2, f32_512_6x2, f32_512_7x2, f32_512_8x2},
};

void rtk_avx512_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                           const float *b, long ldb, float *c, long ldc, int accumulate) {
    for (long i = 0; i < rows; i += 8) {
        long r = rows - i < 8 ? rows - i : 8;
        f32_512_table[nv - 1][r - 1](kc, a + i, astep, b, ldb, c + i * ldc, ldc, accumulate);
    }
}

#else  // not x86-64: stubs, never called because rtk_cpu_features() reports no AVX-512

void rtk_avx512_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                           const float *b, long ldb, float *c, long ldc, int accumulate) {
    (void)rows; (void)nv; (void)kc; (void)a; (void)astep; (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate; }

void rtk_pack_f32_from_i8(const int8_t *w, long ldw, long nc, long kc, float *out) {
    (void)w; (void)ldw; (void)nc; (void)kc; (void)out; }
void rtk_pack_f32_from_f32(const float *w, long ldw, long nc, long kc, float *out) {
    (void)w; (void)ldw; (void)nc; (void)kc; (void)out; }
void rtk_pack_vnni(const int8_t *w, long ldw, long nc, long kc, uint8_t *out) {
    (void)w; (void)ldw; (void)nc; (void)kc; (void)out; }
void rtk_avx512_i8_rows(long mr, long nc, long k, const int8_t *a, long lda,
                        const int8_t *w, long ldw, int32_t *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
void rtk_vnni_kernel(long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                     const int32_t *corr, const float *scale, float *c, long ldc, int accumulate,
                     const rtk_i8_final *fin) {
    (void)mr; (void)kc4; (void)a; (void)wpanel; (void)corr; (void)scale; (void)c; (void)ldc; (void)accumulate; (void)fin; }
void rtk_avx512_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                            float *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
void rtk_avx512_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                             float *out, long ldo) {
    (void)mr; (void)nc; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)out; (void)ldo; }
float rtk_peak_fma_f32(long iterations) { (void)iterations; return 0; }
int32_t rtk_peak_vnni(long iterations) { (void)iterations; return 0; }

#endif
