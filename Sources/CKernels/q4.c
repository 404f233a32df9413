// int4 (GGML Q4_0) weight kernels: nibble unpacking into panels, and the W4A8 microkernels
// of every level. See include/ckernels.h for the layouts and docs/kernels.md ('int4 weights')
// for why every level produces the same bits.
#include "ckernels.h"
#include <math.h>
#include <string.h>

/// fp16 bit pattern -> float (exact; subnormals, infinities and NaN included).
static inline float half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) { bits = sign; }
        else {                                   // subnormal: man * 2^-24, exact in float
            float f = (float)man * 0x1p-24f;
            memcpy(&bits, &f, 4);
            bits |= sign;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

float rtk_half_to_float(uint16_t h) { return half_to_float(h); }

void rtk_q4_dequant_rows(const uint8_t *w, long row_bytes, long rows, long groups, float *out, long ldo) {
    for (long j = 0; j < rows; j++) {
        const uint8_t *row = w + j * row_bytes;
        float *o = out + j * ldo;
        for (long g = 0; g < groups; g++) {
            const uint8_t *blk = row + g * 18;
            const float d = half_to_float((uint16_t)(blk[0] | (blk[1] << 8)));
            for (int b = 0; b < 16; b++) {
                o[g * 32 + b] = (float)((int)(blk[2 + b] & 15) - 8) * d;
                o[g * 32 + 16 + b] = (float)((int)(blk[2 + b] >> 4) - 8) * d;
            }
        }
    }
}

void rtk_q4_pack(const uint8_t *w, long row_bytes, long nc, long g0, long ng, uint8_t *panel, float *dpanel) {
    const long panels = (nc + 31) / 32;
    for (long jp = 0; jp < panels; jp++) {
        uint8_t *po = panel + jp * ng * 1024;
        float *dp = dpanel + jp * ng * 32;
        for (long jj = 0; jj < 32; jj++) {
            const long j = jp * 32 + jj;
            if (j >= nc) {
                for (long g = 0; g < ng; g++) {
                    for (int t = 0; t < 8; t++) memset(po + (g * 8 + t) * 128 + jj * 4, 0, 4);
                    dp[g * 32 + jj] = 0;
                }
                continue;
            }
            const uint8_t *row = w + j * row_bytes + g0 * 18;
            for (long g = 0; g < ng; g++) {
                const uint8_t *blk = row + g * 18;
                dp[g * 32 + jj] = half_to_float((uint16_t)(blk[0] | (blk[1] << 8)));
                for (int t = 0; t < 4; t++) {
                    uint32_t x;
                    memcpy(&x, blk + 2 + 4 * t, 4);
                    const uint32_t lo = x & 0x0f0f0f0fu, hi = (x >> 4) & 0x0f0f0f0fu;
                    memcpy(po + (g * 8 + t) * 128 + jj * 4, &lo, 4);
                    memcpy(po + (g * 8 + 4 + t) * 128 + jj * 4, &hi, 4);
                }
            }
        }
    }
}

// The portable W4A8 microkernel (levels generic and neon): the same integer sums and the same
// float steps as the SIMD kernels, in plain C.
void rtk_q4_kernel_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                     const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate) {
    for (long i = 0; i < rows; i++) {
        float acc[32];
        for (int j = 0; j < 32; j++) acc[j] = accumulate ? c[i * ldc + j] : 0.0f;
        for (long g = 0; g < ng; g++) {
            int32_t s[32];
            for (int j = 0; j < 32; j++) s[j] = -corr[i][g];
            const int8_t *ag = a[i] + g * 32;
            for (int t = 0; t < 8; t++) {
                const uint8_t *pw = panel + (g * 8 + t) * 128;
                for (int j = 0; j < 32; j++) {
                    s[j] += pw[j * 4] * ag[4 * t] + pw[j * 4 + 1] * ag[4 * t + 1]
                          + pw[j * 4 + 2] * ag[4 * t + 2] + pw[j * 4 + 3] * ag[4 * t + 3];
                }
            }
            for (int j = 0; j < 32; j++) acc[j] = rtk_maddf((float)s[j], dpanel[g * 32 + j], acc[j]);
        }
        for (int j = 0; j < 32; j++) c[i * ldc + j] = acc[j];
    }
}

