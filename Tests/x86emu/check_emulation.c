// Every intrinsic of Sources/CKernels/x86_emulate.h against a scalar model of its instruction,
// written lane by lane from the definitions in Intel's manual (plain C loops, no vector code):
// random and extreme inputs, every immediate, and masked loads and gathers whose unselected
// elements lie in a page that cannot be read (the fault suppression the kernels rely on).
// Built with -DRTK_EMULATE_AVX512 and run by tools/check-x86-emulated.sh; exits 1 on any
// mismatch.
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>
#include "x86_emulate.h"

#define EMU __attribute__((target("avx2,fma,f16c")))

static uint64_t st = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return st; }
static long checks = 0, fails = 0;
static void check(int ok, const char *what, int trial) {
    checks++;
    if (!ok && fails++ < 10) printf("MISMATCH %s (trial %d)\n", what, trial);
}
// Random bytes with the extremes (0, 1, 127, 128, 255) often.
static void fill(void *p, int n) {
    static const uint8_t ext[] = {0, 1, 0x7f, 0x80, 0xff};
    for (int i = 0; i < n; i++) ((uint8_t *)p)[i] = rnd() % 4 == 0 ? ext[rnd() % 5] : (uint8_t)rnd();
}
static int16_t sat16(int32_t x) { return x > 32767 ? 32767 : x < -32768 ? -32768 : (int16_t)x; }

