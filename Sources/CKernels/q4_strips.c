// int4 weights repacked into 16-column strips for the W4A8 row form (few activation rows),
// and the kernels that read them. See include/ckernels.h for the layout and docs/kernels.md
// ('int4 weights') for why the results are the same bits as from the Q4_0 blocks.
#include "ckernels.h"
#include <string.h>

// Software prefetch distances in groups (288 bytes each): into L1 8 groups (2.3 KB) ahead and
// into L2 32 groups (9 KB) ahead. The strips are one sequential stream per thread, yet with
// the hardware prefetchers alone the loads waited on memory: the XL generator step took
// 0.0133 s without these and 0.0080 s with them (Zen 5, 2 threads); 16/64 and 8/96 ran as 8/32.
enum { STRIP_GROUP_BYTES = 288, PF_L1 = 8, PF_L2 = 32 };

// One group of 16 columns (live of them real, the rest zero) into the strip layout.
static void q4x16_group(const uint8_t *w, long row_bytes, long live, long g, uint8_t *o) {
    memset(o, 0, STRIP_GROUP_BYTES);
    for (long j = 0; j < live; j++) {
        const uint8_t *blk = w + j * row_bytes + g * 18;
        o[2 * j] = blk[0];
        o[2 * j + 1] = blk[1];
        for (int t = 0; t < 4; t++) memcpy(o + 32 + t * 64 + 4 * j, blk + 2 + 4 * t, 4);
    }
}

void rtk_q4x16_repack(const uint8_t *w, long row_bytes, long n, long groups, long s0, long s1, uint8_t *out) {
    for (long s = s0; s < s1; s++) {
        const long live = n - 16 * s > 16 ? 16 : n - 16 * s;
        for (long g = 0; g < groups; g++)
            q4x16_group(w + 16 * s * row_bytes, row_bytes, live, g, out + (s * groups + g) * STRIP_GROUP_BYTES);
    }
}

// The portable fma chain of one column jj (0...15) of a strip over groups 0...ng-1, from acc:
// S_g = sum of nibble x activation over the group's 32 inputs - corr[g], acc = fma(S_g, d, acc).
static float strip_column_chain(const uint8_t *strip, long jj, long ng, const int8_t *a, const int32_t *corr,
                                float acc) {
    for (long g = 0; g < ng; g++) {
        const uint8_t *bg = strip + g * STRIP_GROUP_BYTES;
        const int8_t *ag = a + g * 32;
        int32_t sum = -corr[g];
        for (int t = 0; t < 4; t++) {
            for (int b = 0; b < 4; b++) {
                const uint8_t byte = bg[32 + t * 64 + 4 * jj + b];
                sum += (byte & 15) * ag[4 * t + b] + (byte >> 4) * ag[16 + 4 * t + b];
            }
        }
        const uint16_t d = (uint16_t)(bg[2 * jj] | (bg[2 * jj + 1] << 8));
        acc = rtk_maddf((float)sum, rtk_half_to_float(d), acc);
    }
    return acc;
}

void rtk_q4x16_rows_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long nc, float *c, long ldc) {
    const long strips = (nc + 15) / 16;
    for (long i = 0; i < rows; i++)
        for (long s = 0; s < strips; s++)
            for (long jj = 0; jj < 16; jj++)
                c[i * ldc + s * 16 + jj] = strip_column_chain(w + s * ng * STRIP_GROUP_BYTES, jj, ng, a[i], corr[i], 0.0f);
}

void rtk_q4x16_kernel_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                        const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < 32; j++)
            c[i * ldc + j] = strip_column_chain(j < 16 ? sa : sb, j % 16, ng, a[i], corr[i],
                                                accumulate ? c[i * ldc + j] : 0.0f);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"

#define RTK_Q4X16_VNNI RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")

// R rows (1...8) x one strip of 16 columns. Per group: one 256-bit load of the 16 fp16
// scales, four zmm loads of nibble quads, split into low (elements 0...15) and high nibbles
// (16...31); per row two vpdpbusd chains of four (low and high halves, added at the end:
// integer sums, so the order does not change the result), then acc = fma(float(S_g), d_g, acc).
RTK_Q4X16_VNNI static inline __attribute__((always_inline)) void
q4x16_vnni_strip(const int R, long ng, const int8_t *const *a, const int32_t *const *corr,
                 const uint8_t *w, float *c, long ldc) {
    const __m512i low4 = _mm512_set1_epi32(0x0f0f0f0f);
    __m512 f[8];
    for (int r = 0; r < R; r++) f[r] = _mm512_setzero_ps();
    for (long g = 0; g < ng; g++) {
        const uint8_t *bg = w + g * STRIP_GROUP_BYTES;
        for (int z = 0; z < 5; z++) {
            rtk_prefetch(bg + PF_L1 * STRIP_GROUP_BYTES + z * 64);
            rtk_prefetch_l2(bg + PF_L2 * STRIP_GROUP_BYTES + z * 64);
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)bg));
        __m512i wv[8];
        for (int t = 0; t < 4; t++) {
            const __m512i qd = _mm512_loadu_si512(bg + 32 + 64 * t);
            wv[t] = _mm512_and_si512(qd, low4);
            wv[4 + t] = _mm512_and_si512(_mm512_srli_epi32(qd, 4), low4);
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) {
            const int8_t *ag = a[r] + g * 32;
            __m512i lo = _mm512_set1_epi32(-corr[r][g]), hi = _mm512_setzero_si512();
            for (int t = 0; t < 4; t++) {
                int32_t ql, qh;
                memcpy(&ql, ag + 4 * t, 4);
                memcpy(&qh, ag + 16 + 4 * t, 4);
                lo = _mm512_dpbusd_epi32(lo, wv[t], _mm512_set1_epi32(ql));
                hi = _mm512_dpbusd_epi32(hi, wv[4 + t], _mm512_set1_epi32(qh));
            }
            f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(lo, hi)), d, f[r]);
        }
    }
    for (int r = 0; r < R; r++) _mm512_storeu_ps(c + r * ldc, f[r]);
}

