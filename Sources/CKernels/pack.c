// Weight packing in plain C (no intrinsics; any architecture), for the levels whose
// microkernels read the layouts below (avx2, avx512 int8, neon). See include/ckernels.h.
#include "ckernels.h"
#include <string.h>

void rtk_pack_i8_panels(const int8_t *w, long ldw, long nc, long kc, int8_t *out) {
    const long panels = (nc + 31) / 32, kc4 = (kc + 3) / 4, full4 = kc / 4;
    for (long jp = 0; jp < panels; jp++) {
        int8_t *po = out + jp * kc4 * 128;
        for (long jj = 0; jj < 32; jj++) {
            const long j = jp * 32 + jj;
            int8_t *dst = po + jj * 4;
            if (j >= nc) {
                for (long g = 0; g < kc4; g++) memset(dst + g * 128, 0, 4);
                continue;
            }
            const int8_t *src = w + j * ldw;
            long g = 0;
            for (; g < full4; g++) memcpy(dst + g * 128, src + 4 * g, 4);
            if (g < kc4) {                        // partial group: zero past kc
                int8_t last[4] = {0, 0, 0, 0};
                memcpy(last, src + 4 * g, (size_t)(kc - 4 * g));
                memcpy(dst + g * 128, last, 4);
            }
        }
    }
}

void rtk_pack_u8_panels(const int8_t *w, long ldw, long nc, long kc, uint8_t *out) {
    const long panels = (nc + 31) / 32, kc4 = (kc + 3) / 4;
    rtk_pack_i8_panels(w, ldw, nc, kc, (int8_t *)out);
    for (long i = 0; i < panels * kc4 * 128; i++) out[i] ^= 0x80;     // w + 128 as unsigned
}

// Row-major reads of 32 weight rows in 8-column slices, written panel-row by panel-row.
#define RTK_PACK_F32(NAME, T)                                                                    \
void NAME(const T *w, long ldw, long nc, long kc, float *out) {                                  \
    const long panels = (nc + 31) / 32;                                                          \
    for (long jp = 0; jp < panels; jp++) {                                                       \
        float *po = out + jp * kc * 32;                                                          \
        const long cols = nc - jp * 32 < 32 ? nc - jp * 32 : 32;                                 \
        for (long p0 = 0; p0 < kc; p0 += 8) {                                                    \
            const long np = kc - p0 < 8 ? kc - p0 : 8;                                           \
            for (long jj = 0; jj < 32; jj++) {                                                   \
                if (jj < cols) {                                                                 \
                    const T *src = w + (jp * 32 + jj) * ldw + p0;                                \
                    for (long e = 0; e < np; e++) po[(p0 + e) * 32 + jj] = (float)src[e];        \
                } else {                                                                         \
                    for (long e = 0; e < np; e++) po[(p0 + e) * 32 + jj] = 0;                    \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
}
RTK_PACK_F32(rtk_pack_f32_from_i8_c, int8_t)
RTK_PACK_F32(rtk_pack_f32_from_f32_c, float)

void rtk_i8_negative_terms(long n, long k, const int8_t *w, long ldw, int32_t *terms) {
    for (long j = 0; j < n; j++) {
        const int8_t *wr = w + j * ldw;
        int32_t t = 0;
        for (long p = 0; p < k; p++) t += wr[p] < 0 ? -(int32_t)wr[p] : 0;   // vectorizes
        terms[j] = t;
    }
}
