// Helpers shared by the real and the emulated AMX drivers (private to CKernels).
#ifndef RTK_AMX_COMMON_H
#define RTK_AMX_COMMON_H
#include <stdint.h>
#include <string.h>

/// The tile configuration of the drivers: palette 1, all eight tiles 16 rows × 64 bytes.
/// Layout (64 bytes): [0] palette, [1] start row, [16 + 2t] colsb of tile t (uint16),
/// [48 + t] rows of tile t.
static inline void rtk_amx_config_full(uint8_t cfg[64]) {
    memset(cfg, 0, 64);
    cfg[0] = 1;
    for (int t = 0; t < 8; t++) { cfg[16 + 2 * t] = 64; cfg[17 + 2 * t] = 0; cfg[48 + t] = 16; }
}

/// 16 rows × 64 bytes starting at byte off of w (row stride ldw) into pad (stride 64),
/// copying only the bytes before wlimit (the end of W) and zeros after.
static inline void rtk_amx_pad_rows(const int8_t *w, long ldw, long wlimit, long off, int8_t *pad) {
    for (long r = 0; r < 16; r++) {
        const long o = off + r * ldw;
        long avail = wlimit - o;
        if (avail < 0) avail = 0;
        if (avail > 64) avail = 64;
        if (avail > 0) memcpy(pad + r * 64, w + o, (size_t)avail);
        memset(pad + r * 64 + avail, 0, (size_t)(64 - avail));
    }
}

/// ctmp holds Cᵀ slices [4][16 weight rows][16 activation rows]: out[i*ldo + j] = sum of
/// activation row i and weight row j, for i < mr, j < nc; zero for nc ≤ j < 64 (ldo ≥ 64).
/// Slices at or past nc are not read.
static inline void rtk_amx_transpose_out(long mr, long nc, const int32_t *ctmp, int32_t *out, long ldo) {
    for (long i = 0; i < mr; i++) {
        int32_t *o = out + i * ldo;
        for (long j = 0; j < nc; j++) o[j] = ctmp[(j >> 4) * 256 + (j & 15) * 16 + i];
        for (long j = nc; j < 64; j++) o[j] = 0;
    }
}
#endif
