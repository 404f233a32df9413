import CKernels
import Glibc
import TestSupport
import XCTest
@testable import Kernels

/// The W4A8 row kernels (≤ 8 activation rows straight from the Q4_0 blocks, no panel) called
/// directly: `rtk_q4_rows_vnni` (zmm), `rtk_q4_rows_avxvnni` (ymm `vpdpbusd`, VEX and its EVEX
/// twin) and `rtk_q4_rows_avx2` (`vpmaddubsw`), each bit for bit against the plain C row form
/// `rtk_q4_rows_c`. Every input ends at a PROT_NONE page (a read past the weights, the
/// activations or the corrections crashes the test); the output has sentinel columns and a
/// sentinel row. The matmul-level checks (the reference, levels, thread counts) are in
/// `Q4MatmulTests`.
final class Q4RowKernelTests: XCTestCase {
    typealias RowFn = (Int, Int, UnsafePointer<UnsafePointer<Int8>?>, UnsafePointer<UnsafePointer<Int32>?>,
                       UnsafePointer<UInt8>, Int, Int, UnsafeMutablePointer<Float>, Int) -> Void

    /// Every row kernel this CPU runs, by name.
    static var kernels: [(name: String, run: RowFn)] {
        var out: [(name: String, run: RowFn)] = []
        if ISA.avx512vnni.isSupported {
            out.append(("vnni", { rtk_q4_rows_vnni($0, $1, $2, $3, $4, $5, $6, $7, $8) }))
            out.append(("avxvnni (EVEX twin)", { rtk_q4_rows_avxvnni(1, $0, $1, $2, $3, $4, $5, $6, $7, $8) }))
        }
        if rtk_cpu_features() & Int32(RTK_CPU_AVXVNNI) != 0 {
            out.append(("avxvnni", { rtk_q4_rows_avxvnni(0, $0, $1, $2, $3, $4, $5, $6, $7, $8) }))
        }
        if ISA.avx2.isSupported {
            out.append(("avx2", { rtk_q4_rows_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8) }))
        }
        return out
    }

    /// `values` copied so that its last element is the last readable byte before a PROT_NONE
    /// page; `body` gets the copy.
    static func withGuarded<T, R>(_ values: [T], _ body: (UnsafePointer<T>) throws -> R) throws -> R {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = values.count * MemoryLayout<T>.stride
        let dataPages = (bytes + page - 1) / page
        let total = (dataPages + 1) * page
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { throw XCTSkip("mmap failed") }
        defer { munmap(base, total) }
        XCTAssertEqual(mprotect(base + dataPages * page, page, PROT_NONE), 0)
        let start = (base + dataPages * page - bytes).bindMemory(to: T.self, capacity: values.count)
        values.withUnsafeBufferPointer { start.initialize(from: $0.baseAddress!, count: values.count) }
        return try body(UnsafePointer(start))
    }

    /// Runs `f` on `rows` activation rows (k each) and the corrections, every input guarded;
    /// c is (rows + 1) × ldc floats of 9.
    static func run(_ f: RowFn, rows: Int, k: Int, nc: Int, a: [Int8], corr: [Int32], w: [UInt8], ldc: Int) throws -> [Float] {
        let ng = k / 32, rowBytes = WeightMatrix.q4RowBytes(k: k)
        var c = [Float](repeating: 9, count: (rows + 1) * ldc)
        try withGuarded(w) { wp in
            try withGuarded(a) { ap in
                try withGuarded(corr) { cp in
                    let aps = (0..<rows).map { Optional(ap + $0 * k) }
                    let cps = (0..<rows).map { Optional(cp + $0 * ng) }
                    c.withUnsafeMutableBufferPointer { f(rows, ng, aps, cps, wp, rowBytes, nc, $0.baseAddress!, ldc) }
                }
            }
        }
        return c
    }

    /// Rows 1…8, odd column counts and ones around the 8- and 16-column strips, K of an odd
    /// number of groups; activations over the whole int8 range with some rows at −128 and some
    /// weight bytes 0xFF (the largest group sums: 16 · 15 · 128 = 30 720 in the avx2 kernel's
    /// int16 step). Columns past nc up to the next 16 come out as 0, nothing past them is written.
    func testRowKernelsMatchC() throws {
        let kernels = Self.kernels
        try XCTSkipIf(kernels.isEmpty, "no x86 row kernel runs on this CPU")
        var rng = TestRNG(77)
        for k in [32, 160, 224, 1056] {
            let ng = k / 32
            for nc in [1, 5, 7, 8, 9, 15, 16, 17, 23, 31, 33, 50, 63] {
                var w = Q4MatmulTests.blocks(n: nc, k: k, rng: &rng)
                for g in 0..<ng { for z in 0..<16 { w[g * 18 + 2 + z] = 0xFF } }   // column 0: nibbles 15
                for rows in 1...8 {
                    var a = (0..<(rows * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
                    for p in 0..<k { a[p] = -128 }                                    // row 0 at the extreme
                    let corr: [Int32] = (0..<(rows * ng)).map { rg in
                        8 * a[(rg * 32)..<(rg * 32 + 32)].reduce(Int32(0)) { $0 + Int32($1) }
                    }
                    let width = (nc + 15) / 16 * 16, ldc = width + 3
                    let ref = try Self.run({ rtk_q4_rows_c($0, $1, $2, $3, $4, $5, $6, $7, $8) },
                                      rows: rows, k: k, nc: nc, a: a, corr: corr, w: w, ldc: ldc)
                    XCTAssertTrue(ref.contains { $0 != 0 && $0 != 9 }, "reference produced nothing")
                    for (name, f) in kernels {
                        let fast = try Self.run(f, rows: rows, k: k, nc: nc, a: a, corr: corr, w: w, ldc: ldc)
                        XCTAssertTrue(bitsEqual(fast, ref), "\(name) rows \(rows) k \(k) nc \(nc): differs from rtk_q4_rows_c, max \(maxAbs(fast, ref))")
                        for i in 0..<rows {
                            for j in nc..<width { XCTAssertEqual(fast[i * ldc + j], 0, "\(name): dead column \(j) not 0") }
                            for j in width..<ldc { XCTAssertEqual(fast[i * ldc + j], 9, "\(name): sentinel column overwritten") }
                        }
                        for j in 0..<ldc { XCTAssertEqual(fast[rows * ldc + j], 9, "\(name): sentinel row overwritten") }
                    }
                }
            }
        }
    }
}
