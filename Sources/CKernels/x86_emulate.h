// Target attributes of the x86 kernels, and, in a build with RTK_EMULATE_AVX512 defined, the
// AVX-512 and VNNI intrinsics those kernels use, written on AVX2 + FMA + F16C from the
// instruction set reference (Intel SDM vol. 2), so that the avx512, avx512vnni and avxvnni
// levels run and are tested on a CPU that has only AVX2 (tools/check-x86-emulated.sh).
//
// Private to CKernels. Include after <immintrin.h>: the emulation replaces the intrinsic
// names and the __m512 / __m512i types with its own for the code that follows.
//
// Exactness: every integer operation is the instruction's own (wrapping or saturating as the
// manual says). Float operations act on the same lanes with the same single rounding
// (vfmadd on ymm halves is the zmm vfmadd lane by lane); conversions are exact or round to
// nearest as the hardware does. The one horizontal float sum (_mm512_reduce_add_ps) is a
// compiler sequence, not an instruction, and only the probe uses it, so its order of
// additions (halving: 256 + 256, 128 + 128, ...) does not matter. Masked loads read only the
// selected elements, as the hardware's fault suppression promises.
#ifndef RTK_X86_EMULATE_H
#define RTK_X86_EMULATE_H

#ifndef RTK_EMULATE_AVX512

/// A kernel function's target attribute: the features its instructions need.
#define RTK_X86_TARGET(features) __attribute__((target(features)))

#else

#include <string.h>

#define RTK_X86_TARGET(features) __attribute__((target("avx2,fma,f16c")))
#define RTK_EMU static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// 512-bit vectors as two ymm halves: h[0] holds bytes 0..31 (lanes 0..7 of int32), h[1] 32..63.
typedef struct { __m256i h[2]; } rtk_e512i;
typedef struct { __m256 h[2]; } rtk_e512;
#define __m512i rtk_e512i
#define __m512 rtk_e512

// ---- construction, loads and stores ----
RTK_EMU rtk_e512i rtk_e_set1_epi32(int x) { rtk_e512i r = {{_mm256_set1_epi32(x), _mm256_set1_epi32(x)}}; return r; }
RTK_EMU rtk_e512i rtk_e_set1_epi16(short x) { rtk_e512i r = {{_mm256_set1_epi16(x), _mm256_set1_epi16(x)}}; return r; }
RTK_EMU rtk_e512i rtk_e_set1_epi8(char x) { rtk_e512i r = {{_mm256_set1_epi8(x), _mm256_set1_epi8(x)}}; return r; }
RTK_EMU rtk_e512 rtk_e_set1_ps(float x) { rtk_e512 r = {{_mm256_set1_ps(x), _mm256_set1_ps(x)}}; return r; }
RTK_EMU rtk_e512i rtk_e_setzero_si512(void) { return rtk_e_set1_epi32(0); }
RTK_EMU rtk_e512 rtk_e_setzero_ps(void) { return rtk_e_set1_ps(0.0f); }
RTK_EMU rtk_e512i rtk_e_setr_epi32(int e0, int e1, int e2, int e3, int e4, int e5, int e6, int e7, int e8,
                                   int e9, int e10, int e11, int e12, int e13, int e14, int e15) {
    rtk_e512i r = {{_mm256_setr_epi32(e0, e1, e2, e3, e4, e5, e6, e7),
                    _mm256_setr_epi32(e8, e9, e10, e11, e12, e13, e14, e15)}};
    return r;
}
RTK_EMU rtk_e512i rtk_e_loadu_si512(const void *p) {
    rtk_e512i r = {{_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)((const char *)p + 32))}};
    return r;
}
RTK_EMU rtk_e512 rtk_e_loadu_ps(const void *p) {
    rtk_e512 r = {{_mm256_loadu_ps((const float *)p), _mm256_loadu_ps((const float *)p + 8)}};
    return r;
}
RTK_EMU void rtk_e_storeu_si512(void *p, rtk_e512i v) {
    _mm256_storeu_si256((__m256i *)p, v.h[0]);
    _mm256_storeu_si256((__m256i *)((char *)p + 32), v.h[1]);
}
RTK_EMU void rtk_e_storeu_ps(void *p, rtk_e512 v) { _mm256_storeu_ps((float *)p, v.h[0]); _mm256_storeu_ps((float *)p + 8, v.h[1]); }
/// The zero-masked loads (vmovdqu8 / vmovups / vmovdqu32 {k}{z}): `count` elements of `size`
/// bytes into out, element i copied from p where bit i of k is set and 0 elsewhere; unselected
/// elements are not read.
RTK_EMU void rtk_e_maskz_copy(void *out, const void *p, unsigned long long k, int count, int size) {
    memset(out, 0, (size_t)(count * size));
    for (int i = 0; i < count; i++)
        if ((k >> i) & 1) memcpy((char *)out + i * size, (const char *)p + i * size, (size_t)size);
}
RTK_EMU rtk_e512i rtk_e_maskz_loadu_epi8(unsigned long long k, const void *p) {
    unsigned char b[64];
    rtk_e_maskz_copy(b, p, k, 64, 1);
    return rtk_e_loadu_si512(b);
}
RTK_EMU rtk_e512 rtk_e_maskz_loadu_ps(unsigned short k, const void *p) {
    float f[16];
    rtk_e_maskz_copy(f, p, k, 16, 4);
    return rtk_e_loadu_ps(f);
}
RTK_EMU __m128i rtk_e_mm_maskz_loadu_epi8(unsigned short k, const void *p) {
    unsigned char b[16];
    rtk_e_maskz_copy(b, p, k, 16, 1);
    return _mm_loadu_si128((const __m128i *)b);
}
RTK_EMU __m128i rtk_e_mm_maskz_loadu_epi32(unsigned char k, const void *p) {
    int32_t d[4];
    rtk_e_maskz_copy(d, p, k, 4, 4);
    return _mm_loadu_si128((const __m128i *)d);
}

