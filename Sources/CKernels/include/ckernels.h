// C kernels of the Kernels module, one file per instruction family:
//   cpu.c     run-time feature detection (rtk_cpu_features)
//   avx512.c  AVX-512 float32 microkernel and packing; AVX-512 VNNI int8 kernels
//   avx2.c    AVX2 + FMA float32 microkernel, int8 kernels (sign trick), probes
//   neon.c    AArch64 float32 and int8 (sdot, or widening multiplies) kernels, probes
//   pack.c    plain-C weight packing shared by the avx2 and neon kernels
//   amx.c     AMX tile permission, int8 strip driver on the tile instructions, probe
//   amx_emu.c scalar model of the tile instructions and the same driver on it (any machine)
//   q4.c      int4 (Q4_0) weights: dequantization, nibble packing, W4A8 kernels, zmm row form
//   q4_rows_avx2.c  the int4 W4A8 row form on ymm (AVX-VNNI and AVX2)
//   q4_strips.c  int4 weights repacked into 16-column strips, and their zmm kernels
//   q4_strips_avx2.c  the panel form on strips with ymm registers (AVX-VNNI and AVX2)
//
// Every ISA-specific function is compiled with a per-function target attribute (or only
// on its architecture, with stubs elsewhere), so the target builds for any -target-cpu.
// Callers must check rtk_cpu_features() at run time before calling a kernel that needs a
// feature.
#ifndef RTK_CKERNELS_H
#define RTK_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Names the calling thread (shown by top, perf and debuggers); Linux takes at most 15 bytes.
void rtk_name_thread(const char *name);

/// Sequentially consistent atomics on a long, and a spin-wait hint, for the thread pool.
static inline long rtk_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void rtk_atomic_store(long *p, long v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline long rtk_atomic_add(long *p, long v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline void rtk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/// Prefetch the cache line at p for reading (any architecture; a hint only).
static inline void rtk_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
/// The same into the second-level cache only (prefetcht1 on x86).
static inline void rtk_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }
/// Prefetch the cache line at p for writing (prefetchw where the CPU has it, else a read
/// prefetch): a store to a line not in cache otherwise waits for the line to arrive.
static inline void rtk_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }
// Prefetches lines [l0, l1) of `bytes` bytes at p into L2 (line l = bytes [64·l, 64·l + 64),
// the last one clamped to the last byte).
static inline void rtk_prefetch_l2_lines(const void *p, long bytes, long l0, long l1) {
    const char *c = (const char *)p;
    for (long l = l0; l < l1; l++) __builtin_prefetch(c + (64 * l < bytes ? 64 * l : bytes - 1), 0, 2);
}

/// Rows of the next strip of a 6-row float microkernel (avx2.c, neon.c, and the Swift kernel's
/// narrow shapes in Microkernels.swift) when `left` rows of a call remain: 6, except that the
/// last 7 to 9 rows go as two strips of 4 + 3, 4 + 4 or 5 + 4. A strip of 1 to 3 rows keeps 2
/// to 6 FMA chains on ymm (4 to 12 on NEON's 4 × 4 lanes), too few to hide the FMA's latency
/// on two pipes: attention hands these kernels 32 query rows and 8 value columns at once,
/// which ended in strips of 2. C loop over L1-resident operands, Zen 3, one thread: 32 rows ×
/// 128 keys 90-91 -> 95 GFLOP/s, 8 rows 80-81 -> 92-94. The strip a row lands in does not
/// change its FMA chain, so the bits are the same. The GEMM engine's Swift twin, `stripRows`
/// (Gemm.swift), splits 7 and 8 the same way but leaves 9 as 6 + 3; it hands these kernels
/// one strip per call, so this rule never re-cuts it.
static inline long rtk_f32_strip6(long left) {
    return left > 9 ? 6 : left > 6 ? (left + 1) / 2 : left;
}

