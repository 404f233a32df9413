// The AArch64 kernels of Sources/CKernels against scalar references, bit for bit:
// float32 microkernel vs an fmaf chain in the same order; int8 panel and row kernels
// (sdot and widening-multiply variants) vs int sums. Built for aarch64 and run under
// qemu-user by tools/check-neon-kernels.sh; exits 1 on any mismatch. With check_convert.c: what
// the converter runs in C (the SHA-256 instructions of Sources/CHash where the emulated CPU has
// them, and CKernels/quantize.c's encodings).
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
static unsigned long long st = 88172645463325252ULL;
static unsigned long long rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
static int fails = 0;
int check_sha256(void);     // check_convert.c
int check_encodings(void);  // check_convert.c
static int check_frows(int mr, int k, int nc);
int main(void) {
    int feat = rtk_cpu_features();
    printf("features %d (neon %d dot %d)\n", feat, !!(feat & RTK_CPU_NEON), !!(feat & RTK_CPU_DOTPROD));
    // f32 kernel
    // (up to 16 rows: the strips of 6 and the split of a last 7 to 9 rows)
    for (int rows = 1; rows <= 16; rows++) for (int nv = 1; nv <= 2; nv++) for (int kc = 0; kc < 40; kc += 13) {
        float A[16][64], B[64 * 32], C[16 * 32], R[16 * 32];
        const float *ap[16];
        for (int i = 0; i < 16; i++) { for (int p = 0; p < 64; p++) A[i][p] = (float)((int)(rnd() % 2001) - 1000) / 1000.f; ap[i] = A[i]; }
        for (int i = 0; i < 64 * 32; i++) B[i] = (float)((int)(rnd() % 2001) - 1000) / 1000.f;
        for (int acc = 0; acc < 2; acc++) {
            for (int i = 0; i < 16 * 32; i++) C[i] = R[i] = (float)(i % 7);
            rtk_neon_f32_kernel(rows, nv, kc, ap, 1, B, 32, C, 32, acc);
            for (int i = 0; i < rows; i++) for (int j = 0; j < 16 * nv; j++) {
                float s = acc ? R[i * 32 + j] : 0;
                for (int p = 0; p < kc; p++) s = fmaf(A[i][p], B[p * 32 + j], s);
                if (memcmp(&s, &C[i * 32 + j], 4)) { if (fails++ < 5) printf("f32 rows %d nv %d kc %d [%d,%d] %g vs %g\n", rows, nv, kc, i, j, C[i*32+j], s); }
            }
        }
    }
    // int8 panel kernels and packing
    for (int dot = 0; dot < 2; dot++) {
        if (dot && !(feat & RTK_CPU_DOTPROD)) { printf("no sdot: skipping dot kernels\n"); continue; }
        for (int nc = 1; nc <= 32; nc += 7) for (int kc = 1; kc < 300; kc += 37) for (int mr = 1; mr <= 8; mr++) {
            int kc4 = (kc + 3) / 4;
            static int8_t W[32 * 300], P[80 * 128], A[8][304];
            for (int i = 0; i < 32 * 300; i++) { W[i] = (int8_t)(rnd() & 0xff); }
            const int8_t *ap[8];
            for (int i = 0; i < 8; i++) { for (int p = 0; p < 304; p++) A[i][p] = p < kc ? (int8_t)((int)(rnd() % 255) - 127) : 0; ap[i] = A[i]; }
            rtk_pack_i8_panels(W, 300, nc, kc, P);
            float scale[8], C[8 * 32], C0[8 * 32];
            for (int i = 0; i < 8; i++) scale[i] = 0.5f + i;
            for (int acc = 0; acc < 2; acc++) {
                for (int i = 0; i < 8 * 32; i++) C[i] = C0[i] = (float)(i % 5);
                rtk_neon_i8_kernel(dot, mr, kc4, ap, P, scale, C, 32, acc);
                for (int i = 0; i < mr; i++) for (int j = 0; j < 32; j++) {
                    int s = 0;
                    if (j < nc) for (int p = 0; p < kc; p++) s += W[j * 300 + p] * A[i][p];
                    float e = (float)s * scale[i]; if (acc) e = e + C0[i * 32 + j];
                    if (memcmp(&e, &C[i * 32 + j], 4)) { if (fails++ < 5) printf("i8 dot %d nc %d kc %d mr %d [%d,%d] %g vs %g\n", dot, nc, kc, mr, i, j, C[i*32+j], e); }
                }
            }
        }
        // rows kernel
        for (int mr = 1; mr <= 6; mr++) for (int k = 1; k < 200; k += 23) {
            static int8_t W[20 * 200], A[6 * 256];
            int lda = 256, nc = 20; int32_t out[6 * 20];
            for (int i = 0; i < 20 * 200; i++) W[i] = (int8_t)(rnd() & 0xff);
            for (int i = 0; i < 6; i++) for (int p = 0; p < lda; p++) A[i * lda + p] = p < k ? (int8_t)((int)(rnd() % 255) - 127) : 0;
            rtk_neon_i8_rows(dot, mr, nc, k, A, lda, W, 200, out, 20);
            for (int i = 0; i < mr; i++) for (int j = 0; j < nc; j++) {
                int s = 0; for (int p = 0; p < k; p++) s += W[j * 200 + p] * A[i * lda + p];
                if (s != out[i * 20 + j]) { if (fails++ < 5) printf("rows dot %d mr %d k %d [%d,%d] %d vs %d\n", dot, mr, k, i, j, out[i*20+j], s); }
            }
        }
    }
    // float dot form: short rows, then rows past L1 (k > 1 024 for 6 rows), which go in
    // chunks, over more than one group of 16 weight rows
    for (int mr = 1; mr <= 6; mr++) for (int k = 1; k < 300; k += 41) fails += check_frows(mr, k, 9);
    static const int longK[][3] = {{6, 1000, 19}, {6, 1543, 37}, {1, 9000, 5}, {3, 6151, 20}, {5, 2048, 33}};
    for (int c = 0; c < 5; c++) fails += check_frows(longK[c][0], longK[c][1], longK[c][2]);
    printf("peak fma %g, i8 %d\n", rtk_neon_peak_fma(10), rtk_neon_peak_i8(0, 10));
    // int4 (Q4_0) W4A8: the portable C packing and kernel that the neon level runs, against
    // exact group sums and the fmaf chain read straight from the blocks (bit for bit)
    for (int nc = 1; nc <= 32; nc += 10) for (int ng = 1; ng <= 5; ng += 2) for (int mr = 1; mr <= 8; mr += 3) {
        static uint8_t W[32 * 5 * 18], P[5 * 1024];
        static float D[5 * 32];
        static int8_t A[8][160];
        static int32_t corr[8][5];
        const int8_t *ap[8]; const int32_t *cp[8];
        for (int j = 0; j < 32 * ng; j++) {
            uint8_t *b = W + j * 18;
            const uint16_t h = (uint16_t)(0x1000 + rnd() % 0x2000) | (uint16_t)((rnd() & 1) << 15);   // normal fp16 of either sign
            b[0] = (uint8_t)h; b[1] = (uint8_t)(h >> 8);
            for (int z = 0; z < 16; z++) b[2 + z] = (uint8_t)rnd();
        }
        for (int i = 0; i < 8; i++) {
            for (int p = 0; p < 160; p++) A[i][p] = (int8_t)((int)(rnd() % 255) - 127);
            for (int g = 0; g < ng; g++) { int t = 0; for (int p = 0; p < 32; p++) t += A[i][g * 32 + p]; corr[i][g] = 8 * t; }
            ap[i] = A[i]; cp[i] = corr[i];
        }
        rtk_q4_pack(W, ng * 18, nc, 0, ng, P, D);
        float C[8 * 32];
        rtk_q4_kernel_c(mr, ng, ap, cp, P, D, C, 32, 0);
        for (int i = 0; i < mr; i++) for (int j = 0; j < nc; j++) {
            float acc = 0;
            for (int g = 0; g < ng; g++) {
                const uint8_t *b = W + j * ng * 18 + g * 18;
                const float d = rtk_half_to_float((uint16_t)(b[0] | (b[1] << 8)));
                int sum = 0;
                for (int p = 0; p < 32; p++) sum += ((p < 16 ? (b[2 + p] & 15) : (b[2 + p - 16] >> 4)) - 8) * A[i][g * 32 + p];
                acc = fmaf((float)sum, d, acc);
            }
            if (memcmp(&acc, &C[i * 32 + j], 4)) { if (fails++ < 5) printf("q4 nc %d ng %d mr %d [%d,%d] %g vs %g\n", nc, ng, mr, i, j, C[i*32+j], acc); }
        }
    }
    fails += check_sha256();
    fails += check_encodings();
    printf("%s: %d failures\n", fails ? "FAIL" : "OK", fails);
    return fails != 0;
}