// ---- lane-wise operations: the AVX2 instruction on each half ----
#define RTK_E_BIN(name, T, op) RTK_EMU T name(T a, T b) { T r = {{op(a.h[0], b.h[0]), op(a.h[1], b.h[1])}}; return r; }
RTK_E_BIN(rtk_e_and_si512, rtk_e512i, _mm256_and_si256)
RTK_E_BIN(rtk_e_xor_si512, rtk_e512i, _mm256_xor_si256)
RTK_E_BIN(rtk_e_add_epi32, rtk_e512i, _mm256_add_epi32)
RTK_E_BIN(rtk_e_add_epi16, rtk_e512i, _mm256_add_epi16)
RTK_E_BIN(rtk_e_sub_epi32, rtk_e512i, _mm256_sub_epi32)
RTK_E_BIN(rtk_e_mullo_epi32, rtk_e512i, _mm256_mullo_epi32)
RTK_E_BIN(rtk_e_maddubs_epi16, rtk_e512i, _mm256_maddubs_epi16)
RTK_E_BIN(rtk_e_madd_epi16, rtk_e512i, _mm256_madd_epi16)
RTK_E_BIN(rtk_e_add_ps, rtk_e512, _mm256_add_ps)
RTK_E_BIN(rtk_e_mul_ps, rtk_e512, _mm256_mul_ps)
// vpunpck*: within each 128-bit lane, as on ymm
RTK_E_BIN(rtk_e_unpacklo_epi32, rtk_e512i, _mm256_unpacklo_epi32)
RTK_E_BIN(rtk_e_unpackhi_epi32, rtk_e512i, _mm256_unpackhi_epi32)
RTK_E_BIN(rtk_e_unpacklo_epi64, rtk_e512i, _mm256_unpacklo_epi64)
RTK_E_BIN(rtk_e_unpackhi_epi64, rtk_e512i, _mm256_unpackhi_epi64)
#undef RTK_E_BIN
RTK_EMU rtk_e512 rtk_e_fmadd_ps(rtk_e512 a, rtk_e512 b, rtk_e512 c) {
    rtk_e512 r = {{_mm256_fmadd_ps(a.h[0], b.h[0], c.h[0]), _mm256_fmadd_ps(a.h[1], b.h[1], c.h[1])}};
    return r;
}
RTK_EMU rtk_e512i rtk_e_srli_epi32(rtk_e512i a, int n) {
    rtk_e512i r = {{_mm256_srli_epi32(a.h[0], n), _mm256_srli_epi32(a.h[1], n)}};
    return r;
}
RTK_EMU rtk_e512i rtk_e_abs_epi8(rtk_e512i a) { rtk_e512i r = {{_mm256_abs_epi8(a.h[0]), _mm256_abs_epi8(a.h[1])}}; return r; }
RTK_EMU rtk_e512 rtk_e_cvtepi32_ps(rtk_e512i a) { rtk_e512 r = {{_mm256_cvtepi32_ps(a.h[0]), _mm256_cvtepi32_ps(a.h[1])}}; return r; }
/// vcvtph2ps zmm, ymm: 16 halves to floats (exact).
RTK_EMU rtk_e512 rtk_e_cvtph_ps(__m256i a) {
    rtk_e512 r = {{_mm256_cvtph_ps(_mm256_castsi256_si128(a)), _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1))}};
    return r;
}
/// vpmovsxbd zmm, xmm: 16 signed bytes to int32.
RTK_EMU rtk_e512i rtk_e_cvtepi8_epi32(__m128i a) {
    rtk_e512i r = {{_mm256_cvtepi8_epi32(a), _mm256_cvtepi8_epi32(_mm_srli_si128(a, 8))}};
    return r;
}
/// vpmovdw ymm, zmm: each int32 truncated to its low 16 bits.
RTK_EMU __m256i rtk_e_cvtepi32_epi16(rtk_e512i a) {
    int32_t d[16]; int16_t w[16];
    rtk_e_storeu_si512(d, a);
    for (int i = 0; i < 16; i++) w[i] = (int16_t)(uint16_t)(uint32_t)d[i];
    return _mm256_loadu_si256((const __m256i *)w);
}