/// Width in bits of the widest vector registers the *including* build may use: 512 where it
/// targets AVX-512 (32 zmm registers), 256 for AVX or AVX2 (16 ymm), 128 otherwise (SSE's 16
/// xmm, NEON's 32 q registers). Evaluated by the compiler of the file that calls it, so from
/// Swift it reflects the Swift build's -target-cpu (Package.swift), not the C kernels' target
/// attributes; the Swift microkernels pick their register blocking with it (Microkernels.swift).
static inline int rtk_build_vector_bits(void) {
#if defined(__AVX512F__)
    return 512;
#elif defined(__AVX__)
    return 256;
#else
    return 128;
#endif
}

/// a·b + c in the portable C paths: fused (one rounding, the bits of every level) unless the
/// build targets a CPU without FMA (RTK_NO_FMA, set by Package.swift), where a fused form is a
/// libm routine per call; there a multiply and an add (as the Swift kernels' `addingMul`).
static inline float rtk_maddf(float a, float b, float c) {
#ifdef RTK_NO_FMA
    const float p = a * b;
    return p + c;
#else
    return __builtin_fmaf(a, b, c);
#endif
}

/// Feature bits of rtk_cpu_features().
enum {
    RTK_CPU_AVX2 = 1 << 0,         ///< AVX2 + FMA + F16C, with OS support for ymm state (xgetbv)
    RTK_CPU_AVX512 = 1 << 1,       ///< AVX-512 F+BW+VL+DQ with zmm state (implies AVX2)
    RTK_CPU_AVX512VNNI = 1 << 2,   ///< AVX512-VNNI vpdpbusd (implies AVX512)
    RTK_CPU_NEON = 1 << 3,         ///< AArch64 Advanced SIMD (always on AArch64)
    RTK_CPU_DOTPROD = 1 << 4,      ///< ARMv8.2 sdot/udot (Linux HWCAP_ASIMDDP)
    RTK_CPU_AVXVNNI = 1 << 5,      ///< AVX-VNNI: VEX-encoded ymm vpdpbusd (implies AVX2)
    RTK_CPU_AMX = 1 << 6,          ///< AMX-TILE + AMX-INT8 with tile state in XCR0 (implies AVX512VNNI)
};
/// The features of the CPU this process runs on (0 on other architectures).
int rtk_cpu_features(void);
/// 1 in a test build (RTK_EMULATE_AVX512) whose AVX-512 and VNNI kernels are emulated on AVX2,
/// and which then reports those features on any AVX2 CPU; 0 in every other build.
int rtk_avx512_emulated(void);

// ---- Float32 microkernels (all levels share these semantics) --------------------------
/// c[i*ldc + j] (= or +=) sum_{p<kc} a[i][p*astep] * b[p*ldb + j], i < rows (1...8),
/// j < 16*nv (nv 1 or 2). Each output is one fused multiply-add chain over p in increasing
/// order, starting from 0 (accumulate = 0) or from c: bit-identical across levels.
void rtk_avx512_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                           const float *b, long ldb, float *c, long ldc, int accumulate);
void rtk_avx2_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                         const float *b, long ldb, float *c, long ldc, int accumulate);
void rtk_neon_f32_kernel(long rows, long nv, long kc, const float *const *a, long astep,
                         const float *b, long ldb, float *c, long ldc, int accumulate);

/// Float dot form for mr (1...6) rows against nc rows of W (int8 widened, or float):
///   out[i*ldo + j] = sum_{p<k} a[i*lda + p] * W[j, p]
/// with the generic level's exact arithmetic (16 lane-wise FMA chains over 16-value chunks,
/// tree sum 8+8, 4+4, 2+2, 1+1, then the k % 16 tail as FMAs in order): bit-identical.
void rtk_avx2_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                          float *out, long ldo);
void rtk_avx2_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                           float *out, long ldo);
/// The same on zmm, four weight rows per pass. Requires RTK_CPU_AVX512.
void rtk_avx512_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                            float *out, long ldo);
void rtk_avx512_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                             float *out, long ldo);
void rtk_neon_f32_rows_i8(long mr, long nc, long k, const float *a, long lda, const int8_t *w, long ldw,
                          float *out, long ldo);
void rtk_neon_f32_rows_f32(long mr, long nc, long k, const float *a, long lda, const float *w, long ldw,
                           float *out, long ldo);

