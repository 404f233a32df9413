// The converter's weight encodings (per-row int8, Q4_0, f16), eight values at a time in clang's
// portable vector types (SSE2 on a baseline x86-64 build, NEON on AArch64; no target attributes,
// no dispatch). References: Quant.quantizeInt8PerRowScalar, quantizeQ4_0Scalar, toFloat16Scalar,
// whose stored bytes these reproduce bit for bit; the error sums differ only in the order of the
// float64 additions (eight lanes, then the tail).
#include "ckernels.h"
#include <math.h>

// No fused multiply-adds: each product and sum rounds on its own, as in the reference.
#pragma clang fp contract(off)

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8x32 __attribute__((vector_size(32)));
typedef double d8 __attribute__((vector_size(64)));
typedef int64_t l8 __attribute__((vector_size(64)));

// Helpers are macros: an 8-float vector passed to a function changes the ABI without AVX, which
// this file does not assume.
#define F8(v) ((f8){(v), (v), (v), (v), (v), (v), (v), (v)})
// m lanes are 0 or -1: a where set, else b
#define F8_SELECT(m, a, b) ((f8)(((m) & (i8x32)(a)) | (~(m) & (i8x32)(b))))
#define D8_SELECT(m, a, b) ((d8)(((m) & (l8)(a)) | (~(m) & (l8)(b))))

// Round to nearest, ties away from zero, for |v| <= 2^22: adding and subtracting 1.5 * 2^23 rounds
// to nearest-even exactly there; a tie (v - even = +-1/2, exact) goes to v +- 1/2, an integer.
#define ROUND_HALF_AWAY(v, out)                                                             \
    do {                                                                                    \
        const f8 even_ = ((v) + F8(12582912.0f)) - F8(12582912.0f), d_ = (v) - even_;       \
        const f8 away_ = (v) + F8_SELECT((v) < F8(0.0f), F8(-0.5f), F8(0.5f));              \
        (out) = F8_SELECT((d_ == F8(0.5f)) | (d_ == F8(-0.5f)), away_, even_);              \
    } while (0)

static inline float round_half_away1(float v) {
    const float even = (v + 12582912.0f) - 12582912.0f, d = v - even;
    return (d == 0.5f || d == -0.5f) ? v + (v < 0 ? -0.5f : 0.5f) : even;
}

// The error sums every encoding returns (sums[3] = {sum of e^2, sum of x^2, max |e|}, e = dequantized
// - x): eight float64 lanes over the vector loop, reduced lane by lane, then the tail added in order.
// Vectors go by pointer, for the ABI reason above.
typedef struct { d8 e2, x2, max; } err8;

static inline void err8_add(err8 *s, const f8 *x, const f8 *deq) {
    const d8 xd = __builtin_convertvector(*x, d8), e = __builtin_convertvector(*deq, d8) - xd;
    const d8 a = D8_SELECT(e < 0, -e, e);
    s->e2 += e * e;
    s->x2 += xd * xd;
    s->max = D8_SELECT(a > s->max, a, s->max);
}

static inline void err8_reduce(const err8 *s, double sums[3]) {
    sums[0] = sums[1] = sums[2] = 0;
    for (int l = 0; l < 8; l++) {
        sums[0] += s->e2[l];
        sums[1] += s->x2[l];
        sums[2] = sums[2] > s->max[l] ? sums[2] : s->max[l];
    }
}

static inline void err_add1(double sums[3], float x, float deq) {
    const double e = (double)deq - (double)x, a = fabs(e);
    sums[0] += e * e;
    sums[1] += (double)x * (double)x;
    sums[2] = sums[2] > a ? sums[2] : a;
}

