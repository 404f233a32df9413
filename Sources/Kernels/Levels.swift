// The dispatch table: for each instruction-set level, the kernels it runs and what it needs
// from the CPU. A new level is one more row here (see "Adding a level" in docs/kernels.md);
// the GEMM engine and the probes only call through `KernelSet`.
import CKernels

/// Float microkernel: c[i*ldc + j] (= or +=) Σ_{p<kc} a[i][p*aStep] · b[p*ldb + j], i < rows
/// (≤ 8), j < 16·nv; accumulate 0 stores.
typealias F32KernelFn = (_ rows: Int, _ nv: Int, _ kc: Int, _ a: UnsafePointer<UnsafePointer<Float>?>, _ aStep: Int,
                         _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                         _ accumulate: Int32) -> Void
/// Float panels [ceil(nc/32)][kc][32] from W rows (row stride ldw elements): (w, ldw, nc, kc, out).
typealias PackI8Fn = (UnsafePointer<Int8>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void
typealias PackF32Fn = (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void
/// Float dot form (mr ≤ 6 rows): out[i*ldo + j] = Σ_{p<k} a[i*lda + p] · W[j, p].
typealias F32RowsFn<W> = (_ mr: Int, _ nc: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                          _ w: UnsafePointer<W>, _ ldw: Int, _ out: UnsafeMutablePointer<Float>, _ ldo: Int) -> Void
/// Int8 weight panels of the level's int8 kernel: (w, ldw, nc, kc, out bytes).
typealias PackPanelsFn = (UnsafePointer<Int8>, Int, Int, Int, UnsafeMutableRawPointer) -> Void
/// What an int8 panel kernel call (mr ≤ 8 rows × one 32-column panel) shares with the other
/// calls of its K block, filled by the caller once per block. The tile `c` and the fused
/// store `fin` change with every call and go as arguments: read back from memory right after
/// being stored, they cost a stalled load per call (a closure with thirteen arguments passed
/// seven of them on the stack, and its thunk's 16-byte reloads waited behind the previous
/// call's output stores: 4 % of an `avx512` W8A8 decoder step).
struct I8Call {
    /// Groups of four inputs in the K block.
    var kc4 = 0
    /// The strip's rows (mr pointers: int8, or the pair form's prepared rows).
    var a: UnsafePointer<UnsafePointer<Int8>?>
    /// What the kernel removes from its raw sums per row: 128·Σq for biased kernels, the row
    /// terms of the pair form; unused otherwise.
    var corr: UnsafePointer<Int32>
    /// Per-row activation scales.
    var scale: UnsafePointer<Float>
    /// Row stride of the tile.
    var ldc = 0
    var accumulate: Int32 = 0
}
/// Int8 panel kernel: (mr, panel, c, fin, call). c[i*ldc + j] (= or +=) float(Σ W·a) ·
/// scale[i], the sum exact. A non-nil `fin` (only when `KernelSet.I8.fuses`): the last K
/// block of a product whose epilogue only scales columns; then × the column scales (+ the
/// output) into the output instead of c, bit for bit what the epilogue would.
typealias I8KernelFn = (Int, UnsafeRawPointer, UnsafeMutablePointer<Float>, UnsafePointer<rtk_i8_final>?,
                        UnsafePointer<I8Call>) -> Void
/// Prepares one K block of one int8 row for a panel kernel: arguments (kc4, 4·kc4 int8 in,
/// 8·kc4 bytes out, the block's correction out).
typealias I8PrepareFn = (Int, UnsafePointer<Int8>, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> Void
/// Int8 dot form (mr ≤ 6 rows): out[i*ldo + j] = Σ_{p<k} W'[j, p] · a[i*lda + p], W' = W
/// (or W + 128 for biased kernels); arguments (mr, nc, k, a, lda, w, ldw, out, ldo).
typealias I8RowsFn = (Int, Int, Int, UnsafePointer<Int8>, Int, UnsafePointer<Int8>, Int,
                      UnsafeMutablePointer<Int32>, Int) -> Void
/// `I8RowsFn` given the weight rows' terms (`I8RowTerms`): (mr, nc, k, a, lda, w, ldw, terms of
/// those nc rows, out, ldo).
typealias I8RowsWithTermsFn = (Int, Int, Int, UnsafePointer<Int8>, Int, UnsafePointer<Int8>, Int,
                               UnsafePointer<Int32>, UnsafeMutablePointer<Int32>, Int) -> Void

/// The kernel implementations of one level (chosen once per context).
struct KernelSet {
    /// Float panel packing (`packF32`): with the level's transposes, or in plain C.
    struct Pack {
        var fromI8: PackI8Fn
        var fromF32: PackF32Fn
    }
    /// The W8A8 kernels of the panel and row forms.
    struct I8 {
        /// Packs a weight block for `kernel` (for the generic level: float panels).
        var pack: PackPanelsFn
        /// The panel kernel; nil for the generic level, whose blocks run `floatExactBlock`.
        var kernel: I8KernelFn?
        var rows: I8RowsFn
        /// The kernels sum (W + 128)·q: the caller's correction 128·Σq is subtracted.
        var isBiased: Bool
        /// Rows per `kernel` call: 8, or up to `maxStripRows` for a kernel that passes its
        /// rows over the panel in chunks (the AVX2 pair kernel: each chunk is then read from
        /// L2 once per 32 rows instead of once per 8).
        var stripRows = 8
        /// The most rows any kernel takes per call: the AVX2 pair kernel's, whose int32 sums
        /// hold 32 rows (`RTK_I8_PAIRS_AVX2_MAX_ROWS`, one definition for C and Swift).
        static let maxStripRows = Int(RTK_I8_PAIRS_AVX2_MAX_ROWS)
        /// `kernel` can fuse the epilogue of products that only scale columns (its `fin`);
        /// false: the epilogue runs on the tile afterwards.
        var fuses = false
        /// Turns one K block of an int8 row into what `kernel` reads (twice the bytes) and
        /// returns its correction (the pair form; `prepareRow`); nil: the kernel reads int8 rows.
        var prepare: I8PrepareFn?

        /// Turns one packed panel into the form `kernel` reads, once per (task, K block) (the
        /// pair form widens its weights); nil: the kernel reads packed panels.
        var stage: Stage?
        /// `rows` with the weight rows' terms given (`I8RowTerms`), the same sums; nil: the
        /// level's `rows` needs no terms.
        var rowsWithTerms: I8RowsWithTermsFn? = nil
        struct Stage {
            /// Bytes of one staged panel of kc4 groups.
            var bytes: (Int) -> Int
            /// (kc4, packed panel, staged panel out).
            var run: (Int, UnsafeRawPointer, UnsafeMutableRawPointer) -> Void
        }

        /// Bytes of one panel as the kernel reads it: packed (kc4 groups of 128 bytes), or staged.
        func kernelPanelBytes(kc4: Int) -> Int { stage?.bytes(kc4) ?? kc4 * 128 }
        /// Float FMAs on int8 values: exact while every partial sum stays below 2^24.
        var isFloatExact: Bool { kernel == nil }
    }
    /// Where the AMX tile driver runs.
    enum Tiles { case hardware, emulated }

    var f32: F32KernelFn
    /// Rows per strip of the float panel form (the microkernel's natural height).
    var f32Strip: Int
    var pack: Pack
    var f32RowsI8: F32RowsFn<Int8>
    var f32RowsF32: F32RowsFn<Float>
    var i8: I8
    /// Non-nil: W8A8 products of both forms go to the AMX driver (`amxPanelGemmI8`,
    /// `amxRowGemmI8`) instead of `i8`.
    var tiles: Tiles?
    /// The register-only loops of `reptok bench kernels`: the float FMAs the level issues,
    /// and its int8 multiply-add (nil when it has none).
    var fp32Probe: Probes.Loop
    var int8Probe: Probes.Loop?
    /// The int4 (Q4_0) W4A8 microkernel and nibble unpacking (`GemmQ4.swift`); portable C
    /// unless a level sets its own.
    var q4 = Q4Level(kernel: .c, pack: .c)

    /// How the W8A8 panel form wants its int8 rows prepared before `panelGemmI8` (`prepareRow`):
    /// `i8.prepare`, unless the products go to the AMX driver, which reads int8 rows as they are.
    var panelRowPrepare: I8PrepareFn? { tiles == nil ? i8.prepare : nil }

    init(_ isa: ISA) { self = LevelTable.kernels(isa) }
    init(f32: @escaping F32KernelFn, f32Strip: Int, pack: Pack, f32RowsI8: @escaping F32RowsFn<Int8>,
         f32RowsF32: @escaping F32RowsFn<Float>, i8: I8, tiles: Tiles? = nil, fp32Probe: Probes.Loop,
         int8Probe: Probes.Loop?) {
        self.f32 = f32; self.f32Strip = f32Strip; self.pack = pack; self.f32RowsI8 = f32RowsI8
        self.f32RowsF32 = f32RowsF32; self.i8 = i8; self.tiles = tiles; self.fp32Probe = fp32Probe
        self.int8Probe = int8Probe
    }

    /// c[i*ldc + j] (= or +=) Σ_{p<kc} a[i][p*aStep] · b[p*ldb + j], i < rows (any count: the level's
    /// kernel runs them in strips of `f32Strip`),
    /// j < 16·nv: one FMA chain per output in p order on every level.
    @inline(__always)
    func f32Kernel(rows: Int, nv: Int, kc: Int, a: UnsafePointer<UnsafePointer<Float>>, aStep: Int,
                   b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                   accumulate: Bool) {
        let ap = UnsafeRawPointer(a).assumingMemoryBound(to: UnsafePointer<Float>?.self)
        f32(rows, nv, kc, ap, aStep, b, ldb, c, ldc, accumulate ? 1 : 0)
    }
}

/// One row per level.
enum LevelTable {
    /// The `RTK_CPU_*` bits a level needs (`amx` also needs the OS's tile grant, see `ISA`).
    static func required(_ isa: ISA) -> Int {
        switch isa {
        case .amx: return Int(RTK_CPU_AMX | RTK_CPU_AVX512VNNI | RTK_CPU_AVX512 | RTK_CPU_AVX2)
        case .avx512vnni: return Int(RTK_CPU_AVX512VNNI | RTK_CPU_AVX512 | RTK_CPU_AVX2)
        case .avx512: return Int(RTK_CPU_AVX512 | RTK_CPU_AVX2)
        case .avxvnni:
            // testing: the EVEX twin of the AVX-VNNI kernels on AVX-512 VNNI machines
            if ISA._avxvnniThroughEVEX && ISA.features & Int(RTK_CPU_AVX512VNNI) != 0 { return Int(RTK_CPU_AVX512VNNI) }
            return Int(RTK_CPU_AVXVNNI | RTK_CPU_AVX2)
        case .avx2: return Int(RTK_CPU_AVX2)
        case .neondot: return Int(RTK_CPU_NEON | RTK_CPU_DOTPROD)
        case .neon: return Int(RTK_CPU_NEON)
        case .generic, .amxEmulated: return 0
        }
    }

    // The pieces several levels share.
    static let avx512F32: F32KernelFn = { rtk_avx512_f32_kernel($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) }
    static let avx2F32: F32KernelFn = { rtk_avx2_f32_kernel($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) }
    static let neonF32: F32KernelFn = { rtk_neon_f32_kernel($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) }
    static let swiftF32: F32KernelFn = { rows, nv, kc, a, aStep, b, ldb, c, ldc, acc in
        f32Microkernel(rows: rows, nv: nv, kc: kc,
                       a: UnsafeRawPointer(a).assumingMemoryBound(to: UnsafePointer<Float>.self), aStep: aStep,
                       b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc != 0)
    }
    static let avx512Pack = KernelSet.Pack(fromI8: { rtk_pack_f32_from_i8($0, $1, $2, $3, $4) },
                                           fromF32: { rtk_pack_f32_from_f32($0, $1, $2, $3, $4) })
    static let avx2Pack = KernelSet.Pack(fromI8: { rtk_avx2_pack_f32_from_i8($0, $1, $2, $3, $4) },
                                         fromF32: { rtk_avx2_pack_f32_from_f32($0, $1, $2, $3, $4) })
    static let cPack = KernelSet.Pack(fromI8: { rtk_pack_f32_from_i8_c($0, $1, $2, $3, $4) },
                                      fromF32: { rtk_pack_f32_from_f32_c($0, $1, $2, $3, $4) })
    static let swiftRowsI8: F32RowsFn<Int8> = { rowDots(mr: $0, nc: $1, k: $2, a: $3, lda: $4, w: $5, ldw: $6, out: $7, ldo: $8) }
    static let swiftRowsF32: F32RowsFn<Float> = { rowDots(mr: $0, nc: $1, k: $2, a: $3, lda: $4, w: $5, ldw: $6, out: $7, ldo: $8) }
    static let avx512RowsI8: F32RowsFn<Int8> = { rtk_avx512_f32_rows_i8($0, $1, $2, $3, $4, $5, $6, $7, $8) }
    static let avx512RowsF32: F32RowsFn<Float> = { rtk_avx512_f32_rows_f32($0, $1, $2, $3, $4, $5, $6, $7, $8) }
    static let avx2RowsI8: F32RowsFn<Int8> = { rtk_avx2_f32_rows_i8($0, $1, $2, $3, $4, $5, $6, $7, $8) }
    static let avx2RowsF32: F32RowsFn<Float> = { rtk_avx2_f32_rows_f32($0, $1, $2, $3, $4, $5, $6, $7, $8) }
    static let neonRowsI8: F32RowsFn<Int8> = { rtk_neon_f32_rows_i8($0, $1, $2, $3, $4, $5, $6, $7, $8) }
    static let neonRowsF32: F32RowsFn<Float> = { rtk_neon_f32_rows_f32($0, $1, $2, $3, $4, $5, $6, $7, $8) }

    static let vnniI8 = KernelSet.I8(
        pack: { rtk_pack_vnni($0, $1, $2, $3, $4.assumingMemoryBound(to: UInt8.self)) },
        kernel: { mr, p, c, fin, k in
            rtk_vnni_kernel(mr, k.pointee.kc4, k.pointee.a, p.assumingMemoryBound(to: UInt8.self), k.pointee.corr,
                            k.pointee.scale, c, k.pointee.ldc, k.pointee.accumulate, fin)
        },
        // The dot form (few rows, each weight row streamed once from memory) runs the ymm
        // kernel of the avxvnni level, EVEX-encoded: on a Zen 5 a zmm twin of it (since
        // removed) streamed a 6-row product of k = 6 144 at 24 GB/s where this one keeps up
        // with memory. Same sums, bit for bit; docs/kernels.md ("The dot form on zmm").
        rows: { rtk_avxvnni_i8_rows(1, $0, $1, $2, $3, $4, $5, $6, $7, $8) }, isBiased: true, fuses: true)
    static func avxvnniI8(evex: Int32) -> KernelSet.I8 {
        KernelSet.I8(
            pack: { rtk_pack_u8_panels($0, $1, $2, $3, $4.assumingMemoryBound(to: UInt8.self)) },
            kernel: { mr, p, c, _, k in
                rtk_avxvnni_i8_kernel(evex, mr, k.pointee.kc4, k.pointee.a, p.assumingMemoryBound(to: UInt8.self),
                                      k.pointee.corr, k.pointee.scale, c, k.pointee.ldc, k.pointee.accumulate)
            },
            rows: { rtk_avxvnni_i8_rows(evex, $0, $1, $2, $3, $4, $5, $6, $7, $8) }, isBiased: true)
    }
    /// AVX2 (ymm) and AVX-512 without VNNI (zmm, panels staged in the zmm order): the pair form
    /// (i8_pairs.c) in the panel form; in the dot form (few rows: there the pair form's int16
    /// rows no longer fit L1 and it measured slower), |w| times the activations with flipped
    /// sign bits plus a weight-row term on ymm, the sign trick on zmm (a masked negation,
    /// AVX-512 having no vpsignb); docs/kernels.md.
    static func pairsI8(zmm: Bool) -> KernelSet.I8 {
        let run = zmm ? rtk_avx512_i8_pairs_kernel : rtk_avx2_i8_pairs_kernel     // same C signature
        return KernelSet.I8(
            pack: { rtk_pack_i8_panels($0, $1, $2, $3, $4.assumingMemoryBound(to: Int8.self)) },
            kernel: { mr, p, c, fin, k in
                let b = k.pointee
                UnsafeRawPointer(b.a).withMemoryRebound(to: UnsafePointer<Int32>?.self, capacity: mr) { rows in
                    run(mr, b.kc4, rows, p.assumingMemoryBound(to: Int16.self), b.corr, b.scale, c, b.ldc, b.accumulate, fin)
                }
            },
            rows: zmm ? { rtk_avx512_i8_rows($0, $1, $2, $3, $4, $5, $6, $7, $8) }
                      : { rtk_avx2_i8_rows($0, $1, $2, $3, $4, $5, $6, $7, $8) },
            isBiased: false, stripRows: zmm ? 8 : KernelSet.I8.maxStripRows, fuses: true,
            prepare: { rtk_avx2_i8_pairs_prepare($0, $1, $2.assumingMemoryBound(to: Int32.self), $3) },
            stage: KernelSet.I8.Stage(bytes: { rtk_i8_pairs_staged_bytes($0) }, run: { kc4, panel, out in
                rtk_avx2_i8_pairs_stage(kc4, panel.assumingMemoryBound(to: Int8.self), out.assumingMemoryBound(to: Int16.self),
                                        zmm ? 1 : 0)
            }),
            rowsWithTerms: zmm ? nil : { rtk_avx2_i8_rows_t($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) })
    }
    static func neonI8(dot: Int32) -> KernelSet.I8 {
        KernelSet.I8(
            pack: { rtk_pack_i8_panels($0, $1, $2, $3, $4.assumingMemoryBound(to: Int8.self)) },
            kernel: { mr, p, c, _, k in
                rtk_neon_i8_kernel(dot, mr, k.pointee.kc4, k.pointee.a, p.assumingMemoryBound(to: Int8.self),
                                   k.pointee.scale, c, k.pointee.ldc, k.pointee.accumulate)
            },
            rows: { rtk_neon_i8_rows(dot, $0, $1, $2, $3, $4, $5, $6, $7, $8) }, isBiased: false)
    }
    static let floatExactI8 = KernelSet.I8(
        pack: { packF32(.i8($0), ldw: $1, nc: $2, kc: $3, into: $4.assumingMemoryBound(to: Float.self), with: cPack) },
        kernel: nil,
        rows: { genericI8Rows(mr: $0, nc: $1, k: $2, a: $3, lda: $4, w: $5, ldw: $6, out: $7, ldo: $8) }, isBiased: false)

    static let zmmFMA = Probes.Loop(name: "vfmadd231ps zmm x24", macsPerIteration: 24 * 16) { Double(rtk_peak_fma_f32($0)) }
    static let ymmFMA = Probes.Loop(name: "vfmadd231ps ymm x12", macsPerIteration: 12 * 8) { Double(rtk_avx2_peak_fma($0)) }
    static let pairsProbe = Probes.Loop(name: "vpaddw x2+vpmaddwd+vpaddd ymm x12", macsPerIteration: 12 * 32) {
        Double(rtk_avx2_peak_i8_pairs($0))
    }
    static let pairs512Probe = Probes.Loop(name: "vpaddw x2+vpmaddwd+vpaddd zmm x12", macsPerIteration: 12 * 64) {
        Double(rtk_avx512_peak_i8_pairs($0))
    }

    /// The row of `isa`.
    static func kernels(_ isa: ISA) -> KernelSet {
        switch isa {
        case .amx:
            var k = kernels(.avx512vnni)
            k.tiles = .hardware
            k.int8Probe = Probes.amxInt8
            return k
        case .amxEmulated:
            // everything but the int8 products as the host's best level; no int8 probe
            // (the scalar model's speed says nothing about any hardware)
            var k = kernels(ISA.bestWithoutTiles)
            k.tiles = .emulated
            k.int8Probe = nil
            return k
        case .avx512vnni, .avx512:
            var k = KernelSet(f32: avx512F32, f32Strip: 8, pack: avx512Pack, f32RowsI8: avx512RowsI8, f32RowsF32: avx512RowsF32,
                             i8: isa == .avx512vnni ? vnniI8 : pairsI8(zmm: true), fp32Probe: zmmFMA,
                             int8Probe: isa == .avx512vnni
                                ? Probes.Loop(name: "vpdpbusd zmm x24", macsPerIteration: 24 * 64) { Double(rtk_peak_vnni($0)) }
                                : pairs512Probe)
            k.q4 = Q4Level(kernel: isa == .avx512vnni ? .vnni : .avx2, pack: .avx512,
                           rows: isa == .avx512vnni ? .vnni : .avx2, strips: isa == .avx512vnni ? .vnni : .avx2)
            return k
        case .avxvnni:
            let evex: Int32 = ISA.features & Int(RTK_CPU_AVXVNNI) != 0 ? 0 : 1
            var k = KernelSet(f32: avx2F32, f32Strip: 6, pack: avx2Pack, f32RowsI8: avx2RowsI8, f32RowsF32: avx2RowsF32,
                             i8: avxvnniI8(evex: evex), fp32Probe: ymmFMA,
                             int8Probe: evex == 0
                                ? Probes.Loop(name: "vpdpbusd ymm (AVX-VNNI) x12", macsPerIteration: 12 * 32) { Double(rtk_avxvnni_peak($0)) }
                                : nil)
            k.q4 = Q4Level(kernel: .avx2, pack: .avx2, rows: .avxvnni(evex: evex), strips: .avxvnni(evex: evex))
            return k
        case .avx2:
            var k = KernelSet(f32: avx2F32, f32Strip: 6, pack: avx2Pack, f32RowsI8: avx2RowsI8, f32RowsF32: avx2RowsF32,
                              i8: pairsI8(zmm: false), fp32Probe: ymmFMA, int8Probe: pairsProbe)
            k.q4 = Q4Level(kernel: .avx2, pack: .avx2, rows: .avx2, strips: .avx2)
            return k
        case .neondot, .neon:
            let dot: Int32 = isa == .neondot ? 1 : 0
            return KernelSet(f32: neonF32, f32Strip: 6, pack: cPack, f32RowsI8: neonRowsI8, f32RowsF32: neonRowsF32,
                             i8: neonI8(dot: dot),
                             fp32Probe: Probes.Loop(name: "fmla v.4s x24", macsPerIteration: 24 * 4) { Double(rtk_neon_peak_fma($0)) },
                             int8Probe: dot == 1
                                ? Probes.Loop(name: "sdot v.4s x24", macsPerIteration: 24 * 16) { Double(rtk_neon_peak_i8(1, $0)) }
                                : Probes.Loop(name: "smull+smlal2+sadalp x12", macsPerIteration: 12 * 16) { Double(rtk_neon_peak_i8(0, $0)) })
        case .generic:
            return KernelSet(f32: swiftF32, f32Strip: SwiftF32Shapes.build.strip, pack: cPack, f32RowsI8: swiftRowsI8, f32RowsF32: swiftRowsF32,
                             i8: floatExactI8,
                             fp32Probe: Probes.swiftMulAddProbe,
                             int8Probe: nil)
        }
    }
}

extension ISA {
    /// Testing only: while true, the `avxvnni` level is available on machines with AVX-512
    /// VNNI but no AVX-VNNI, running the EVEX-encoded twin of its kernels (same arithmetic),
    /// so that path can be tested end to end there.
    nonisolated(unsafe) public static var _avxvnniThroughEVEX = false
}