// ---- Plain-C packing (any architecture) ------------------------------------------------
/// Signed int8 panels: out[((jp*kc4 + g)*32 + jj)*4 + e] = W[jp*32 + jj, 4g + e] for
/// jp < ceil(nc/32), kc4 = ceil(kc/4); 0 beyond nc or kc. W row stride ldw bytes.
void rtk_pack_i8_panels(const int8_t *w, long ldw, long nc, long kc, int8_t *out);
/// Float panels, the layout of rtk_pack_f32_from_i8 below: with AVX2 8x8 transposes
/// (requires RTK_CPU_AVX2), and in plain C (any architecture).
void rtk_avx2_pack_f32_from_i8(const int8_t *w, long ldw, long nc, long kc, float *out);
void rtk_avx2_pack_f32_from_f32(const float *w, long ldw, long nc, long kc, float *out);
void rtk_pack_f32_from_i8_c(const int8_t *w, long ldw, long nc, long kc, float *out);
void rtk_pack_f32_from_f32_c(const float *w, long ldw, long nc, long kc, float *out);

// ---- Int8 kernels on signed panels (avxvnni, neon; dot form: avx2, neon) ----------------
/// Packs like rtk_pack_i8_panels, but unsigned: each byte is W + 128 (128 beyond nc or kc),
/// the operand layout of the ymm vpdpbusd kernels below.
void rtk_pack_u8_panels(const int8_t *w, long ldw, long nc, long kc, uint8_t *out);
/// AVX-VNNI (ymm vpdpbusd) panel kernel (mr rows, 1...8, x the 32 columns of one panel) and
/// dot form (as rtk_avx2_i8_rows below), on rtk_pack_u8_panels panels / raw weights + 128: the sums carry + 128 * sum(a), which the panel kernel
/// subtracts (corr[i] = 128 * sum of row i's bytes, as for rtk_vnni_kernel) and the row
/// kernel leaves to the caller. evex = 0: VEX encoding, requires RTK_CPU_AVXVNNI;
/// evex = 1: the same code EVEX-encoded, requires RTK_CPU_AVX512VNNI (to test it there).
void rtk_avxvnni_i8_kernel(int evex, long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                           const int32_t *corr, const float *scale, float *c, long ldc, int accumulate);
void rtk_avxvnni_i8_rows(int evex, long mr, long nc, long k, const int8_t *a, long lda,
                         const int8_t *w, long ldw, int32_t *out, long ldo);
/// mr rows (1...8) x 32 columns of one rtk_pack_i8_panels panel on AArch64:
///   acc[i, j] = sum_{p < 4*kc4} W[j, p] * a[i][p] (exact int32), c (= or +=) (float)acc * scale[i];
/// dot = 1 uses sdot (requires RTK_CPU_DOTPROD), 0 widening multiplies.
void rtk_neon_i8_kernel(int dot, long mr, long kc4, const int8_t *const *a, const int8_t *wpanel,
                        const float *scale, float *c, long ldc, int accumulate);
/// Dot form for mr (1...6) rows against nc rows of int8 W, no packing:
///   out[i*ldo + j] = sum_{p<k} W[j, p] * a[i*lda + p]   (exact int32)
/// a rows must be readable and zero for p in [k, roundup(k, 64)).
void rtk_avx2_i8_rows(long mr, long nc, long k, const int8_t *a, long lda,
                      const int8_t *w, long ldw, int32_t *out, long ldo);
void rtk_neon_i8_rows(int dot, long mr, long nc, long k, const int8_t *a, long lda,
                      const int8_t *w, long ldw, int32_t *out, long ldo);
/// The term of each row of int8 W [n, k] (row stride ldw) for rtk_avx2_i8_rows_t:
/// terms[j] = the sum of |w| over row j's negative weights (at most 128 · k).
void rtk_i8_negative_terms(long n, long k, const int8_t *w, long ldw, int32_t *terms);
/// rtk_avx2_i8_rows with W's row terms given (rtk_i8_negative_terms, pack.c) instead of summed
/// in the loop: the same exact sums (avx2.c). Requires RTK_CPU_AVX2.
void rtk_avx2_i8_rows_t(long mr, long nc, long k, const int8_t *a, long lda, const int8_t *w, long ldw,
                        const int32_t *terms, int32_t *out, long ldo);