EMU static void integer_ops(int t) {
    uint8_t a[64], b[64], c[64], r[64];
    fill(a, 64); fill(b, 64); fill(c, 64);
    __m512i va = _mm512_loadu_si512(a), vb = _mm512_loadu_si512(b), vc = _mm512_loadu_si512(c);
    int32_t A[16], B[16], C[16], R[16];
    memcpy(A, a, 64); memcpy(B, b, 64); memcpy(C, c, 64);
    int ok;
    // vpdpbusd: each int32 lane + four products of a's unsigned and b's signed bytes, wrapping
    _mm512_storeu_si512(R, _mm512_dpbusd_epi32(vc, va, vb));
    ok = 1;
    for (int i = 0; i < 16; i++) {
        uint32_t s = (uint32_t)C[i];
        for (int j = 0; j < 4; j++) s += (uint32_t)((int32_t)a[4 * i + j] * (int32_t)(int8_t)b[4 * i + j]);
        ok &= R[i] == (int32_t)s;
    }
    check(ok, "dpbusd zmm", t);
    __m256i y = _mm256_dpbusd_avx_epi32(_mm256_loadu_si256((const __m256i *)c), _mm256_loadu_si256((const __m256i *)a),
                                        _mm256_loadu_si256((const __m256i *)b));
    __m256i y2 = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i *)c), _mm256_loadu_si256((const __m256i *)a),
                                     _mm256_loadu_si256((const __m256i *)b));
    int32_t Y[8], Y2[8];
    _mm256_storeu_si256((__m256i *)Y, y); _mm256_storeu_si256((__m256i *)Y2, y2);
    check(!memcmp(Y, R, 32) && !memcmp(Y2, R, 32), "dpbusd ymm (VEX and EVEX names)", t);
    // vpmaddubsw: unsigned a × signed b, adjacent pairs summed with signed saturation
    int16_t W[32];
    _mm512_storeu_si512(W, _mm512_maddubs_epi16(va, vb));
    ok = 1;
    for (int i = 0; i < 32; i++) ok &= W[i] == sat16(a[2 * i] * (int8_t)b[2 * i] + a[2 * i + 1] * (int8_t)b[2 * i + 1]);
    check(ok, "maddubs_epi16", t);
    // vpmaddwd: signed words, pairs summed into int32 (0x8000·0x8000·2 wraps to INT32_MIN)
    int16_t a16[32], b16[32];
    memcpy(a16, a, 64); memcpy(b16, b, 64);
    _mm512_storeu_si512(R, _mm512_madd_epi16(va, vb));
    ok = 1;
    for (int i = 0; i < 16; i++)
        ok &= R[i] == (int32_t)(uint32_t)((int64_t)a16[2 * i] * b16[2 * i] + (int64_t)a16[2 * i + 1] * b16[2 * i + 1]);
    check(ok, "madd_epi16", t);
    // vpabsb (|−128| stays 0x80), vpaddw, vpaddd, vpsubd, vpmulld, vpand, vpxor
    _mm512_storeu_si512(r, _mm512_abs_epi8(va));
    ok = 1;
    for (int i = 0; i < 64; i++) ok &= r[i] == (uint8_t)((int8_t)a[i] < 0 ? -(int)(int8_t)a[i] : a[i]);
    check(ok, "abs_epi8", t);
    int16_t S16[32];
    _mm512_storeu_si512(S16, _mm512_add_epi16(va, vb));
    ok = 1;
    for (int i = 0; i < 32; i++) ok &= S16[i] == (int16_t)(uint16_t)((uint16_t)a16[i] + (uint16_t)b16[i]);
    check(ok, "add_epi16", t);
    int32_t Add[16], Sub[16], Mul[16], And[16], Xor[16];
    _mm512_storeu_si512(Add, _mm512_add_epi32(va, vb)); _mm512_storeu_si512(Sub, _mm512_sub_epi32(va, vb));
    _mm512_storeu_si512(Mul, _mm512_mullo_epi32(va, vb)); _mm512_storeu_si512(And, _mm512_and_si512(va, vb));
    _mm512_storeu_si512(Xor, _mm512_xor_si512(va, vb));
    ok = 1;
    for (int i = 0; i < 16; i++) {
        uint32_t x = (uint32_t)A[i], z = (uint32_t)B[i];
        ok &= Add[i] == (int32_t)(x + z) && Sub[i] == (int32_t)(x - z) && Mul[i] == (int32_t)(x * z)
            && And[i] == (int32_t)(x & z) && Xor[i] == (int32_t)(x ^ z);
    }
    check(ok, "add/sub/mullo/and/xor epi32", t);
    // vpsrld by an immediate (a count above 31 gives 0)
    ok = 1;
    for (int n = 0; n < 34; n++) {
        _mm512_storeu_si512(R, _mm512_srli_epi32(va, n));
        for (int i = 0; i < 16; i++) ok &= (uint32_t)R[i] == (n > 31 ? 0u : (uint32_t)A[i] >> n);
    }
    check(ok, "srli_epi32", t);
    // vpmovb2m, vpsubb{k}, vmovdqa32{k}{z}
    uint64_t m = _mm512_movepi8_mask(va), k64 = rnd();
    ok = 1;
    for (int i = 0; i < 64; i++) ok &= ((m >> i) & 1) == (uint64_t)(a[i] >> 7);
    check(ok, "movepi8_mask", t);
    _mm512_storeu_si512(r, _mm512_mask_sub_epi8(vc, k64, va, vb));
    ok = 1;
    for (int i = 0; i < 64; i++) ok &= r[i] == ((k64 >> i) & 1 ? (uint8_t)(a[i] - b[i]) : c[i]);
    check(ok, "mask_sub_epi8", t);
    uint16_t k16 = (uint16_t)rnd();
    _mm512_storeu_si512(R, _mm512_maskz_mov_epi32(k16, va));
    ok = 1;
    for (int i = 0; i < 16; i++) ok &= R[i] == ((k16 >> i) & 1 ? A[i] : 0);
    check(ok, "maskz_mov_epi32", t);
    // horizontal int32 sum, wrapping
    uint32_t s = 0;
    for (int i = 0; i < 16; i++) s += (uint32_t)A[i];
    check(_mm512_reduce_add_epi32(va) == (int32_t)s, "reduce_add_epi32", t);
}

