// A scalar model of the AMX tile instructions the int8 driver uses, and that driver built on
// it (rtk_amx_emu_strip), so the whole AMX code path runs bit for bit on any machine; plus the
// activation packing both drivers share. See include/ckernels.h.
//
// The model follows the architectural semantics: ldtilecfg validates the configuration and
// zeroes every tile; a tile has 16 rows of 64 bytes of which the first `rows` × `colsb` are
// live; loads and tdpbssd zero the rest of the destination (bytes past colsb, rows past
// rows); tdpbssd multiplies signed bytes by signed bytes and adds the four products of each
// dword group to the int32 accumulator with wrap-around. A misuse that raises #UD or #GP on
// the hardware (bad palette or shape, mismatched operand shapes, use before configuration)
// stops the process here too (__builtin_trap), since it is a bug in the driver.
#include "ckernels.h"
#include "amx_common.h"
#include <string.h>

void rtk_amx_emu_ldtilecfg(rtk_tile_state *s, const void *config) {
    const uint8_t *c = (const uint8_t *)config;
    memset(s, 0, sizeof *s);
    if (c[0] == 0) return;                             // palette 0: tiles released
    if (c[0] != 1 || c[1] != 0) __builtin_trap();      // only palette 1, no restart row
    for (int r = 2; r < 16; r++) if (c[r]) __builtin_trap();   // reserved bytes must be 0
    for (int t = 0; t < 8; t++) {
        const unsigned colsb = (unsigned)c[16 + 2 * t] | ((unsigned)c[17 + 2 * t] << 8);
        const unsigned rows = c[48 + t];
        if (colsb > 64 || rows > 16 || ((colsb == 0) != (rows == 0))) __builtin_trap();
        s->colsb[t] = (uint8_t)colsb;
        s->rows[t] = (uint8_t)rows;
    }
    s->configured = 1;
}

static void check_tile(const rtk_tile_state *s, int t) {
    if (!s->configured || t < 0 || t > 7 || s->rows[t] == 0) __builtin_trap();
}

void rtk_amx_emu_tilezero(rtk_tile_state *s, int t) {
    check_tile(s, t);
    memset(s->tile[t], 0, sizeof s->tile[t]);
}

void rtk_amx_emu_tileloadd(rtk_tile_state *s, int t, const void *base, long stride) {
    check_tile(s, t);
    const uint8_t *b = (const uint8_t *)base;
    memset(s->tile[t], 0, sizeof s->tile[t]);
    for (int r = 0; r < s->rows[t]; r++) memcpy(s->tile[t][r], b + r * stride, s->colsb[t]);
}

void rtk_amx_emu_tilestored(const rtk_tile_state *s, int t, void *base, long stride) {
    check_tile(s, t);
    uint8_t *b = (uint8_t *)base;
    for (int r = 0; r < s->rows[t]; r++) memcpy(b + r * stride, s->tile[t][r], s->colsb[t]);
}

void rtk_amx_emu_tdpbssd(rtk_tile_state *s, int c, int a, int b) {
    check_tile(s, c); check_tile(s, a); check_tile(s, b);
    if (c == a || c == b || a == b) __builtin_trap();
    const int m = s->rows[c], n = s->colsb[c] / 4, k = s->colsb[a] / 4;
    if (s->colsb[c] % 4 || s->colsb[a] % 4 || s->rows[a] != m || s->colsb[b] != s->colsb[c] || s->rows[b] != k)
        __builtin_trap();
    uint8_t out[16][64];
    memset(out, 0, sizeof out);
    for (int i = 0; i < m; i++) {
        const int8_t *ar = (const int8_t *)s->tile[a][i];
        for (int j = 0; j < n; j++) {
            uint32_t acc;
            memcpy(&acc, s->tile[c][i] + 4 * j, 4);
            for (int g = 0; g < k; g++) {
                const int8_t *br = (const int8_t *)s->tile[b][g] + 4 * j;
                const int32_t dot = ar[4 * g] * br[0] + ar[4 * g + 1] * br[1] + ar[4 * g + 2] * br[2]
                                  + ar[4 * g + 3] * br[3];
                acc += (uint32_t)dot;                  // wrap-around, like the hardware
            }
            memcpy(out[i] + 4 * j, &acc, 4);
        }
    }
    memcpy(s->tile[c], out, sizeof out);
}

void rtk_amx_emu_tilerelease(rtk_tile_state *s) { memset(s, 0, sizeof *s); }

void rtk_amx_pack_b(const int8_t *const *a, long mr, long kc, int8_t *out) {
    const long chunks = (kc + 63) / 64, kc4 = (kc + 3) / 4;
    memset(out, 0, (size_t)(chunks * 1024));
    for (long i = 0; i < mr; i++) {
        const int8_t *src = a[i];
        for (long g = 0; g < kc4; g++) {
            int8_t *dst = out + (g >> 4) * 1024 + (g & 15) * 64 + i * 4;
            if (4 * g + 4 <= kc) {
                memcpy(dst, src + 4 * g, 4);
            } else {
                for (long e = 0; 4 * g + e < kc; e++) dst[e] = src[4 * g + e];
            }
        }
    }
}

#define RTK_AMX_FN void rtk_amx_emu_strip
#define RTK_TILE_STATE rtk_tile_state ts_; memset(&ts_, 0, sizeof ts_);
#define RTK_TILE_CFG(p) rtk_amx_emu_ldtilecfg(&ts_, (p))
#define RTK_TILE_ZERO(t) rtk_amx_emu_tilezero(&ts_, (t))
#define RTK_TILE_LOAD(t, p, s) rtk_amx_emu_tileloadd(&ts_, (t), (p), (s))
#define RTK_TILE_DPBSSD(c, a, b) rtk_amx_emu_tdpbssd(&ts_, (c), (a), (b))
#define RTK_TILE_STORE(t, p, s) rtk_amx_emu_tilestored(&ts_, (t), (p), (s))
#define RTK_TILE_RELEASE() rtk_amx_emu_tilerelease(&ts_)
#define RTK_AMX_TRANSPOSE rtk_amx_transpose_out
#include "amx_driver.h"

void rtk_amx_transpose_out_c(long mr, long nc, const int32_t *ctmp, int32_t *out, long ldo) {
    rtk_amx_transpose_out(mr, nc, ctmp, out, ldo);
}
