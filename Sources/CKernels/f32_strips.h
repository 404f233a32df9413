// Rows of the next strip of a 6-row float microkernel (avx2.c, neon.c) when `left` rows of a
// call remain: 6, except that the last 7 to 9 rows go as two strips of 4 + 3, 4 + 4 or 5 + 4.
// A strip of 1 to 3 rows keeps 2 to 6 FMA chains on ymm (4 to 12 on NEON's 4 × 4 lanes),
// too few to hide the FMA's latency on two pipes: attention hands these kernels 32 query rows
// and 8 value columns at once, which ended in strips of 2. C loop over L1-resident operands,
// Zen 3, one thread: 32 rows × 128 keys 90-91 -> 95 GFLOP/s, 8 rows 80-81 -> 92-94. The
// strip a row lands in does not change its FMA chain, so the bits are the same.
// The GEMM engine's Swift twin, `stripRows` (Gemm.swift), splits 7 and 8 the same way but
// leaves 9 as 6 + 3; it hands these kernels one strip per call, so this rule never re-cuts it.
#ifndef RTK_F32_STRIPS_H
#define RTK_F32_STRIPS_H

static inline long rtk_f32_strip6(long left) {
    return left > 9 ? 6 : left > 6 ? (left + 1) / 2 : left;
}

#endif