EMU static void lane_moves(int t) {
    int32_t a[16], b[16], r[16];
    fill(a, 64); fill(b, 64);
    __m512i va = _mm512_loadu_si512(a), vb = _mm512_loadu_si512(b);
    int ok = 1;
    // vpunpck{l,h}{dq,qdq}: within each 128-bit lane L, the low (high) half of a and b interleaved
    _mm512_storeu_si512(r, _mm512_unpacklo_epi32(va, vb));
    for (int L = 0; L < 4; L++) for (int j = 0; j < 2; j++)
        ok &= r[4 * L + 2 * j] == a[4 * L + j] && r[4 * L + 2 * j + 1] == b[4 * L + j];
    _mm512_storeu_si512(r, _mm512_unpackhi_epi32(va, vb));
    for (int L = 0; L < 4; L++) for (int j = 0; j < 2; j++)
        ok &= r[4 * L + 2 * j] == a[4 * L + 2 + j] && r[4 * L + 2 * j + 1] == b[4 * L + 2 + j];
    int64_t a64[8], b64[8], r64[8];
    memcpy(a64, a, 64); memcpy(b64, b, 64);
    _mm512_storeu_si512(r64, _mm512_unpacklo_epi64(va, vb));
    for (int L = 0; L < 4; L++) ok &= r64[2 * L] == a64[2 * L] && r64[2 * L + 1] == b64[2 * L];
    _mm512_storeu_si512(r64, _mm512_unpackhi_epi64(va, vb));
    for (int L = 0; L < 4; L++) ok &= r64[2 * L] == a64[2 * L + 1] && r64[2 * L + 1] == b64[2 * L + 1];
    check(ok, "unpack lo/hi epi32/epi64", t);
    // vshufi32x4, every immediate: lanes 0, 1 from a, lanes 2, 3 from b
    ok = 1;
    for (int imm = 0; imm < 256; imm++) {
        _mm512_storeu_si512(r, _mm512_shuffle_i32x4(va, vb, imm));
        const int32_t *src[4] = {a, a, b, b};
        for (int L = 0; L < 4; L++) ok &= !memcmp(r + 4 * L, src[L] + 4 * ((imm >> (2 * L)) & 3), 16);
    }
    check(ok, "shuffle_i32x4", t);
    // vinserti32x4, vextracti64x4, the low 256 bits
    ok = 1;
    __m128i x = _mm_loadu_si128((const __m128i *)b);
    for (int L = 0; L < 4; L++) {
        _mm512_storeu_si512(r, _mm512_inserti32x4(va, x, L));
        for (int i = 0; i < 16; i++) ok &= r[i] == (i / 4 == L ? b[i % 4] : a[i]);
    }
    int32_t h[8];
    for (int H = 0; H < 2; H++) {
        _mm256_storeu_si256((__m256i *)h, _mm512_extracti64x4_epi64(va, H));
        ok &= !memcmp(h, a + 8 * H, 32);
    }
    _mm256_storeu_si256((__m256i *)h, _mm512_castsi512_si256(va));
    ok &= !memcmp(h, a, 32);
    check(ok, "inserti32x4/extracti64x4/castsi512_si256", t);
    // set1, setr, setzero
    ok = 1;
    _mm512_storeu_si512(r, _mm512_setr_epi32(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
                                             a[11], a[12], a[13], a[14], a[15]));
    ok &= !memcmp(r, a, 64);
    _mm512_storeu_si512(r, _mm512_set1_epi32(a[3]));
    for (int i = 0; i < 16; i++) ok &= r[i] == a[3];
    int16_t r16[32];
    _mm512_storeu_si512(r16, _mm512_set1_epi16((short)a[4]));
    for (int i = 0; i < 32; i++) ok &= r16[i] == (int16_t)a[4];
    int8_t r8[64];
    _mm512_storeu_si512(r8, _mm512_set1_epi8((char)a[5]));
    for (int i = 0; i < 64; i++) ok &= r8[i] == (int8_t)a[5];
    _mm512_storeu_si512(r, _mm512_setzero_si512());
    for (int i = 0; i < 16; i++) ok &= r[i] == 0;
    check(ok, "set1/setr/setzero", t);
}