void rtk_quantize_row_i8(const float *x, long n, float s, int8_t *q, double sums[3]) {
    err8 err = {{0}, {0}, {0}};
    const f8 sv = F8(s);
    long c = 0;
    for (; c + 8 <= n; c += 8) {
        f8 xv;
        __builtin_memcpy(&xv, x + c, sizeof xv);
        // x / s within +-128 first (the rounding's range; s may be the smallest subnormal), then +-127
        f8 v = xv / sv, r;
        v = F8_SELECT(v < F8(-128.0f), F8(-128.0f), v);
        v = F8_SELECT(v > F8(128.0f), F8(128.0f), v);
        ROUND_HALF_AWAY(v, r);
        r = F8_SELECT(r < F8(-127.0f), F8(-127.0f), r);
        r = F8_SELECT(r > F8(127.0f), F8(127.0f), r);
        const i8x32 qi = __builtin_convertvector(r, i8x32);
        for (int l = 0; l < 8; l++) q[c + l] = (int8_t)qi[l];
        const f8 deq = r * sv;
        err8_add(&err, &xv, &deq);
    }
    err8_reduce(&err, sums);
    for (; c < n; c++) {
        float v = x[c] / s;
        v = v < -128.0f ? -128.0f : v > 128.0f ? 128.0f : v;
        float r = round_half_away1(v);
        r = r < -127.0f ? -127.0f : r > 127.0f ? 127.0f : r;
        q[c] = (int8_t)r;
        err_add1(sums, x[c], r * s);
    }
}

float rtk_max_abs_f32(const float *x, long n) {
    f8 mv = F8(0.0f);
    long c = 0;
    for (; c + 8 <= n; c += 8) {
        f8 v;
        __builtin_memcpy(&v, x + c, sizeof v);
        v = F8_SELECT(v < F8(0.0f), -v, v);
        mv = F8_SELECT(v > mv, v, mv);
    }
    float m = 0;
    for (int l = 0; l < 8; l++) m = m > mv[l] ? m : mv[l];
    for (; c < n; c++) { const float a = fabsf(x[c]); m = m > a ? m : a; }
    return m;
}

// ---------------------------------------------------------------------------------------------
// Q4_0 (groups of 32, one fp16 scale d per group; the converter's --weights int4). The scales are
// chosen in Swift (the fp16 rounding and its overflow check); these two passes do the rest.

void rtk_q4_0_group_extremes(const float *x, long groups, float *m) {
    for (long g = 0; g < groups; g++) {
        const float *xg = x + 32 * g;
        const float top = rtk_max_abs_f32(xg, 32);
        float v = 0.0f;  // +0 for an all-zero group, as the reference's strict > leaves it
        if (top > 0)
            for (int p = 0; p < 32; p++)
                if (fabsf(xg[p]) == top) { v = xg[p]; break; }
        m[g] = v;
    }
}

void rtk_quantize_q4_0(const float *x, long groups, const float *d, uint8_t *blocks, double sums[3]) {
    err8 err = {{0}, {0}, {0}};
    for (long g = 0; g < groups; g++) {
        const float *xg = x + 32 * g;
        const f8 dv = F8(d[g]);
        int32_t nib[32];
        for (int h = 0; h < 4; h++) {
            f8 xv, r;
            __builtin_memcpy(&xv, xg + 8 * h, sizeof xv);
            if (d[g] != 0.0f) {
                f8 v = xv / dv;  // within about +-12 (d is m / -8 rounded to fp16); +-16 keeps the rounding in range
                v = F8_SELECT(v < F8(-16.0f), F8(-16.0f), v);
                v = F8_SELECT(v > F8(16.0f), F8(16.0f), v);
                ROUND_HALF_AWAY(v, r);
                r = F8_SELECT(r < F8(-8.0f), F8(-8.0f), r);
                r = F8_SELECT(r > F8(7.0f), F8(7.0f), r);
            } else {
                r = F8(0.0f);
            }
            const i8x32 qi = __builtin_convertvector(r, i8x32);
            for (int l = 0; l < 8; l++) nib[8 * h + l] = qi[l] + 8;
            const f8 deq = r * dv;
            err8_add(&err, &xv, &deq);
        }
        uint8_t *data = blocks + 18 * g + 2;
        for (int b = 0; b < 16; b++) data[b] = (uint8_t)(nib[b] | nib[b + 16] << 4);
    }
    err8_reduce(&err, sums);
}