// ---- casts, 128/256-bit lane moves ----
RTK_EMU __m256i rtk_e_castsi512_si256(rtk_e512i a) { return a.h[0]; }
RTK_EMU rtk_e512i rtk_e_castps_si512(rtk_e512 a) {
    rtk_e512i r = {{_mm256_castps_si256(a.h[0]), _mm256_castps_si256(a.h[1])}};
    return r;
}
RTK_EMU __m256i rtk_e_extracti64x4_epi64(rtk_e512i a, int i) { return a.h[i & 1]; }
/// vinserti32x4: 128-bit lane i (0..3) replaced by b.
RTK_EMU rtk_e512i rtk_e_inserti32x4(rtk_e512i a, __m128i b, int i) {
    __m128i l[4];
    _mm256_storeu_si256((__m256i *)&l[0], a.h[0]); _mm256_storeu_si256((__m256i *)&l[2], a.h[1]);
    l[i & 3] = b;
    return rtk_e_loadu_si512(l);
}
/// vshufi32x4: result lanes 0, 1 are a's lanes imm[1:0], imm[3:2]; lanes 2, 3 b's imm[5:4], imm[7:6].
RTK_EMU rtk_e512i rtk_e_shuffle_i32x4(rtk_e512i a, rtk_e512i b, int imm) {
    __m128i la[4], lb[4], r[4];
    rtk_e_storeu_si512(la, a); rtk_e_storeu_si512(lb, b);
    r[0] = la[imm & 3]; r[1] = la[(imm >> 2) & 3]; r[2] = lb[(imm >> 4) & 3]; r[3] = lb[(imm >> 6) & 3];
    return rtk_e_loadu_si512(r);
}