// The portable row form: what rtk_q4_rows_vnni computes, straight from the blocks, in plain C.
void rtk_q4_rows_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                   const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    const long width = (nc + 15) / 16 * 16;
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < width; j++) {
            float acc = 0.0f;
            if (j < nc) {
                for (long g = 0; g < ng; g++) {
                    const uint8_t *blk = w + j * row_bytes + g * 18;
                    const int8_t *ag = a[i] + g * 32;
                    int32_t s = -corr[i][g];
                    for (int b = 0; b < 16; b++) s += (blk[2 + b] & 15) * ag[b] + (blk[2 + b] >> 4) * ag[16 + b];
                    acc = rtk_maddf((float)s, half_to_float((uint16_t)(blk[0] | (blk[1] << 8))), acc);
                }
            }
            c[i * ldc + j] = acc;
        }
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"

#define RTK_Q4_VNNI RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#define RTK_Q4_AVX2 __attribute__((target("avx2,fma")))
#define RTK_Q4_AVX512 RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq")

// R rows (1...6) x 32 columns; float accumulators stay in registers over all ng groups.
RTK_Q4_VNNI static inline __attribute__((always_inline)) void
q4_vnni_strip(const int R, long ng, const int8_t *const *a, const int32_t *const *corr,
              const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate) {
    __m512 f[6][2];
    for (int r = 0; r < R; r++) {
        f[r][0] = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
        f[r][1] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
    }
    for (long g = 0; g < ng; g++) {
        __m512i s[6][2];
        for (int r = 0; r < R; r++) s[r][0] = s[r][1] = _mm512_set1_epi32(-corr[r][g]);
        const uint8_t *pw = panel + g * 1024;
        for (int t = 0; t < 8; t++) {
            const __m512i w0 = _mm512_loadu_si512(pw + t * 128), w1 = _mm512_loadu_si512(pw + t * 128 + 64);
            for (int r = 0; r < R; r++) {
                int32_t q4;
                memcpy(&q4, a[r] + g * 32 + 4 * t, 4);
                const __m512i b = _mm512_set1_epi32(q4);
                s[r][0] = _mm512_dpbusd_epi32(s[r][0], w0, b);
                s[r][1] = _mm512_dpbusd_epi32(s[r][1], w1, b);
            }
        }
        const __m512 d0 = _mm512_loadu_ps(dpanel + g * 32), d1 = _mm512_loadu_ps(dpanel + g * 32 + 16);
        for (int r = 0; r < R; r++) {
            f[r][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[r][0]), d0, f[r][0]);
            f[r][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[r][1]), d1, f[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_storeu_ps(c + r * ldc, f[r][0]);
        _mm512_storeu_ps(c + r * ldc + 16, f[r][1]);
    }
}

RTK_Q4_VNNI void rtk_q4_kernel_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                                    const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate) {
    long i = 0;
    while (i < rows) {
        const long r = rows - i >= 6 ? 6 : rows - i;
        switch (r) {
        case 6: q4_vnni_strip(6, ng, a + i, corr + i, panel, dpanel, c + i * ldc, ldc, accumulate); break;
        case 5: q4_vnni_strip(5, ng, a + i, corr + i, panel, dpanel, c + i * ldc, ldc, accumulate); break;
        case 4: q4_vnni_strip(4, ng, a + i, corr + i, panel, dpanel, c + i * ldc, ldc, accumulate); break;
        case 3: q4_vnni_strip(3, ng, a + i, corr + i, panel, dpanel, c + i * ldc, ldc, accumulate); break;
        case 2: q4_vnni_strip(2, ng, a + i, corr + i, panel, dpanel, c + i * ldc, ldc, accumulate); break;
        default: q4_vnni_strip(1, ng, a + i, corr + i, panel, dpanel, c + i * ldc, ldc, accumulate); break;
        }
        i += r;
    }
}

