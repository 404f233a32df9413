// Horizontal sums shared by the x86 kernels: the int32 sum of a ymm vector (avx2.c, i8_pairs.c)
// and the float dot form's fixed tree over 16 lanes (avx2.c, avx512.c).
// Private to CKernels; include after <immintrin.h> and the RTK_AVX2 attribute macro.
#ifndef RTK_X86_HSUM_H
#define RTK_X86_HSUM_H

/// The sum of the eight int32 lanes of v (wrapping).
RTK_AVX2 static inline int32_t rtk_hsum8_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// The float dot form's tree sum of 16 lane sums, lanes 0-7 in lo and 8-15 in hi: 8 + 8, 4 + 4,
/// 2 + 2, 1 + 1, the order of the generic level's hsum (MathSIMD.swift), so that every level's
/// dot form gives the same bits.
RTK_AVX2 static inline float rtk_tree16_ps(__m256 lo, __m256 hi) {
    const __m256 a = _mm256_add_ps(lo, hi);
    const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
    return _mm_cvtss_f32(c) + _mm_cvtss_f32(_mm_shuffle_ps(c, c, 1));
}

#endif
