// The float dot form's walk over the weight rows (W8A32 and float weights with few activation
// rows: the generator's 6-row products), shared by avx2.c and neon.c; the arithmetic of each
// step is the level's own (its SPAN and FINISH macros). avx512.c's zmm loop does not chunk
// (four weight rows per pass, measured faster without chunks on a Zen 4).
//
// While the MR activation rows fit L1 (MR · k floats ≤ RTK_FROWS_L1_BYTES), each weight row
// runs over all of k. Beyond that (the generator's k = 1 536 and 6 144: 36 KB and 144 KB for
// 6 rows) they were read from L2 for every weight row, and L2's bandwidth bounded the loop.
// Then groups of RTK_FROWS_GROUP weight rows pass over k in chunks of RTK_FROWS_CHUNK values
// (6 rows × 2 KB, held in L1 while the group's rows use them), the lane sums of each weight
// row kept between chunks. Every lane still sums its p in increasing order, so the bits are
// those of the plain loop. Zen 3 (32 KB L1D), 6 rows, int8 weights streamed from memory, one
// thread, C loop, best of 5 (two runs): k = 6 144 45 -> 57 GFLOP/s, k = 1 536 57-58 -> 62-63;
// at k = 1 000 (24 KB) chunks had lost (60 -> 54), hence the threshold. Group and chunk:
// 8 x 256 and 32 x 256 ran like 16 x 512, chunks of 1 024 gained half as much. The NEON loop
// uses the same sizes, not measured on an ARM CPU (the Cortex-A72 has a 32 KB L1D too).
#ifndef RTK_FROWS_CHUNKS_H
#define RTK_FROWS_CHUNKS_H

#define RTK_FROWS_L1_BYTES 24576
#define RTK_FROWS_GROUP 16
#define RTK_FROWS_CHUNK 512

// The body of a row-form function (long nc, long k, const float *a, long lda, const T *w,
// long ldw, float *out, long ldo) for MR activation rows, each output's lane sums held in
// NV vectors of type VT (ZERO: a zeroed one). The level supplies
//   SPAN(LOAD, MR, wr, c0, c1, acc): adds weight row wr's lane sums over p in [c0, c1)
//     (multiples of 16) to acc[MR][NV], LOAD widening the weights;
//   FINISH(MR, wr, acc, j): out[i · ldo + j] = the tree sum of acc[i] plus the k % 16 tail.
// Both read a, lda, k, k16, out and ldo from the function.
#define RTK_FROWS_BODY(T, MR, VT, NV, ZERO, SPAN, LOAD, FINISH)                                  \
    const long k16 = k & ~15L;                                                                  \
    if ((long)(MR) * k16 * 4 <= RTK_FROWS_L1_BYTES) {                                           \
        for (long j = 0; j < nc; j++) {                                                         \
            const T *wr = w + j * ldw;                                                          \
            VT acc[MR][NV];                                                                     \
            for (int i = 0; i < (MR); i++) for (int v = 0; v < (NV); v++) acc[i][v] = (ZERO);   \
            SPAN(LOAD, MR, wr, 0, k16, acc)                                                     \
            FINISH(MR, wr, acc, j)                                                              \
        }                                                                                       \
        return;                                                                                 \
    }                                                                                           \
    VT kept[RTK_FROWS_GROUP][MR][NV];                                                           \
    for (long j0 = 0; j0 < nc; j0 += RTK_FROWS_GROUP) {                                         \
        const long nj = nc - j0 < RTK_FROWS_GROUP ? nc - j0 : RTK_FROWS_GROUP;                  \
        for (long c0 = 0; c0 < k16; c0 += RTK_FROWS_CHUNK) {                                    \
            const long c1 = c0 + RTK_FROWS_CHUNK < k16 ? c0 + RTK_FROWS_CHUNK : k16;            \
            for (long jj = 0; jj < nj; jj++) {                                                  \
                const T *wr = w + (j0 + jj) * ldw;                                              \
                VT acc[MR][NV];                                                                 \
                for (int i = 0; i < (MR); i++)                                                  \
                    for (int v = 0; v < (NV); v++) acc[i][v] = c0 ? kept[jj][i][v] : (ZERO);    \
                SPAN(LOAD, MR, wr, c0, c1, acc)                                                 \
                for (int i = 0; i < (MR); i++) for (int v = 0; v < (NV); v++) kept[jj][i][v] = acc[i][v]; \
            }                                                                                   \
        }                                                                                       \
        for (long jj = 0; jj < nj; jj++) {                                                      \
            const T *wr = w + (j0 + jj) * ldw;                                                  \
            FINISH(MR, wr, kept[jj], j0 + jj)                                                   \
        }                                                                                       \
    }

#endif
