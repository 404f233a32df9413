// The AMX int8 strip driver, written once and compiled twice: by amx.c with the real tile
// instructions and by amx_emu.c with the scalar emulator. The including file defines
//   RTK_AMX_FN          the function's name and attributes (a full declarator prefix)
//   RTK_TILE_STATE      declarations the tile macros need (the emulator's register file)
//   RTK_TILE_CFG(p)     ldtilecfg from a 64-byte configuration
//   RTK_TILE_ZERO(t)    tilezero tmm t
//   RTK_TILE_LOAD(t, p, s)  tileloadd tmm t from p, row stride s bytes
//   RTK_TILE_DPBSSD(c, a, b) tdpbssd tmm c += tmm a · tmm b (signed × signed)
//   RTK_TILE_STORE(t, p, s) tilestored tmm t to p, row stride s bytes
//   RTK_TILE_RELEASE()  tilerelease
//   RTK_AMX_TRANSPOSE   the Cᵀ → C copy (rtk_amx_transpose_out's contract): zmm transposes
//                       on the hardware path, plain C on the model
// Tile numbers are literals (the real instructions encode them).
//
// Layout (all tiles configured 16 rows × 64 bytes, once per call):
//   tmm0..3  C slices: int32 [16 weight rows][16 activation rows], i.e. Cᵀ of 16 output columns
//   tmm4, 5  A: 16 weight rows × 64 bytes of k, read straight from W (row stride ldw)
//   tmm6     B: the activations of one 64-byte k chunk, packed [16 k groups][16 rows][4]
// Rows of A past nc read neighbouring weight rows (their outputs are dropped); bytes of A
// past kc read the following k columns, which meet zero activations in B, so every
// retained sum is exact. A read that would pass the end of W goes through a zero-padded
// copy instead.

/// One 16-row slice S of A (tile AT) for chunk q: from W when the 16 × 64 bytes lie inside
/// W, else from the padded copy.
#define RTK_AMX_SLICE(S, AT)                                                                      \
    if (slices > S) {                                                                             \
        const long off = (S * 16) * ldw + q * 64;                                                 \
        if (off + 15 * ldw + 64 <= wlimit) {                                                      \
            RTK_TILE_LOAD(AT, w + off, ldw);                                                      \
        } else {                                                                                  \
            rtk_amx_pad_rows(w, ldw, wlimit, off, wpad);                                          \
            RTK_TILE_LOAD(AT, wpad, 64);                                                          \
        }                                                                                         \
        RTK_TILE_DPBSSD(S, AT, 6);                                                                \
    }

RTK_AMX_FN(long mr, long nc, long kc, const int8_t *bpack, const int8_t *w, long ldw, long wlimit,
           int8_t *wpad, int32_t *ctmp, int32_t *out, long ldo) {
    RTK_TILE_STATE
    uint8_t cfg[64];
    rtk_amx_config_full(cfg);
    RTK_TILE_CFG(cfg);
    const long slices = (nc + 15) / 16, chunks = (kc + 63) / 64;
    RTK_TILE_ZERO(0); RTK_TILE_ZERO(1); RTK_TILE_ZERO(2); RTK_TILE_ZERO(3);
    for (long q = 0; q < chunks; q++) {
        RTK_TILE_LOAD(6, bpack + q * 1024, 64);
        RTK_AMX_SLICE(0, 4)
        RTK_AMX_SLICE(1, 5)
        RTK_AMX_SLICE(2, 4)
        RTK_AMX_SLICE(3, 5)
    }
    RTK_TILE_STORE(0, ctmp, 64);
    if (slices > 1) RTK_TILE_STORE(1, ctmp + 256, 64);
    if (slices > 2) RTK_TILE_STORE(2, ctmp + 512, 64);
    if (slices > 3) RTK_TILE_STORE(3, ctmp + 768, 64);
    RTK_TILE_RELEASE();
    RTK_AMX_TRANSPOSE(mr, nc, ctmp, out, ldo);
}

#undef RTK_AMX_SLICE