RTK_Q4X16_VNNI void rtk_q4x16_rows_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                                        const uint8_t *w, long nc, float *c, long ldc) {
    const long strips = (nc + 15) / 16;
    for (long s = 0; s < strips; s++) {
        const uint8_t *ws = w + s * ng * STRIP_GROUP_BYTES;
        float *cs = c + s * 16;
        switch (rows) {
        case 8: q4x16_vnni_strip(8, ng, a, corr, ws, cs, ldc); break;
        case 7: q4x16_vnni_strip(7, ng, a, corr, ws, cs, ldc); break;
        case 6: q4x16_vnni_strip(6, ng, a, corr, ws, cs, ldc); break;
        case 5: q4x16_vnni_strip(5, ng, a, corr, ws, cs, ldc); break;
        case 4: q4x16_vnni_strip(4, ng, a, corr, ws, cs, ldc); break;
        case 3: q4x16_vnni_strip(3, ng, a, corr, ws, cs, ldc); break;
        case 2: q4x16_vnni_strip(2, ng, a, corr, ws, cs, ldc); break;
        default: q4x16_vnni_strip(1, ng, a, corr, ws, cs, ldc); break;
        }
    }
}
// Panel form on strips: R rows (1...6) x 32 columns, strips sa (columns 0...15) and sb
// (16...31), groups 0...ng-1 (the caller offsets the strips, activations and corrections to its
// K block). Per group and row, one vpdpbusd chain per 16 columns over the low then high nibbles
// of each quad, S = that sum - corr; acc = fma(float(S), d, acc), from c when accumulating:
// the steps of rtk_q4_kernel_c on a packed panel.
RTK_Q4X16_VNNI static inline __attribute__((always_inline)) void
q4x16_panel_vnni(const int R, long ng, const int8_t *const *a, const int32_t *const *corr,
                 const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    const __m512i low4 = _mm512_set1_epi32(0x0f0f0f0f);
    __m512 f[6][2];
    for (int r = 0; r < R; r++) {
        f[r][0] = accumulate ? _mm512_loadu_ps(c + r * ldc) : _mm512_setzero_ps();
        f[r][1] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16) : _mm512_setzero_ps();
    }
    for (long g = 0; g < ng; g++) {
        const uint8_t *ga = sa + g * STRIP_GROUP_BYTES, *gb = sb + g * STRIP_GROUP_BYTES;
        __m512i s[6][2];
#pragma clang loop unroll(full)
        for (int r = 0; r < R; r++) s[r][0] = s[r][1] = _mm512_set1_epi32(-corr[r][g]);
#pragma clang loop unroll(full)
        for (int t = 0; t < 4; t++) {
            const __m512i qa = _mm512_loadu_si512(ga + 32 + 64 * t), qb = _mm512_loadu_si512(gb + 32 + 64 * t);
            const __m512i la = _mm512_and_si512(qa, low4), ha = _mm512_and_si512(_mm512_srli_epi32(qa, 4), low4);
            const __m512i lb = _mm512_and_si512(qb, low4), hb = _mm512_and_si512(_mm512_srli_epi32(qb, 4), low4);
#pragma clang loop unroll(full)
            for (int r = 0; r < R; r++) {
                int32_t ql, qh;
                memcpy(&ql, a[r] + g * 32 + 4 * t, 4);
                memcpy(&qh, a[r] + g * 32 + 16 + 4 * t, 4);
                const __m512i bl = _mm512_set1_epi32(ql), bh = _mm512_set1_epi32(qh);
                s[r][0] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(s[r][0], la, bl), ha, bh);
                s[r][1] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(s[r][1], lb, bl), hb, bh);
            }
        }
        const __m512 d0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)ga));
        const __m512 d1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)gb));
#pragma clang loop unroll(full)
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

RTK_Q4X16_VNNI void rtk_q4x16_kernel_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                                          const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    long i = 0;
    while (i < rows) {
        const long r = rows - i >= 6 ? 6 : rows - i;
        switch (r) {
        case 6: q4x16_panel_vnni(6, ng, a + i, corr + i, sa, sb, c + i * ldc, ldc, accumulate); break;
        case 5: q4x16_panel_vnni(5, ng, a + i, corr + i, sa, sb, c + i * ldc, ldc, accumulate); break;
        case 4: q4x16_panel_vnni(4, ng, a + i, corr + i, sa, sb, c + i * ldc, ldc, accumulate); break;
        case 3: q4x16_panel_vnni(3, ng, a + i, corr + i, sa, sb, c + i * ldc, ldc, accumulate); break;
        case 2: q4x16_panel_vnni(2, ng, a + i, corr + i, sa, sb, c + i * ldc, ldc, accumulate); break;
        default: q4x16_panel_vnni(1, ng, a + i, corr + i, sa, sb, c + i * ldc, ldc, accumulate); break;
        }
        i += r;
    }
}
#else  // not x86-64: the portable form (never selected: no level here uses strips)
void rtk_q4x16_rows_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                         const uint8_t *w, long nc, float *c, long ldc) {
    rtk_q4x16_rows_c(rows, ng, a, corr, w, nc, c, ldc);
}
void rtk_q4x16_kernel_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                           const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate) {
    rtk_q4x16_kernel_c(rows, ng, a, corr, sa, sb, c, ldc, accumulate);
}
#endif