EMU static void conversions(int t) {
    int8_t b8[16]; int32_t a[16], r[16]; float f[16], g[16], h[16], o[16];
    fill(b8, 16); fill(a, 64);
    int ok = 1;
    _mm512_storeu_si512(r, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b8)));
    for (int i = 0; i < 16; i++) ok &= r[i] == b8[i];
    check(ok, "cvtepi8_epi32", t);
    int16_t w[16];
    _mm256_storeu_si256((__m256i *)w, _mm512_cvtepi32_epi16(_mm512_loadu_si512(a)));
    ok = 1;
    for (int i = 0; i < 16; i++) ok &= (uint16_t)w[i] == (uint16_t)(uint32_t)a[i];
    check(ok, "cvtepi32_epi16 (truncation)", t);
    _mm512_storeu_ps(f, _mm512_cvtepi32_ps(_mm512_loadu_si512(a)));
    ok = 1;
    for (int i = 0; i < 16; i++) ok &= f[i] == (float)a[i];       // round to nearest, as C
    check(ok, "cvtepi32_ps", t);
    uint16_t hb[16];
    fill(hb, 32);
    _mm512_storeu_ps(f, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)hb)));
    ok = 1;
    for (int i = 0; i < 16; i++) {                                 // the scalar F16C instruction
        float e = _cvtsh_ss(hb[i]);
        ok &= isnan(e) ? isnan(f[i]) : !memcmp(&e, &f[i], 4);
    }
    check(ok, "cvtph_ps", t);
    for (int i = 0; i < 16; i++) {
        f[i] = (float)((int)(rnd() % 20001) - 10000) / 97.0f;
        g[i] = (float)((int)(rnd() % 20001) - 10000) / 89.0f;
        h[i] = (float)((int)(rnd() % 20001) - 10000) / 83.0f;
    }
    __m512 vf = _mm512_loadu_ps(f), vg = _mm512_loadu_ps(g), vh = _mm512_loadu_ps(h);
    ok = 1;
    _mm512_storeu_ps(o, _mm512_fmadd_ps(vf, vg, vh));
    for (int i = 0; i < 16; i++) { float e = fmaf(f[i], g[i], h[i]); ok &= !memcmp(&e, &o[i], 4); }
    _mm512_storeu_ps(o, _mm512_add_ps(vf, vg));
    for (int i = 0; i < 16; i++) { float e = f[i] + g[i]; ok &= !memcmp(&e, &o[i], 4); }
    _mm512_storeu_ps(o, _mm512_mul_ps(vf, vg));
    for (int i = 0; i < 16; i++) { float e = f[i] * g[i]; ok &= !memcmp(&e, &o[i], 4); }
    _mm512_storeu_ps(o, _mm512_set1_ps(f[2]));
    for (int i = 0; i < 16; i++) ok &= !memcmp(&o[i], &f[2], 4);
    _mm512_storeu_ps(o, _mm512_setzero_ps());
    for (int i = 0; i < 16; i++) ok &= o[i] == 0.0f && !signbit(o[i]);
    _mm512_storeu_si512(r, _mm512_castps_si512(vf));
    ok &= !memcmp(r, f, 64);
    check(ok, "fmadd/add/mul/set1/setzero ps, castps_si512", t);
    double sum = 0, mag = 0;
    for (int i = 0; i < 16; i++) { sum += f[i]; mag += fabs(f[i]); }
    check(fabs(_mm512_reduce_add_ps(vf) - sum) <= 1e-6 * mag, "reduce_add_ps (within 16 roundings)", t);
}