// The float dot form (rtk_neon_f32_rows_*) for mr rows, k inputs and nc weight rows against
// the generic level's arithmetic, reproduced here in scalar C. Returns the mismatches.
static int check_frows(int mr, int k, int nc) {
    static int8_t Wq[40 * 9000]; static float Wf[40 * 9000], A[6 * 9000];
    static float out[6 * 40], out2[6 * 40];
    int bad = 0;
    for (int i = 0; i < nc * k; i++) { Wq[i] = (int8_t)(rnd() & 0xff); Wf[i] = (float)((int)(rnd() % 2001) - 1000) / 999.f; }
    for (int i = 0; i < 6 * k; i++) A[i] = (float)((int)(rnd() % 2001) - 1000) / 1000.f;
    rtk_neon_f32_rows_i8(mr, nc, k, A, k, Wq, k, out, nc);
    rtk_neon_f32_rows_f32(mr, nc, k, A, k, Wf, k, out2, nc);
    for (int i = 0; i < mr; i++) for (int j = 0; j < nc; j++) for (int f = 0; f < 2; f++) {
        float s[16] = {0};
        const int k16 = k & ~15;
        for (int p = 0; p < k16; p++) s[p % 16] = fmaf(A[i * k + p], f ? Wf[j * k + p] : (float)Wq[j * k + p], s[p % 16]);
        float a8[8], b4[4], c2[2];
        for (int l = 0; l < 8; l++) a8[l] = s[l] + s[l + 8];
        for (int l = 0; l < 4; l++) b4[l] = a8[l] + a8[l + 4];
        for (int l = 0; l < 2; l++) c2[l] = b4[l] + b4[l + 2];
        float t = c2[0] + c2[1];
        for (int p = k16; p < k; p++) t = fmaf(A[i * k + p], f ? Wf[j * k + p] : (float)Wq[j * k + p], t);
        const float got = f ? out2[i * nc + j] : out[i * nc + j];
        if (memcmp(&t, &got, 4)) { if (bad++ < 5) printf("f32 rows %s mr %d k %d [%d,%d] %g vs %g\n", f ? "f32" : "i8", mr, k, i, j, got, t); }
    }
    return bad;
}
