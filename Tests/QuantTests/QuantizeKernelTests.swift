import CKernels
import Foundation
import TestSupport
import Support
import XCTest
@testable import Quant

/// The converter's C quantization kernels against the Swift loops they replaced: int8
/// (`rtk_quantize_row_i8` under `quantizeInt8PerRow`, reference `quantizeInt8PerRowScalar`) and
/// Q4_0 (`rtk_q4_0_group_extremes` and `rtk_quantize_q4_0` under `quantizeQ4_0`, reference
/// `quantizeQ4_0Scalar`): the stored bytes bit for bit; the error statistics to 1e-12 relative,
/// because only the order of the float64 sums differs (each sum of n positive terms moves by at
/// most n·2⁻⁵³ relative). Int4Tests holds the Q4_0 values to an independent float64 search too.
final class QuantizeKernelTests: XCTestCase {
    private func check(_ w: [Float], rows: Int, cols: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let fast = quantizeInt8PerRow(w, rows: rows, cols: cols)
        let ref = quantizeInt8PerRowScalar(w, rows: rows, cols: cols)
        XCTAssertEqual(fast.q, ref.q, what, file: file, line: line)
        XCTAssertEqual(fast.scales.map(\.bitPattern), ref.scales.map(\.bitPattern), what, file: file, line: line)
        XCTAssertEqual(fast.error.relativeL2, ref.error.relativeL2, accuracy: 1e-12 * max(ref.error.relativeL2, 1e-300), what, file: file, line: line)
        XCTAssertEqual(fast.error.maxAbs, ref.error.maxAbs, what, file: file, line: line)  // a maximum: order-free
    }

    /// Random rows at every width 1…40 (the eight-lane loop and its tail), a few row counts.
    func testRandomMatricesMatchReference() {
        var rng = SplitMix64(state: 3)
        for cols in 1 ... 40 {
            for rows in [1, 3] {
                let w = (0 ..< rows * cols).map { _ in Float(Int64(bitPattern: rng.next() >> 11) % 2_000_001 - 1_000_000) * 1e-6 }
                check(w, rows: rows, cols: cols, "\(rows)×\(cols)")
            }
        }
    }

    /// Exact ties: rows whose maximum is 127 (scale 1) or 63.5 (scale 0.5) hold every k + ½; ties go
    /// away from zero (2.5 → 3, −2.5 → −3), which the rounding trick must reproduce.
    func testTiesGoAwayFromZero() {
        for top: Float in [127, 63.5] {
            let s = top / 127
            var row: [Float] = [top]
            for k in -127 ..< 127 { row.append((Float(k) + 0.5) * s) }
            let r = quantizeInt8PerRow(row, rows: 1, cols: row.count)
            XCTAssertEqual(r.scales, [s])
            for (x, q) in zip(row.dropFirst(), r.q.dropFirst()) {
                let v = x / s
                XCTAssertEqual(Float(q), v < 0 ? (v - 0.5).rounded(.down) + 0 : (v + 0.5).rounded(.down), "\(x)")
            }
            check(row, rows: 1, cols: row.count, "ties at scale \(s)")
        }
    }

    /// Zero rows (scale 1), and rows so small that max/127 underflows to zero: the scale is then the
    /// smallest subnormal instead (dividing by zero gave infinities and NaN, and Int8(NaN) trapped).
    func testZeroAndUnderflowingRows() {
        let tiny = Float.leastNonzeroMagnitude
        let rows: [[Float]] = [
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
            [tiny, 0, -tiny, 0, 0, 0, 0, 0, 0],
            [30 * tiny, -tiny, 0, 5 * tiny, 0, 0, 0, 0, 0],
            [-Float.greatestFiniteMagnitude, 1, 0, .greatestFiniteMagnitude, 2, 3, 4, 5, 6],
        ]
        let r = quantizeInt8PerRow(rows.flatMap { $0 }, rows: rows.count, cols: 9)
        XCTAssertEqual(r.scales[0], 1)
        XCTAssertEqual(r.scales[1], tiny)
        XCTAssertEqual(Array(r.q[9 ..< 12]), [1, 0, -1])
        XCTAssertEqual(r.scales[2], tiny)
        XCTAssertEqual(Array(r.q[18 ..< 22]), [30, -1, 0, 5])
        XCTAssertEqual(r.q[27], -127)
        XCTAssertEqual(r.q[30], 127)
        check(rows.flatMap { $0 }, rows: rows.count, cols: 9, "zero, tiny and huge rows")
    }