// ---- horizontal sums ----
RTK_EMU int rtk_e_reduce_add_epi32(rtk_e512i a) {
    int32_t d[16]; uint32_t s = 0;
    rtk_e_storeu_si512(d, a);
    for (int i = 0; i < 16; i++) s += (uint32_t)d[i];            // wrapping, as vpaddd
    return (int)s;
}
/// Halving order: 256 + 256, then 128 + 128, then lanes {0,1} + {2,3}, then 0 + 1.
RTK_EMU float rtk_e_reduce_add_ps(rtk_e512 a) {
    __m256 s8 = _mm256_add_ps(a.h[0], a.h[1]);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// ---- masks ----
/// vpmovb2m: bit i = sign bit of byte i.
RTK_EMU unsigned long long rtk_e_movepi8_mask(rtk_e512i a) {
    return (unsigned long long)(unsigned)_mm256_movemask_epi8(a.h[0])
         | (unsigned long long)(unsigned)_mm256_movemask_epi8(a.h[1]) << 32;
}
/// vmovdqa32 zmm{k}{z}: the int32 lanes whose mask bit is set, 0 elsewhere.
RTK_EMU rtk_e512i rtk_e_maskz_mov_epi32(unsigned short k, rtk_e512i a) {
    int32_t d[16];
    rtk_e_storeu_si512(d, a);
    for (int i = 0; i < 16; i++) if (!((k >> i) & 1)) d[i] = 0;
    return rtk_e_loadu_si512(d);
}
/// vpsubb zmm{k}: a − b (wrapping) in the bytes whose mask bit is set, src elsewhere.
RTK_EMU rtk_e512i rtk_e_mask_sub_epi8(rtk_e512i src, unsigned long long k, rtk_e512i a, rtk_e512i b) {
    unsigned char s[64], x[64], y[64];
    rtk_e_storeu_si512(s, src); rtk_e_storeu_si512(x, a); rtk_e_storeu_si512(y, b);
    for (int i = 0; i < 64; i++) if ((k >> i) & 1) s[i] = (unsigned char)(x[i] - y[i]);
    return rtk_e_loadu_si512(s);
}
/// vpgatherdd zmm{k}: lane i = *(int32 *)(base + index[i] · scale) where k selects it, else src.
RTK_EMU rtk_e512i rtk_e_mask_i32gather_epi32(rtk_e512i src, unsigned short k, rtk_e512i index, const void *base, int scale) {
    int32_t d[16], ix[16];
    rtk_e_storeu_si512(d, src); rtk_e_storeu_si512(ix, index);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) memcpy(&d[i], (const char *)base + (long)ix[i] * scale, 4);
    return rtk_e_loadu_si512(d);
}

// ---- VNNI ----
/// vpdpbusd on a ymm: each int32 lane of acc plus the four products of a's unsigned bytes and
/// b's signed bytes in that lane, wrapping (no saturation). Even and odd bytes are widened to
/// int16 (exact: 255 · 128 fits) and summed in pairs by vpmaddwd, whose int32 results are exact.
RTK_EMU __m256i rtk_e_dpbusd_ymm(__m256i acc, __m256i a, __m256i b) {
    const __m256i lo8 = _mm256_set1_epi16(0x00ff);
    const __m256i ae = _mm256_and_si256(a, lo8), ao = _mm256_srli_epi16(a, 8);
    const __m256i be = _mm256_srai_epi16(_mm256_slli_epi16(b, 8), 8), bo = _mm256_srai_epi16(b, 8);
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(ae, be), _mm256_madd_epi16(ao, bo)));
}
RTK_EMU rtk_e512i rtk_e_dpbusd_epi32(rtk_e512i acc, rtk_e512i a, rtk_e512i b) {
    rtk_e512i r = {{rtk_e_dpbusd_ymm(acc.h[0], a.h[0], b.h[0]), rtk_e_dpbusd_ymm(acc.h[1], a.h[1], b.h[1])}};
    return r;
}