// Masked loads and the gather near a page that cannot be read: the selected elements end at
// the page's last byte, and every unselected one lies beyond it (or far from `base`).
EMU static void masked(unsigned char *page, long ps, int t) {
    unsigned char *end = page + ps;                                // the first unreadable byte
    int n = 1 + (int)(rnd() % 63);                                 // readable bytes at the end
    unsigned char *p = end - n;
    fill(p, n);
    uint64_t k = n == 64 ? ~0ULL : (1ULL << n) - 1;
    k &= rnd() | rnd();                                            // a random subset of those
    uint8_t r[64];
    _mm512_storeu_si512(r, _mm512_maskz_loadu_epi8(k, p));
    int ok = 1;
    for (int i = 0; i < 64; i++) ok &= r[i] == ((k >> i) & 1 ? p[i] : 0);
    check(ok, "maskz_loadu_epi8", t);
    int nf = 1 + (int)(rnd() % 15);
    float *pf = (float *)end - nf;
    fill(pf, 4 * nf);
    uint16_t kf = (uint16_t)(((1u << nf) - 1) & (uint32_t)rnd());
    float of[16];
    _mm512_storeu_ps(of, _mm512_maskz_loadu_ps(kf, pf));
    ok = 1;
    for (int i = 0; i < 16; i++) ok &= (kf >> i) & 1 ? !memcmp(&of[i], &pf[i], 4) : of[i] == 0.0f && !signbit(of[i]);
    check(ok, "maskz_loadu_ps", t);
    int nb = 1 + (int)(rnd() % 15);
    uint16_t kb = (uint16_t)(((1u << nb) - 1) & (uint32_t)rnd());
    uint8_t r16[16];
    _mm_storeu_si128((__m128i *)r16, _mm_maskz_loadu_epi8(kb, end - nb));
    ok = 1;
    for (int i = 0; i < 16; i++) ok &= r16[i] == ((kb >> i) & 1 ? end[i - nb] : 0);
    check(ok, "_mm_maskz_loadu_epi8", t);
    int nd = 1 + (int)(rnd() % 3);
    uint8_t kd = (uint8_t)(((1u << nd) - 1) & (uint32_t)rnd());
    int32_t r4[4];
    _mm_storeu_si128((__m128i *)r4, _mm_maskz_loadu_epi32(kd, (int32_t *)end - nd));
    ok = 1;
    for (int i = 0; i < 4; i++) ok &= (kd >> i) & 1 ? !memcmp(&r4[i], end - 4 * nd + 4 * i, 4) : r4[i] == 0;
    check(ok, "_mm_maskz_loadu_epi32", t);
    // vpgatherdd{k}: selected lanes read base + index·scale (within the page); unselected
    // lanes keep src and have indices that would land in the unreadable page
    static const int scales[4] = {1, 2, 4, 8};
    const int scale = scales[rnd() % 4];
    const unsigned char *base = end - 4096 + 64;
    int32_t idx[16], src[16], out[16];
    fill(src, 64);
    uint16_t kg = (uint16_t)rnd();
    for (int i = 0; i < 16; i++)
        idx[i] = (kg >> i) & 1 ? (int)(rnd() % ((4096 - 64 - 4) / scale)) : (int)((4096 - 64) / scale + 1 + rnd() % 64);
    _mm512_storeu_si512(out, _mm512_mask_i32gather_epi32(_mm512_loadu_si512(src), kg, _mm512_loadu_si512(idx), base, scale));
    ok = 1;
    for (int i = 0; i < 16; i++) {
        int32_t e = src[i];
        if ((kg >> i) & 1) memcpy(&e, base + (long)idx[i] * scale, 4);
        ok &= out[i] == e;
    }
    check(ok, "mask_i32gather_epi32", t);
}

int main(void) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps < 4096) ps = 4096;
    unsigned char *m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + ps, ps, PROT_NONE) != 0) { perror("check_emulation: mmap"); return 1; }
    for (int t = 0; t < 20000; t++) { integer_ops(t); lane_moves(t); conversions(t); masked(m, ps, t); }
    printf("x86 emulation: %ld checks, %ld failures\n", checks, fails);
    return fails != 0;
}
