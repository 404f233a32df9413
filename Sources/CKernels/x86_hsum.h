// The horizontal int32 sum of a ymm vector, shared by the AVX2 kernels (avx2.c, i8_pairs.c).
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

#endif