// The names the kernels use. Some are macros in the compiler's headers: undefined first.
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 rtk_e_set1_epi32
#undef _mm512_set1_epi16
#define _mm512_set1_epi16 rtk_e_set1_epi16
#undef _mm512_set1_epi8
#define _mm512_set1_epi8 rtk_e_set1_epi8
#undef _mm512_set1_ps
#define _mm512_set1_ps rtk_e_set1_ps
#undef _mm512_setzero_si512
#define _mm512_setzero_si512 rtk_e_setzero_si512
#undef _mm512_setzero_ps
#define _mm512_setzero_ps rtk_e_setzero_ps
#undef _mm512_setr_epi32
#define _mm512_setr_epi32 rtk_e_setr_epi32
#undef _mm512_loadu_si512
#define _mm512_loadu_si512 rtk_e_loadu_si512
#undef _mm512_loadu_ps
#define _mm512_loadu_ps rtk_e_loadu_ps
#undef _mm512_storeu_si512
#define _mm512_storeu_si512 rtk_e_storeu_si512
#undef _mm512_storeu_ps
#define _mm512_storeu_ps rtk_e_storeu_ps
#undef _mm512_maskz_loadu_epi8
#define _mm512_maskz_loadu_epi8 rtk_e_maskz_loadu_epi8
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps rtk_e_maskz_loadu_ps
#undef _mm_maskz_loadu_epi8
#define _mm_maskz_loadu_epi8 rtk_e_mm_maskz_loadu_epi8
#undef _mm_maskz_loadu_epi32
#define _mm_maskz_loadu_epi32 rtk_e_mm_maskz_loadu_epi32
#undef _mm512_and_si512
#define _mm512_and_si512 rtk_e_and_si512
#undef _mm512_xor_si512
#define _mm512_xor_si512 rtk_e_xor_si512
#undef _mm512_add_epi32
#define _mm512_add_epi32 rtk_e_add_epi32
#undef _mm512_add_epi16
#define _mm512_add_epi16 rtk_e_add_epi16
#undef _mm512_maskz_mov_epi32
#define _mm512_maskz_mov_epi32 rtk_e_maskz_mov_epi32
#undef _mm512_sub_epi32
#define _mm512_sub_epi32 rtk_e_sub_epi32
#undef _mm512_mullo_epi32
#define _mm512_mullo_epi32 rtk_e_mullo_epi32
#undef _mm512_maddubs_epi16
#define _mm512_maddubs_epi16 rtk_e_maddubs_epi16
#undef _mm512_madd_epi16
#define _mm512_madd_epi16 rtk_e_madd_epi16
#undef _mm512_add_ps
#define _mm512_add_ps rtk_e_add_ps
#undef _mm512_mul_ps
#define _mm512_mul_ps rtk_e_mul_ps
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps rtk_e_fmadd_ps
#undef _mm512_unpacklo_epi32
#define _mm512_unpacklo_epi32 rtk_e_unpacklo_epi32
#undef _mm512_unpackhi_epi32
#define _mm512_unpackhi_epi32 rtk_e_unpackhi_epi32
#undef _mm512_unpacklo_epi64
#define _mm512_unpacklo_epi64 rtk_e_unpacklo_epi64
#undef _mm512_unpackhi_epi64
#define _mm512_unpackhi_epi64 rtk_e_unpackhi_epi64
#undef _mm512_srli_epi32
#define _mm512_srli_epi32 rtk_e_srli_epi32
#undef _mm512_abs_epi8
#define _mm512_abs_epi8 rtk_e_abs_epi8
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps rtk_e_cvtepi32_ps
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps rtk_e_cvtph_ps
#undef _mm512_cvtepi8_epi32
#define _mm512_cvtepi8_epi32 rtk_e_cvtepi8_epi32
#undef _mm512_cvtepi32_epi16
#define _mm512_cvtepi32_epi16 rtk_e_cvtepi32_epi16
#undef _mm512_castsi512_si256
#define _mm512_castsi512_si256 rtk_e_castsi512_si256
#undef _mm512_castps_si512
#define _mm512_castps_si512 rtk_e_castps_si512
#undef _mm512_extracti64x4_epi64
#define _mm512_extracti64x4_epi64 rtk_e_extracti64x4_epi64
#undef _mm512_inserti32x4
#define _mm512_inserti32x4 rtk_e_inserti32x4
#undef _mm512_shuffle_i32x4
#define _mm512_shuffle_i32x4 rtk_e_shuffle_i32x4
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32 rtk_e_reduce_add_epi32
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps rtk_e_reduce_add_ps
#undef _mm512_movepi8_mask
#define _mm512_movepi8_mask rtk_e_movepi8_mask
#undef _mm512_mask_sub_epi8
#define _mm512_mask_sub_epi8 rtk_e_mask_sub_epi8
#undef _mm512_mask_i32gather_epi32
#define _mm512_mask_i32gather_epi32 rtk_e_mask_i32gather_epi32
#undef _mm512_dpbusd_epi32
#define _mm512_dpbusd_epi32 rtk_e_dpbusd_epi32
#undef _mm256_dpbusd_epi32
#define _mm256_dpbusd_epi32 rtk_e_dpbusd_ymm
#undef _mm256_dpbusd_avx_epi32
#define _mm256_dpbusd_avx_epi32 rtk_e_dpbusd_ymm

#endif // RTK_EMULATE_AVX512
#endif // RTK_X86_EMULATE_H