// R rows (1...4) x 16 columns (half a panel, starting at column offset h*16); AVX2 without
// VNNI: vpmaddubsw of the unsigned nibbles (0...15) by the signed activations gives pairs of
// at most 2*15*128 = 3840 in int16 (never saturated), vpmaddwd by ones adds pairs into int32.
// Float accumulators live in c between groups.
RTK_Q4_AVX2 static inline __attribute__((always_inline)) void
q4_avx2_strip(const int R, long ng, const int8_t *const *a, const int32_t *const *corr,
              const uint8_t *panel, const float *dpanel, int h, float *c, long ldc, int accumulate) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f[4][2];
    for (int r = 0; r < R; r++) {
        f[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
        f[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_setzero_ps();
    }
    for (long g = 0; g < ng; g++) {
        __m256i s[4][2];
        for (int r = 0; r < R; r++) s[r][0] = s[r][1] = _mm256_set1_epi32(-corr[r][g]);
        const uint8_t *pw = panel + g * 1024 + h * 64;
        for (int t = 0; t < 8; t++) {
            const __m256i w0 = _mm256_loadu_si256((const __m256i *)(pw + t * 128));
            const __m256i w1 = _mm256_loadu_si256((const __m256i *)(pw + t * 128 + 32));
            for (int r = 0; r < R; r++) {
                int32_t q4;
                memcpy(&q4, a[r] + g * 32 + 4 * t, 4);
                const __m256i b = _mm256_set1_epi32(q4);
                s[r][0] = _mm256_add_epi32(s[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(w0, b), ones));
                s[r][1] = _mm256_add_epi32(s[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(w1, b), ones));
            }
        }
        const __m256 d0 = _mm256_loadu_ps(dpanel + g * 32 + h * 16), d1 = _mm256_loadu_ps(dpanel + g * 32 + h * 16 + 8);
        for (int r = 0; r < R; r++) {
            f[r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[r][0]), d0, f[r][0]);
            f[r][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[r][1]), d1, f[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm256_storeu_ps(c + r * ldc, f[r][0]);
        _mm256_storeu_ps(c + r * ldc + 8, f[r][1]);
    }
}

RTK_Q4_AVX2 void rtk_q4_kernel_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                                    const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate) {
    long i = 0;
    while (i < rows) {
        const long r = rows - i >= 3 ? 3 : rows - i;
        for (int h = 0; h < 2; h++) {
            float *ch = c + i * ldc + h * 16;
            switch (r) {
            case 3: q4_avx2_strip(3, ng, a + i, corr + i, panel, dpanel, h, ch, ldc, accumulate); break;
            case 2: q4_avx2_strip(2, ng, a + i, corr + i, panel, dpanel, h, ch, ldc, accumulate); break;
            default: q4_avx2_strip(1, ng, a + i, corr + i, panel, dpanel, h, ch, ldc, accumulate); break;
            }
        }
        i += r;
    }
}


// One group of 16 columns, AVX-512: each column's 16 nibble bytes (at bg + col * row_bytes + 2)
// are one 128-bit load, four columns 4 apart share a zmm, and a 4x4 transpose of dwords inside
// the 128-bit lanes leaves dword t of columns 0...15, in order, in qd[t]. The fp16 scales come
// from a gather (idx = lane * row_bytes) of the lines the loads just brought in. Columns past
// `live` (mask m) read nothing: their nibbles and scale are 0. Returns the 16 scales as floats.
RTK_Q4_AVX512 static inline __attribute__((always_inline)) __m512
q4_group16_avx512(const uint8_t *bg, long row_bytes, long live, __mmask16 m, __m512i idx, __m512i qd[4]) {
    __m512i z4[4];
    for (int q = 0; q < 4; q++) {
        __m512i v = _mm512_setzero_si512();
        for (int l = 0; l < 4; l++) {
            const int col = 4 * l + q;
            const __m128i x = live == 16 ? _mm_loadu_si128((const __m128i *)(bg + col * row_bytes + 2))
                                         : _mm_maskz_loadu_epi32(col < live ? 0xf : 0, bg + col * row_bytes + 2);
            if (l == 0) v = _mm512_inserti32x4(v, x, 0);
            else if (l == 1) v = _mm512_inserti32x4(v, x, 1);
            else if (l == 2) v = _mm512_inserti32x4(v, x, 2);
            else v = _mm512_inserti32x4(v, x, 3);
        }
        z4[q] = v;
    }
    const __m512i t0 = _mm512_unpacklo_epi32(z4[0], z4[1]), t1 = _mm512_unpackhi_epi32(z4[0], z4[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(z4[2], z4[3]), t3 = _mm512_unpackhi_epi32(z4[2], z4[3]);
    qd[0] = _mm512_unpacklo_epi64(t0, t2); qd[1] = _mm512_unpackhi_epi64(t0, t2);
    qd[2] = _mm512_unpacklo_epi64(t1, t3); qd[3] = _mm512_unpackhi_epi64(t1, t3);
    const __m512i dv = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, bg, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_and_si512(dv, _mm512_set1_epi32(0xffff))));
}

// Row form, AVX-512 VNNI: R rows (1...8) x 16 columns straight from the Q4_0 rows, no panel in
// memory. Per group, the 16 columns' 16 nibble bytes are loaded once (one 128-bit load per
// column, rows read sequentially and prefetched as in the packing), transposed in registers
// into quads (lane j = column j's dword t), split into low (quads 0...3: elements 0...15) and
// high nibbles (quads 4...7: elements 16...31) as unsigned bytes, and vpdpbusd'ed against
// each row's broadcast activation dwords; S_g = that sum - corr, then
// acc = fma(float(S_g), d_g, acc): the same integers and float steps as the panel kernels.
// Columns past `live` read nothing (nibbles and scale 0) and come out as 0.
RTK_Q4_VNNI static inline __attribute__((always_inline)) void
q4_rows_vnni_strip(const int R, long ng, const int8_t *const *a, const int32_t *const *corr,
                   const uint8_t *w, long row_bytes, long live, float *c, long ldc) {
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i low4 = _mm512_set1_epi32(0x0f0f0f0f);
    const __m512i idx = _mm512_mullo_epi32(lanes, _mm512_set1_epi32((int)row_bytes));
    const __mmask16 m = (__mmask16)((1u << live) - 1u);
    __m512 f[8];
    for (int r = 0; r < R; r++) f[r] = _mm512_setzero_ps();
    for (long g = 0; g < ng; g++) {
        const uint8_t *bg = w + g * 18;
        // The strip's 16 rows are one contiguous run of 16 * row_bytes bytes, consumed at 288
        // bytes per group: stream the next strip's run into L1 and the one after into L2 at
        // that pace (a prefetch past the matrix is harmless: it never faults).
        for (int z = 0; z < 5; z++) {
            rtk_prefetch(w + 16 * row_bytes + g * 288 + z * 64);
            rtk_prefetch_l2(w + 64 * row_bytes + g * 288 + z * 64);
        }
        __m512i qd[4], wv[8];
        const __m512 d = q4_group16_avx512(bg, row_bytes, live, m, idx, qd);
        for (int t = 0; t < 4; t++) {
            wv[t] = _mm512_and_si512(qd[t], low4);
            wv[4 + t] = _mm512_and_si512(_mm512_srli_epi32(qd[t], 4), low4);
        }
        for (int r = 0; r < R; r++) {
            __m512i s = _mm512_set1_epi32(-corr[r][g]);
            const int8_t *ag = a[r] + g * 32;
            for (int t = 0; t < 8; t++) {
                int32_t q4;
                memcpy(&q4, ag + 4 * t, 4);
                s = _mm512_dpbusd_epi32(s, wv[t], _mm512_set1_epi32(q4));
            }
            f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), d, f[r]);
        }
    }
    for (int r = 0; r < R; r++) _mm512_storeu_ps(c + r * ldc, f[r]);
}