    /// The C row kernel writes exactly n bytes: sentinels on both sides of q stay.
    func testRowKernelStaysInsideItsBuffer() {
        for n in [1, 7, 8, 9, 23] {
            let x = (0 ..< n).map { Float($0) - 3.3 }
            var q = [Int8](repeating: 0x5A, count: n + 32)
            var sums = [Double](repeating: 0, count: 3)
            q.withUnsafeMutableBufferPointer { q in
                rtk_quantize_row_i8(x, n, 0.25, q.baseAddress! + 16, &sums)
            }
            XCTAssertEqual(Array(q[0 ..< 16]), [Int8](repeating: 0x5A, count: 16), "\(n)")
            XCTAssertEqual(Array(q[(16 + n)...]), [Int8](repeating: 0x5A, count: 16), "\(n)")
        }
    }

    private func checkQ4(_ w: [Float], rows: Int, cols: Int, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fast = try XCTUnwrap(quantizeQ4_0(w, rows: rows, cols: cols), what, file: file, line: line)
        let ref = try XCTUnwrap(quantizeQ4_0Scalar(w, rows: rows, cols: cols), what, file: file, line: line)
        XCTAssertEqual(fast.blocks, ref.blocks, what, file: file, line: line)
        XCTAssertEqual(fast.error.relativeL2, ref.error.relativeL2, accuracy: 1e-12 * max(ref.error.relativeL2, 1e-300), what, file: file, line: line)
        XCTAssertEqual(fast.error.maxAbs, ref.error.maxAbs, what, file: file, line: line)
    }

    /// Q4_0 on random matrices, ties, zero groups, fp16-subnormal scales and extremes of equal
    /// magnitude and opposite sign (the first one sets the scale's sign).
    func testQ4MatchesReference() throws {
        var rng = SplitMix64(state: 5)
        for (rows, cols) in [(1, 32), (3, 64), (2, 160)] {
            let w = (0 ..< rows * cols).map { _ in Float(Int64(bitPattern: rng.next() >> 11) % 2_000_001 - 1_000_000) * 1e-6 }
            try checkQ4(w, rows: rows, cols: cols, "random \(rows)×\(cols)")
        }
        // d = 1 exactly (m = -8): every k + ½ in [-8, 7] is a tie, and values beyond the grid
        var ties: [Float] = [-8]
        for k in -8 ..< 7 { ties.append(Float(k) + 0.5) }
        ties += [7.9, -7.9, 0, 7, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3, 3.5, -3.5, 4.5, -4.5]
        XCTAssertEqual(ties.count, 32)
        try checkQ4(ties, rows: 1, cols: 32, "ties")
        let groups: [[Float]] = [
            [Float](repeating: 0, count: 32),                                        // d = 0: nibbles 8
            [-1, 1] + [Float](repeating: 0.25, count: 30),                           // first extreme negative
            [1, -1] + [Float](repeating: -0.25, count: 30),                          // first extreme positive
            [3e-7, -2e-7] + [Float](repeating: 1e-7, count: 30),                     // d in fp16's subnormals
            [1e-9] + [Float](repeating: 0, count: 31),                               // d rounds to 0 in fp16
        ]
        try checkQ4(groups.flatMap { $0 }, rows: 1, cols: 32 * groups.count, "edge groups")
        XCTAssertNil(quantizeQ4_0([Float](repeating: 0, count: 31) + [-6e5], rows: 1, cols: 32), "fp16 overflow")
    }
}