// ---- The fused store of the int8 panel kernels -------------------------------------------
/// Passed (non-NULL) to a panel kernel for the last K block of a product whose epilogue only
/// scales columns (no bias, activation or column gate): the kernel's value v = float(acc -
/// corr) * scale (+ c when accumulate) then becomes v * ws[j] (+ out when accumulate here),
/// stored to out[i * ldo + j], c left untouched: the epilogue's own float steps in its order,
/// so the result is bit-identical to writing c and running the epilogue. NULL: store to c.
typedef struct { const float *ws; float *out; long ldo; int accumulate; } rtk_i8_final;

// ---- Int8 panel kernels in the pair form (avx2, avx512; i8_pairs.c explains the identity) --
/// Staging turns one rtk_pack_i8_panels panel (kc4 groups of 128 bytes) into what the pair
/// kernels read, rtk_i8_pairs_staged_bytes(kc4) bytes: kc4 groups of 128 int16, then 32 int32
/// column terms term[j] = sum_g W[j,4g]·W[j,4g+1] + W[j,4g+2]·W[j,4g+3]. In a group, column j
/// (8-column vector v = j/8, lane l = j%8) has the pair (W[j,4g+1], W[j,4g+3]) (added to x0, x2)
/// and, d int16 further, (W[j,4g], W[j,4g+2]) (added to x1, x3), at
///   zmm = 0 (ymm order, the AVX2 kernel):     offset v*32 + 2l,                  d = 16
///   zmm = 1 (zmm order, the AVX-512 kernel):  offset ((v/2)*4 + v%2)*16 + 2l,    d = 32
/// (the zmm order puts the pairs of columns 0-15, then 16-31, in one zmm each).
/// In plain C (any architecture) and with AVX2 (requires RTK_CPU_AVX2); the same values.
static inline long rtk_i8_pairs_staged_bytes(long kc4) { return kc4 * 256 + 128; }
void rtk_i8_pairs_stage_c(long kc4, const int8_t *panel, int16_t *out, int zmm);
void rtk_avx2_i8_pairs_stage(long kc4, const int8_t *panel, int16_t *out, int zmm);
/// Prepares one activation row (x: 4*kc4 readable signed bytes) for the pair kernel:
///   out[2g]     = int16 x[4g] | int16 x[4g+2] << 16
///   out[2g + 1] = int16 x[4g+1] | int16 x[4g+3] << 16
///   *rowTerm = sum_g x[4g]·x[4g+1] + x[4g+2]·x[4g+3]
/// In plain C (any architecture) and with AVX2 (requires RTK_CPU_AVX2); the same values.
void rtk_i8_pairs_prepare_c(long kc4, const int8_t *x, int32_t *out, int32_t *rowTerm);
void rtk_avx2_i8_pairs_prepare(long kc4, const int8_t *x, int32_t *out, int32_t *rowTerm);
/// The most rows the AVX2 pair kernel takes per call (its int32 sums hold this many rows).
#define RTK_I8_PAIRS_AVX2_MAX_ROWS 32
/// mr rows (prepared rows a[i]; 1...RTK_I8_PAIRS_AVX2_MAX_ROWS for the AVX2 kernel, 1...8 for
/// the others) x the 32 columns of one staged panel:
///   acc[i, j] = sum_{p < 4*kc4} W[j, p] * x_i[p]   (exact int32: pairs sum - rowTerm[i] - term[j])
///   c[i*ldc + j] (= or +=) (float)acc[i, j] * scale[i]    (or the fused store, fin non-NULL)
/// The plain C kernel is the reference, on panels of either order; the AVX2 kernel reads the
/// ymm order (requires RTK_CPU_AVX2), the AVX-512 one the zmm order (requires RTK_CPU_AVX512).
void rtk_i8_pairs_kernel_c(long mr, long kc4, const int32_t *const *a, const int16_t *staged,
                           const int32_t *rowTerm, const float *scale, float *c, long ldc, int accumulate, int zmm);
void rtk_avx2_i8_pairs_kernel(long mr, long kc4, const int32_t *const *a, const int16_t *staged, const int32_t *rowTerm,
                              const float *scale, float *c, long ldc, int accumulate, const rtk_i8_final *fin);