RTK_Q4_VNNI void rtk_q4_rows_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                                  const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    for (long j0 = 0; j0 < nc; j0 += 16) {
        const long live = nc - j0 > 16 ? 16 : nc - j0;
        const uint8_t *wj = w + j0 * row_bytes;
        float *cj = c + j0;
        switch (rows) {
        case 8: q4_rows_vnni_strip(8, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        case 7: q4_rows_vnni_strip(7, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        case 6: q4_rows_vnni_strip(6, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        case 5: q4_rows_vnni_strip(5, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        case 4: q4_rows_vnni_strip(4, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        case 3: q4_rows_vnni_strip(3, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        case 2: q4_rows_vnni_strip(2, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        default: q4_rows_vnni_strip(1, ng, a, corr, wj, row_bytes, live, cj, ldc); break;
        }
    }
}


// Packing, AVX-512: 16 columns at once through q4_group16_avx512 (rows read sequentially);
// its qd[t] is the 64 contiguous bytes of the panel's quad t, split into low and high nibbles.
// Columns past nc are masked off (nothing read) and written as 0.
RTK_Q4_AVX512 void rtk_q4_pack_avx512(const uint8_t *w, long row_bytes, long nc, long g0, long ng,
                                      uint8_t *panel, float *dpanel) {
    const long panels = (nc + 31) / 32;
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i low4 = _mm512_set1_epi32(0x0f0f0f0f);
    const __m512i idx = _mm512_mullo_epi32(lanes, _mm512_set1_epi32((int)row_bytes));
    for (long jp = 0; jp < panels; jp++) {
        for (int h = 0; h < 2; h++) {
            const long j0 = jp * 32 + h * 16;
            const long live = nc - j0 < 0 ? 0 : (nc - j0 > 16 ? 16 : nc - j0);
            const __mmask16 m = (__mmask16)((1u << live) - 1u);
            const uint8_t *base = w + j0 * row_bytes + g0 * 18;
            uint8_t *po = panel + jp * ng * 1024 + h * 64;
            float *dp = dpanel + jp * ng * 32 + h * 16;
            for (long g = 0; g < ng; g++) {
                const uint8_t *bg = base + g * 18;
                // 16 rows are read side by side, each sequentially: prefetch every row 1 KB and
                // 8 KB ahead (a prefetch past the matrix is harmless: it never faults)
                if ((g & 3) == 0) {
                    for (int z = 0; z < 16; z++) {
                        rtk_prefetch(bg + z * row_bytes + 1024);
                        rtk_prefetch_l2(bg + z * row_bytes + 8192);
                    }
                }
                __m512i q[4];
                _mm512_storeu_ps(dp + g * 32, q4_group16_avx512(bg, row_bytes, live, m, idx, q));
                for (int t = 0; t < 4; t++) {
                    _mm512_storeu_si512(po + (g * 8 + t) * 128, _mm512_and_si512(q[t], low4));
                    _mm512_storeu_si512(po + (g * 8 + 4 + t) * 128, _mm512_and_si512(_mm512_srli_epi32(q[t], 4), low4));
                }
            }
        }
    }
}

RTK_Q4_AVX2 void rtk_q4_pack_avx2(const uint8_t *w, long row_bytes, long nc, long g0, long ng,
                                  uint8_t *panel, float *dpanel) {
    const long panels = (nc + 31) / 32;
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i low4 = _mm256_set1_epi32(0x0f0f0f0f);
    const __m256i idx = _mm256_mullo_epi32(lanes, _mm256_set1_epi32((int)row_bytes));
    for (long jp = 0; jp < panels; jp++) {
        for (int q = 0; q < 4; q++) {
            const long j0 = jp * 32 + q * 8;
            const long live = nc - j0 < 0 ? 0 : (nc - j0 > 8 ? 8 : nc - j0);
            const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)live), lanes);
            const uint8_t *base = w + j0 * row_bytes + g0 * 18;
            uint8_t *po = panel + jp * ng * 1024 + q * 32;
            float *dp = dpanel + jp * ng * 32 + q * 8;
            for (long g = 0; g < ng; g++) {
                const uint8_t *bg = base + g * 18;
                const __m256i dv = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)bg, idx, m, 1);
                int32_t dw[8];
                _mm256_storeu_si256((__m256i *)dw, dv);
                for (int z = 0; z < 8; z++) dp[g * 32 + z] = half_to_float((uint16_t)dw[z]);
                for (int t = 0; t < 4; t++) {
                    const __m256i x = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int *)(bg + 2 + 4 * t), idx, m, 1);
                    _mm256_storeu_si256((__m256i *)(po + (g * 8 + t) * 128), _mm256_and_si256(x, low4));
                    _mm256_storeu_si256((__m256i *)(po + (g * 8 + 4 + t) * 128), _mm256_and_si256(_mm256_srli_epi32(x, 4), low4));
                }
            }
        }
    }
}

#else
void rtk_q4_pack_avx512(const uint8_t *w, long row_bytes, long nc, long g0, long ng, uint8_t *panel, float *dpanel) {
    rtk_q4_pack(w, row_bytes, nc, g0, ng, panel, dpanel);
}
void rtk_q4_pack_avx2(const uint8_t *w, long row_bytes, long nc, long g0, long ng, uint8_t *panel, float *dpanel) {
    rtk_q4_pack(w, row_bytes, nc, g0, ng, panel, dpanel);
}
void rtk_q4_kernel_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                        const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate) {
    rtk_q4_kernel_c(rows, ng, a, corr, panel, dpanel, c, ldc, accumulate);
}
void rtk_q4_kernel_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                        const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate) {
    rtk_q4_kernel_c(rows, ng, a, corr, panel, dpanel, c, ldc, accumulate);
}
void rtk_q4_rows_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long row_bytes, long nc, float *c, long ldc) {
    rtk_q4_rows_c(rows, ng, a, corr, w, row_bytes, nc, c, ldc);
}
#endif
