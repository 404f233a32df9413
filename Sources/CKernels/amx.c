// The real AMX tile path (level `amx`): the tile-state permission request, the int8 strip
// driver on the tile instructions (amx_driver.h, shared with the emulator in amx_emu.c), and
// the tdpbssd probe. Every function carries its own target attribute, so this file builds
// for any -target-cpu; callers check RTK_CPU_AMX and rtk_amx_request() first.
#include "ckernels.h"
#include "amx_common.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include "x86_emulate.h"
#if defined(__linux__)
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define RTK_AMX_ATTR __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq")))
#define RTK_AVX512 RTK_X86_TARGET("avx512f,avx512bw,avx512vl,avx512dq")
#include "x86_transpose.h"

// The result slices back to rows with zmm 16 x 16 transposes (a scalar loop here would cost
// more than the tdpbssd that made the sums). Same contract as rtk_amx_transpose_out.
RTK_AVX512 void rtk_amx_transpose_out_avx512(long mr, long nc, const int32_t *ctmp, int32_t *out, long ldo) {
    for (long s = 0; s < 4; s++) {
        const long cols = nc - 16 * s;
        __m512i r[16];
        if (cols > 0) {
            for (int q = 0; q < 16; q++) r[q] = _mm512_loadu_si512((const void *)(ctmp + s * 256 + q * 16));
            transpose16(r);
        }
        const __mmask16 keep = cols >= 16 ? (__mmask16)0xFFFF : cols <= 0 ? 0 : (__mmask16)((1u << cols) - 1);
        for (long i = 0; i < mr; i++)
            _mm512_storeu_si512((void *)(out + i * ldo + 16 * s), _mm512_maskz_mov_epi32(keep, cols > 0 ? r[i] : _mm512_setzero_si512()));
    }
}

int rtk_amx_request(void) {
    if (!(rtk_cpu_features() & RTK_CPU_AMX)) return 0;
#if defined(__linux__)
    // Linux keeps the 8 KB tile data state off until a process asks for it (ARCH_REQ_XCOMP_PERM
    // with the XTILEDATA feature number); without it the first tile instruction faults.
    const long archReqXcompPerm = 0x1023, xfeatureXtiledata = 18;
    // (It fails with ENOSPC when a thread's signal stack is too small for the larger frames.)
    return syscall(SYS_arch_prctl, archReqXcompPerm, xfeatureXtiledata) == 0 ? 1 : -errno;
#else
    return -1;                                          // no known way to ask: stay on AVX-512
#endif
}

#define RTK_AMX_FN RTK_AMX_ATTR void rtk_amx_strip
#define RTK_TILE_STATE
#define RTK_TILE_CFG(p) _tile_loadconfig(p)
#define RTK_TILE_ZERO(t) _tile_zero(t)
#define RTK_TILE_LOAD(t, p, s) _tile_loadd(t, p, s)
#define RTK_TILE_DPBSSD(c, a, b) _tile_dpbssd(c, a, b)
#define RTK_TILE_STORE(t, p, s) _tile_stored(t, p, s)
#define RTK_TILE_RELEASE() _tile_release()
#define RTK_AMX_TRANSPOSE rtk_amx_transpose_out_avx512
#include "amx_driver.h"

RTK_AMX_ATTR int32_t rtk_amx_peak(long iterations) {
    uint8_t cfg[64];
    rtk_amx_config_full(cfg);
    int8_t a[1024], b[1024];
    for (int i = 0; i < 1024; i++) { a[i] = (int8_t)(i % 7 - 3); b[i] = (int8_t)(i % 5 - 2); }
    int32_t c[256];
    _tile_loadconfig(cfg);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_loadd(4, a, 64); _tile_loadd(5, a, 64);
    _tile_loadd(6, b, 64); _tile_loadd(7, b, 64);
    for (long it = 0; it < iterations; it++) {
        _tile_dpbssd(0, 4, 6);
        _tile_dpbssd(1, 4, 7);
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
    }
    int32_t s = 0;
    _tile_stored(0, c, 64); for (int i = 0; i < 256; i++) s += c[i];
    _tile_stored(1, c, 64); for (int i = 0; i < 256; i++) s += c[i];
    _tile_stored(2, c, 64); for (int i = 0; i < 256; i++) s += c[i];
    _tile_stored(3, c, 64); for (int i = 0; i < 256; i++) s += c[i];
    _tile_release();
    return s;
}

#else
// Other architectures have no tiles: never called (RTK_CPU_AMX is never set there).
int rtk_amx_request(void) { return 0; }
void rtk_amx_strip(long mr, long nc, long kc, const int8_t *bpack, const int8_t *w, long ldw, long wlimit,
                   int8_t *wpad, int32_t *ctmp, int32_t *out, long ldo) {
    (void)mr; (void)nc; (void)kc; (void)bpack; (void)w; (void)ldw; (void)wlimit; (void)wpad; (void)ctmp;
    (void)out; (void)ldo;
    __builtin_trap();
}
int32_t rtk_amx_peak(long iterations) { (void)iterations; __builtin_trap(); }
void rtk_amx_transpose_out_avx512(long mr, long nc, const int32_t *ctmp, int32_t *out, long ldo) {
    (void)mr; (void)nc; (void)ctmp; (void)out; (void)ldo;
    __builtin_trap();
}
#endif