void rtk_avx512_i8_pairs_kernel(long mr, long kc4, const int32_t *const *a, const int16_t *staged, const int32_t *rowTerm,
                                const float *scale, float *c, long ldc, int accumulate, const rtk_i8_final *fin);

// ---- Peak probes: register-only loops; each returns a value that depends on every lane --
/// 12 independent ymm FMA chains per iteration (12 * 8 FMAs). Requires RTK_CPU_AVX2.
float rtk_avx2_peak_fma(long iterations);
/// 12 independent VEX vpdpbusd ymm chains (12 * 32 multiply-adds). Requires RTK_CPU_AVXVNNI.
int32_t rtk_avxvnni_peak(long iterations);
/// 12 independent chains of the pair kernel's vpaddw, vpaddw, vpmaddwd, vpaddd (12 * 32
/// multiply-adds counted as the int8 products they stand for). Requires RTK_CPU_AVX2.
int32_t rtk_avx2_peak_i8_pairs(long iterations);
/// The same 12 chains on zmm (12 * 64 multiply-adds). Requires RTK_CPU_AVX512.
int32_t rtk_avx512_peak_i8_pairs(long iterations);
/// 24 independent fmla chains (24 * 4 FMAs). Requires RTK_CPU_NEON.
float rtk_neon_peak_fma(long iterations);
/// dot = 1: 24 sdot chains (24 * 16 multiply-adds; requires RTK_CPU_DOTPROD);
/// dot = 0: 12 smull + smlal2 + sadalp chains (12 * 16 multiply-adds).
int32_t rtk_neon_peak_i8(int dot, long iterations);

/// Packs rows [0, nc) x columns [0, kc) of an int8 matrix W (row stride ldw bytes) into
/// float panels: out[(jp * kc + p) * 32 + jj] = (float)W[jp*32 + jj, p], jp < ceil(nc/32);
/// columns jj beyond nc are 0. Requires RTK_CPU_AVX512.
void rtk_pack_f32_from_i8(const int8_t *w, long ldw, long nc, long kc, float *out);

/// Same layout from a float matrix W (row stride ldw floats).
void rtk_pack_f32_from_f32(const float *w, long ldw, long nc, long kc, float *out);

/// Packs rows [0, nc) x columns [0, kc) of int8 W into VNNI panels of unsigned bytes:
/// out[((jp * kc4 + g) * 32 + jj) * 4 + e] = (uint8_t)(W[jp*32 + jj, 4g + e] + 128),
/// kc4 = ceil(kc/4); bytes beyond kc or nc are 128 (weight 0). Requires RTK_CPU_AVX512.
void rtk_pack_vnni(const int8_t *w, long ldw, long nc, long kc, uint8_t *out);

/// Microkernel, mr in 1...8 rows x 32 columns, int8 x int8 -> int32 via vpdpbusd:
///   acc[i, j] = sum_g sum_e wpanel[g, j, e] * a[i][4g + e]      (g < kc4)
///   c[i * ldc + j] (+)= (float)(acc[i, j] - corr[i]) * scale[i]
/// a[i] points at kc4*4 readable signed bytes of row i; wpanel is one 32-column panel
/// from rtk_pack_vnni; corr[i] = 128 * sum of those bytes. accumulate = 0 stores; fin
/// non-NULL: the fused store (rtk_i8_final). Requires RTK_CPU_AVX512VNNI.
void rtk_vnni_kernel(long mr, long kc4, const int8_t *const *a, const uint8_t *wpanel,
                     const int32_t *corr, const float *scale, float *c, long ldc, int accumulate,
                     const rtk_i8_final *fin);

/// Dot-form product for few rows (mr in 1...6) against nc rows of int8 W, without packing, by
/// the sign trick on zmm: out[i * ldo + j] = sum_p W[j, p] * a[i * lda + p], p < k.
/// a rows must be readable and zero for p in [k, roundup(k, 64)). Requires RTK_CPU_AVX512.
void rtk_avx512_i8_rows(long mr, long nc, long k, const int8_t *a, long lda,
                        const int8_t *w, long ldw, int32_t *out, long ldo);

