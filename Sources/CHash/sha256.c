// SHA-256 block compression (FIPS 180-4, section 6.2.2) on the CPU's SHA instructions.
//
// x86-64 (SHA extensions: Intel since Goldmont and Ice Lake, AMD since Zen 1): the state is
// kept as two vectors, (a, b, e, f) and (c, d, g, h), the layout `sha256rnds2` works on; each
// `sha256rnds2` does two rounds, taking the two message words plus round constants from the
// low half of its third operand. The message schedule of four words at a time is
// `sha256msg1` (adds σ0), an `alignr` for the W[t-7] terms and `sha256msg2` (adds σ1).
//
// AArch64 (FEAT_SHA256: Cortex-A76/Pi 5 and most ARM servers; not the Pi 4's A72 build):
// the state stays (a, b, c, d) and (e, f, g, h); `sha256h`/`sha256h2` do four rounds and
// `sha256su0`/`sha256su1` extend the schedule by four words.
#include "chash.h"

static const uint32_t K256[64] = {  // FIPS 180-4, 4.2.2
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

const uint32_t *rtk_sha256_round_constants(void) { return K256; }

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int rtk_sha256_instructions(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ssse3 && sse41 && ((b >> 29) & 1) ? 1 : 0;
}

#define RTK_SHA_NI __attribute__((target("sha,ssse3,sse4.1")))

// Four rounds on the message quad m (words t…t+3) with their constants.
#define RTK_SHA_QUAD(m, t)                                                          \
    do {                                                                            \
        __m128i wk = _mm_add_epi32((m), _mm_loadu_si128((const __m128i *)(K256 + (t)))); \
        /* each rnds2 returns the new (a, b, e, f); the old one is the new (c, d, g, h) */ \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                                \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));      \
    } while (0)

RTK_SHA_NI static void blocks_shani(uint32_t state[8], const uint8_t *p, size_t blocks) {
    // Words are big-endian in the message: swap the bytes of each 32-bit lane.
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    // sha256rnds2 wants a in the top lane: abef holds lanes [f e b a] and cdgh [h g d c]
    // (lane 0 first). Comments below list lanes from lane 0.
    __m128i badc = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state), 0xB1);       // b a d c
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(state + 4)), 0x1B);  // h g f e
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);                                          // f e b a
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);                                       // h g d c
    for (size_t n = 0; n < blocks; n++, p += 64) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i w[4];
        for (int i = 0; i < 4; i++) {
            w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
            RTK_SHA_QUAD(w[i], 4 * i);
        }
        // Quads 4…15: w[q % 4] = σ-schedule of the four quads before it.
        for (int q = 4; q < 16; q++) {
            const __m128i x4 = w[q & 3], x3 = w[(q + 1) & 3], x2 = w[(q + 2) & 3], x1 = w[(q + 3) & 3];
            __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(x4, x3), _mm_alignr_epi8(x1, x2, 4));
            w[q & 3] = _mm_sha256msg2_epu32(t, x1);
            RTK_SHA_QUAD(w[q & 3], 4 * q);
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    const __m128i abef_ = _mm_shuffle_epi32(abef, 0x1B);  // a b e f
    const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);   // g h c d
    _mm_storeu_si128((__m128i *)state, _mm_blend_epi16(abef_, ghcd, 0xF0));         // a b c d
    _mm_storeu_si128((__m128i *)(state + 4), _mm_alignr_epi8(ghcd, abef_, 8));    // e f g h
}

void rtk_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t blocks) { blocks_shani(state, p, blocks); }

#elif defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif
int rtk_sha256_instructions(void) { return (getauxval(AT_HWCAP) & HWCAP_SHA2) ? 2 : 0; }
#elif defined(__APPLE__)
int rtk_sha256_instructions(void) { return 2; }  // every Apple arm64 CPU has them
#else
int rtk_sha256_instructions(void) { return 0; }
#endif

#define RTK_SHA2 __attribute__((target("sha2")))

RTK_SHA2 static void blocks_armv8(uint32_t state[8], const uint8_t *p, size_t blocks) {
    uint32x4_t abcd = vld1q_u32(state), efgh = vld1q_u32(state + 4);
    for (size_t n = 0; n < blocks; n++, p += 64) {
        const uint32x4_t abcd0 = abcd, efgh0 = efgh;
        uint32x4_t w[4];
        for (int q = 0; q < 16; q++) {
            if (q < 4) w[q] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * q)));
            else w[q & 3] = vsha256su1q_u32(vsha256su0q_u32(w[q & 3], w[(q + 1) & 3]), w[(q + 2) & 3], w[(q + 3) & 3]);
            const uint32x4_t wk = vaddq_u32(w[q & 3], vld1q_u32(K256 + 4 * q));
            const uint32x4_t before = abcd;
            abcd = vsha256hq_u32(abcd, efgh, wk);
            efgh = vsha256h2q_u32(efgh, before, wk);
        }
        abcd = vaddq_u32(abcd, abcd0);
        efgh = vaddq_u32(efgh, efgh0);
    }
    vst1q_u32(state, abcd);
    vst1q_u32(state + 4, efgh);
}

void rtk_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t blocks) { blocks_armv8(state, p, blocks); }

#else
int rtk_sha256_instructions(void) { return 0; }
void rtk_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t blocks) { (void)state; (void)p; (void)blocks; }
#endif