/// float32 → float16 (`rtk_f32_to_f16` under `toFloat16`) against Swift's `Float16` (`toFloat16Scalar`):
/// every half's neighbourhood (each midpoint between two halves, where ties go to even, and the
/// floats just beside it), the subnormal range, signed zeros, 65504 and the overflow edge 65520,
/// and pseudo-random bit patterns over every exponent; bits equal, error sums to 1e-12 relative.
final class Float16ConversionTests: XCTestCase {
    private func check(_ w: [Float], _ what: String) throws {
        let fast = try XCTUnwrap(toFloat16(w), what)
        let ref = try XCTUnwrap(toFloat16Scalar(w), what)
        XCTAssertEqual(fast.bits, ref.bits, what)
        XCTAssertEqual(fast.error.relativeL2, ref.error.relativeL2, accuracy: 1e-12 * max(ref.error.relativeL2, 1e-300), what)
        XCTAssertEqual(fast.error.maxAbs, ref.error.maxAbs, what)
    }

    func testMatchesSwiftFloat16() throws {
        var near: [Float] = [0, -0.0, 65504, -65504, 65519.996, -65519.996, .leastNonzeroMagnitude, -.leastNormalMagnitude]
        for h in UInt16(0) ..< 0x7bff {  // every finite half and the next one up
            let lo = Float(Float16(bitPattern: h)), hi = Float(Float16(bitPattern: h + 1))
            let mid = (lo + hi) / 2  // exact: halves have 11 significant bits
            for v in [lo, mid, mid.nextUp, mid.nextDown] { near += [v, -v] }
        }
        for chunk in stride(from: 0, to: near.count, by: 9_999) {  // odd lengths: the 8-lane loop and its tail
            try check(Array(near[chunk ..< min(chunk + 9_999, near.count)]), "near halves from \(chunk)")
        }
        var rng = SplitMix64(state: 11)
        let random = (0 ..< 100_003).compactMap { _ -> Float? in
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            return f.isFinite && abs(f) < 65520 ? f : nil
        }
        try check(random, "random bit patterns")
        XCTAssertNil(toFloat16([1, 2, 3, 4, 5, 6, 7, 8, 65520]), "rounds to infinity (tail)")
        XCTAssertNil(toFloat16([1, 2, 3, -65520, 5, 6, 7, 8, 9]), "rounds to infinity (8-lane loop)")
        XCTAssertNil(toFloat16Scalar([-65520]))
    }
}

/// The converter's background SHA-256: `isFinished` and `wait` on a FIFO, whose reader blocks until
/// the test writes, so "not yet" and "done" are both certain (no timing involved). The writer's
/// open and the wait are bounded (10 s), so a thread that never reads fails the test instead of
/// hanging it.
final class BackgroundDigestsTests: XCTestCase {
    func testWaitsForTheFileAndReportsWhetherItIsDone() throws {
        let dir = try TestSupport.makeTempDir("digests", removedAfter: self).path
        let fifo = dir + "/in"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let digests = BackgroundDigests(paths: [fifo])
        XCTAssertFalse(digests.isFinished, "the hashing thread is blocked opening the FIFO")
        let hex = try TestSupport.runBounded("writing to the FIFO and waiting for its digest", within: 10) { () -> [String] in
            let fd = open(fifo, O_WRONLY)  // pairs with the hashing thread's open for reading
            guard fd >= 0 else { return [] }
            _ = write(fd, "abc", 3)
            close(fd)
            return try digests.wait()
        }
        XCTAssertEqual(hex, ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"])
        XCTAssertTrue(digests.isFinished)
        XCTAssertThrowsError(try BackgroundDigests(paths: [dir + "/missing"]).wait())
    }
}