/// Float register-only FMA loop for the peak measurement: runs `iterations` rounds of
/// 24 independent zmm FMAs; returns a value that depends on every lane (keeps it live).
/// Requires RTK_CPU_AVX512 (the int8 twin below, RTK_CPU_AVX512VNNI).
float rtk_peak_fma_f32(long iterations);
int32_t rtk_peak_vnni(long iterations);

// ---- AMX int8 (level amx; amx-emulated runs the same driver on a scalar tile model) ------
/// Asks the kernel for the tile data state (Linux: arch_prctl ARCH_REQ_XCOMP_PERM,
/// XTILEDATA): 1 when granted, 0 when the CPU lacks RTK_CPU_AMX, minus the errno of the
/// refusal otherwise. Call once per process before any thread runs a tile instruction.
int rtk_amx_request(void);
/// Packs the activations of a strip for the B tiles: mr (1...16) rows a[i] of kc signed
/// bytes into ceil(kc/64) chunks of 1024 bytes, out[q*1024 + g*64 + i*4 + e] = a[i][64q + 4g + e],
/// zero past kc and for rows past mr. a[i] must be readable up to kc rounded up to 4.
void rtk_amx_pack_b(const int8_t *const *a, long mr, long kc, int8_t *out);
/// Exact int32 sums of a strip of mr (1...16) activation rows against nc (1...64) weight rows:
///   out[i*ldo + j] = sum_{p<kc} W[j, p] * a[i][p]     (j < nc; 0 for nc <= j < 64; ldo >= 64)
/// with bpack from rtk_amx_pack_b, w = &W[first row, first column] (row stride ldw bytes),
/// wlimit = bytes readable from w (to the end of W); tiles may read any byte of W before
/// that, and a 16 x 64 read that would pass it is copied into wpad (1024 bytes) first.
/// ctmp: 1024 int32 of scratch. rtk_amx_strip runs the tile instructions (requires
/// rtk_amx_request() == 1); rtk_amx_emu_strip the same code on the scalar tile model.
void rtk_amx_strip(long mr, long nc, long kc, const int8_t *bpack, const int8_t *w, long ldw, long wlimit,
                   int8_t *wpad, int32_t *ctmp, int32_t *out, long ldo);
void rtk_amx_emu_strip(long mr, long nc, long kc, const int8_t *bpack, const int8_t *w, long ldw, long wlimit,
                       int8_t *wpad, int32_t *ctmp, int32_t *out, long ldo);
/// The drivers' last step, exposed for tests: ctmp = four Cᵀ tiles [4][16][16] int32 to
/// out[i*ldo + j] = ctmp[(j/16)*256 + (j%16)*16 + i] for i < mr, j < nc, 0 for nc <= j < 64
/// (ldo >= 64). _c: plain C (the model's); _avx512: zmm transposes (the hardware driver's;
/// requires RTK_CPU_AVX512).
void rtk_amx_transpose_out_c(long mr, long nc, const int32_t *ctmp, int32_t *out, long ldo);
void rtk_amx_transpose_out_avx512(long mr, long nc, const int32_t *ctmp, int32_t *out, long ldo);
/// 4 independent tdpbssd accumulator tiles per iteration (4 * 16 * 16 * 64 multiply-adds).
/// Requires rtk_amx_request() == 1.
int32_t rtk_amx_peak(long iterations);

/// The scalar tile model: eight tiles of 16 rows x 64 bytes and their configuration.
typedef struct {
    uint8_t tile[8][16][64];
    uint8_t rows[8], colsb[8];
    int configured;
} rtk_tile_state;
/// ldtilecfg: palette 1 (or 0 to release), per-tile rows (<= 16) and colsb (<= 64); zeroes every tile.
void rtk_amx_emu_ldtilecfg(rtk_tile_state *s, const void *config);
/// tilezero tmm t.
void rtk_amx_emu_tilezero(rtk_tile_state *s, int t);
/// tileloadd: rows x colsb bytes from base (row stride `stride` bytes); the rest of the tile 0.
void rtk_amx_emu_tileloadd(rtk_tile_state *s, int t, const void *base, long stride);
/// tilestored: rows x colsb bytes to base (row stride `stride` bytes).
void rtk_amx_emu_tilestored(const rtk_tile_state *s, int t, void *base, long stride);
/// tdpbssd c += a . b: c[i][j] (int32) += sum_{g < colsb(a)/4} sum_e a[i][4g+e] * b[g][4j+e].
void rtk_amx_emu_tdpbssd(rtk_tile_state *s, int c, int a, int b);
/// tilerelease: back to the unconfigured state.
void rtk_amx_emu_tilerelease(rtk_tile_state *s);