// ---------------------------------------------------------------------------------------------
// float32 -> float16 (IEEE round to nearest even; the converter's --weights f16), by integer
// steps: a normal half takes the float's exponent rebiased and its mantissa rounded at bit 13
// (+0xfff, +1 if the kept part is odd; a carry moves into the exponent, up to infinity from
// 65520 on); a subnormal half or zero comes from adding 0.5f, whose rounding does the same at
// the subnormal step 2^-24. The way back is exact: rebias, and subnormals through -2^-14.

typedef uint32_t u8x32 __attribute__((vector_size(32)));

static inline uint16_t f32_to_f16_one(float x) {
    uint32_t u;
    __builtin_memcpy(&u, &x, 4);
    const uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint32_t o;
    if (u >= 0x47800000u) o = u > 0x7f800000u ? 0x7e00 : 0x7c00;  // >= 65536: infinity (NaN stays NaN)
    else if (u < 0x38800000u) {                                   // below 2^-14: subnormal or zero
        float t;
        __builtin_memcpy(&t, &u, 4);
        t += 0.5f;
        __builtin_memcpy(&o, &t, 4);
        o -= 0x3f000000u;
    } else o = (u + 0xc8000fffu + ((u >> 13) & 1)) >> 13;
    return (uint16_t)(o | sign >> 16);
}

static inline float f16_to_f32_one(uint16_t h) {
    uint32_t o = (uint32_t)(h & 0x7fff) << 13;
    const uint32_t exp = o & 0x0f800000u;
    o += 0x38000000u;
    float f;
    if (exp == 0) {  // subnormal or zero
        o += 1u << 23;
        __builtin_memcpy(&f, &o, 4);
        f -= 6.103515625e-05f;  // 2^-14
    } else {
        if (exp == 0x0f800000u) o += 0x38000000u;  // infinity or NaN
        __builtin_memcpy(&f, &o, 4);
    }
    return (h & 0x8000) ? -f : f;
}

int rtk_f32_to_f16(const float *x, long n, uint16_t *h, double sums[3]) {
    err8 err = {{0}, {0}, {0}};
    u8x32 inf = {0};
    long c = 0;
    for (; c + 8 <= n; c += 8) {
        f8 xv;
        __builtin_memcpy(&xv, x + c, sizeof xv);
        u8x32 u = (u8x32)xv;
        const u8x32 sign = u & 0x80000000u;
        u ^= sign;
        const u8x32 norm = (u + 0xc8000fffu + ((u >> 13) & 1)) >> 13;
        const u8x32 sub = (u8x32)((f8)(u & 0x7fffffffu) + F8(0.5f)) - 0x3f000000u;
        const i8x32 isSub = (i8x32)(u < 0x38800000u), isBig = (i8x32)(u >= 0x47800000u);
        u8x32 o = (u8x32)((isSub & (i8x32)sub) | (~isSub & (i8x32)norm));
        o = (u8x32)((isBig & 0x7c00) | (~isBig & (i8x32)o));  // finite inputs: >= 65536 is infinity
        inf |= (u8x32)((i8x32)(o == 0x7c00u));
        for (int l = 0; l < 8; l++) h[c + l] = (uint16_t)(o[l] | sign[l] >> 16);
        // back to float, exactly (o is finite here unless the inf flag is set)
        u8x32 b = o << 13;
        const i8x32 bSub = (i8x32)((b & 0x0f800000u) == 0);
        b += 0x38000000u;
        f8 back = (f8)(b + (u8x32)(bSub & (1 << 23)));
        back -= F8_SELECT(bSub, F8(6.103515625e-05f), F8(0.0f));
        back = (f8)((u8x32)back | sign);
        err8_add(&err, &xv, &back);
    }
    int overflow = 0;
    for (int l = 0; l < 8; l++) overflow |= inf[l] != 0;
    err8_reduce(&err, sums);
    for (; c < n; c++) {
        h[c] = f32_to_f16_one(x[c]);
        overflow |= (h[c] & 0x7fff) >= 0x7c00;
        err_add1(sums, x[c], f16_to_f32_one(h[c]));
    }
    return overflow;
}