// ---- int4 weights (GGML Q4_0 blocks; q4.c) -----------------------------------------------
// A Q4_0 row of k weights is k/32 blocks of 18 bytes: an fp16 scale d, then 16 bytes whose
// low nibbles are the group's elements 0...15 and high nibbles its elements 16...31;
// W = (nibble - 8) * d.
/// fp16 bit pattern to float (exact).
float rtk_half_to_float(uint16_t h);
/// out[j*ldo + p] = W[j, p] as float (exact: a 4-bit integer times an fp16 scale), for
/// rows j < rows and groups*32 columns; rows start row_bytes apart.
void rtk_q4_dequant_rows(const uint8_t *w, long row_bytes, long rows, long groups, float *out, long ldo);
/// Unpacks groups [g0, g0+ng) of rows [0, nc) into panels of 32 columns:
/// panel [ceil(nc/32)][ng*8][32][4] unsigned nibbles (0...15; quad t of a group is its
/// elements 4t...4t+3), dpanel [ceil(nc/32)][ng][32] float scales. Columns past nc: 0.
void rtk_q4_pack(const uint8_t *w, long row_bytes, long nc, long g0, long ng, uint8_t *panel, float *dpanel);
/// The same packing with AVX-512 (16-column gathers) and AVX2 (8-column gathers).
void rtk_q4_pack_avx512(const uint8_t *w, long row_bytes, long nc, long g0, long ng, uint8_t *panel, float *dpanel);
void rtk_q4_pack_avx2(const uint8_t *w, long row_bytes, long nc, long g0, long ng, uint8_t *panel, float *dpanel);
/// W4A8 microkernel over one 32-column panel, rows (any count) x ng groups:
/// for each row i and column j, S_g = sum_{p<32} nib[j, g, p] * a[i][32g + p] - corr[i][g]
/// (corr = 8 * sum of the group's activations, so S_g is the exact int32 group sum of
/// (nib - 8) * a), then acc = fma((float)S_g, d[j, g], acc) in increasing g, acc starting
/// from 0 or from c (accumulate). Bit-identical across the three implementations.
void rtk_q4_kernel_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                     const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate);
void rtk_q4_kernel_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                        const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate);
void rtk_q4_kernel_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                        const uint8_t *panel, const float *dpanel, float *c, long ldc, int accumulate);
/// Row form of the W4A8 kernel (rows <= 8), straight from the Q4_0 rows (w: nc rows,
/// row_bytes apart, groups 0...ng-1), no panel: c[i*ldc + j] = the same fma chain of
/// (float)S_g * d[j, g] from 0 as rtk_q4_kernel_c, for j < ceil(nc/16)*16 (columns past nc
/// are written as 0, so c needs that many columns). Bit-identical among all of them:
/// rtk_q4_rows_vnni (zmm vpdpbusd, q4.c), rtk_q4_rows_avxvnni (ymm vpdpbusd: evex 0 the
/// AVX-VNNI encoding, 1 its AVX-512 VNNI twin) and rtk_q4_rows_avx2 (vpmaddubsw + vpmaddwd,
/// AVX2 + F16C), both in q4_rows_avx2.c.
void rtk_q4_rows_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                   const uint8_t *w, long row_bytes, long nc, float *c, long ldc);
void rtk_q4_rows_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long row_bytes, long nc, float *c, long ldc);
void rtk_q4_rows_avxvnni(int evex, long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                         const uint8_t *w, long row_bytes, long nc, float *c, long ldc);
void rtk_q4_rows_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long row_bytes, long nc, float *c, long ldc);
/// int4 weights in 16-column strips (q4_strips.c), for the row form: strip s holds columns
/// 16s...16s+15 as `groups` records of 288 bytes, one per group g of 32 inputs: the 16 fp16
/// scales (32 bytes, column order), then 4 x 64 bytes of nibble quads, quad t's bytes
/// 4j...4j+3 being column j's Q4_0 bytes 4t...4t+3 (low nibbles elements 4t..4t+3, high
/// nibbles 16+4t..16+4t+3). Columns past n are zero (scale and nibbles). One strip is
/// groups * 288 bytes, the same as its 16 Q4_0 rows; the strips follow one another.
/// rtk_q4x16_repack writes strips [s0, s1) of the n Q4_0 rows at w (row_bytes apart).
void rtk_q4x16_repack(const uint8_t *w, long row_bytes, long n, long groups, long s0, long s1, uint8_t *out);
/// The row form on strips (rows <= 8, w at the first of ceil(nc/16) strips of ng groups):
/// the same values, fma chains and bits as rtk_q4_rows_c on the Q4_0 rows, for
/// j < ceil(nc/16)*16. rtk_q4x16_rows_c is the portable reference; rtk_q4x16_rows_vnni runs
/// zmm vpdpbusd with no transposes (the layout is the registers' order).
void rtk_q4x16_rows_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                      const uint8_t *w, long nc, float *c, long ldc);
void rtk_q4x16_rows_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                         const uint8_t *w, long nc, float *c, long ldc);
/// The panel form on strips (any rows, 32 columns: strip sa gives columns 0...15, sb 16...31;
/// the caller offsets both, the activations and the corrections to its first group): the same
/// values and bits as rtk_q4_kernel_c on a packed panel of those columns, acc starting from 0
/// or from c (accumulate). rtk_q4x16_kernel_c is the portable reference.
void rtk_q4x16_kernel_c(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                        const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate);
void rtk_q4x16_kernel_vnni(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                           const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate);
/// The same on ymm registers (q4_strips_avx2.c): vpdpbusd ymm (evex 0 the AVX-VNNI encoding,
/// 1 its AVX-512 VNNI twin) and vpmaddubsw + vpmaddwd (AVX2 + F16C).
void rtk_q4x16_kernel_avxvnni(int evex, long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                              const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate);
void rtk_q4x16_kernel_avx2(long rows, long ng, const int8_t *const *a, const int32_t *const *corr,
                           const uint8_t *sa, const uint8_t *sb, float *c, long ldc, int accumulate);

/// The converter's int8 quantization of one row of n finite floats by the scale s > 0 (quantize.c):
/// q[c] = clamp(round(x[c] / s), -127, 127) with ties away from zero; sums = {sum of e^2, sum of x^2,
/// max |e|} in float64, e = float(q * s) - x. The reference is Quant.quantizeInt8PerRowScalar.
void rtk_quantize_row_i8(const float *x, long n, float s, int8_t *q, double sums[3]);

/// max |x[c]| over n floats (0 for n = 0).
float rtk_max_abs_f32(const float *x, long n);

/// Q4_0, pass 1: per group of 32 floats, the value of largest magnitude (the first of equals; +0
/// for an all-zero group) into m[groups].
void rtk_q4_0_group_extremes(const float *x, long groups, float *m);

/// Q4_0, pass 2: per group g of 32 floats and its scale d[g] (an fp16 value; 0 for a zero group),
/// the 16 nibble bytes at blocks + 18 g + 2 (elements 0-15 low, 16-31 high; nibble =
/// clamp(round(x / d), -8, 7) + 8, ties away from zero; 8 where d = 0). The two scale bytes of
/// each block are the caller's. sums as rtk_quantize_row_i8's, over all groups.
/// The reference is Quant.quantizeQ4_0Scalar.
void rtk_quantize_q4_0(const float *x, long groups, const float *d, uint8_t *blocks, double sums[3]);

/// n finite floats to IEEE half bit patterns h (round to nearest even), with sums as
/// rtk_quantize_row_i8's (e = half - x); returns 1 when a value rounds to infinity (|x| >= 65520;
/// h is then not meaningful), else 0. The reference is Quant.toFloat16Scalar (Swift's Float16).
int rtk_f32_to_f16(const float *x, long n, uint16_t *h, double sums[3]);

#ifdef __cplusplus
}
#endif
#endif
