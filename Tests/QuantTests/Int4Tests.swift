// int4 (GGML Q4_0) weights: the quantizer against a float64 reference, the file round trip, the
// PyPI `gguf` reader's dequantization, and conversion from an f32 GGUF file.
import Formats
import Foundation
import TestSupport
import XCTest
@testable import Quant

final class Int4Tests: XCTestCase {
    /// Float64 reference of one group: the scale from the value of largest magnitude (first one on a
    /// tie) divided by −8 and rounded to fp16, then each value's nearest grid point (n − 8)·d over
    /// all 16 nibbles, found by exhaustive search in Double.
    static func referenceGroup(_ x: ArraySlice<Float>) -> (d: Float, values: [Double]) {
        var m: Float = 0
        for v in x where abs(v) > abs(m) { m = v }
        let d = Float(Float16(Double(m) / -8))
        let values = x.map { v -> Double in
            if d == 0 { return 0 }
            var best = 0.0, bestErr = Double.infinity
            for n in 0 ..< 16 {
                let g = Double(n - 8) * Double(d)
                let e = abs(g - Double(v))
                // ties between two grid points: the one farther from zero (the quantizer rounds away)
                if e < bestErr || (e == bestErr && abs(g) > abs(best)) { best = g; bestErr = e }
            }
            return best
        }
        return (d, values)
    }

    /// At odd row counts and several group counts, with all-zero groups, one-value groups and
    /// negative extremes, every dequantized value is the reference's nearest grid point (exactly)
    /// and the reported error statistics are the reference's.
    func testQuantizerMatchesFloat64Reference() throws {
        var rng = TestRNG(21)
        for (rows, cols) in [(1, 32), (3, 96), (7, 160), (5, 64)] {
            var w = rng.floats(rows * cols, scale: 0.2)
            for i in 0 ..< 32 where rows * cols >= 96 { w[32 + i] = 0 }          // an all-zero group
            if rows * cols >= 128 { for i in 0 ..< 32 { w[64 + i] = i == 5 ? -3 : 0 } }   // one value
            w[w.count - 1] = -0.9                                                  // negative extreme
            let (blocks, err) = try XCTUnwrap(quantizeQ4_0(w, rows: rows, cols: cols))
            XCTAssertEqual(blocks.count, rows * cols / 32 * 18)
            var deq = [Float](repeating: .nan, count: w.count)
            blocks.withUnsafeBytes { b in deq.withUnsafeMutableBufferPointer { dequantizeQ4_0(b, count: w.count, into: $0.baseAddress!) } }
            var errSq = 0.0, normSq = 0.0, maxAbs = 0.0
            for g in 0 ..< w.count / 32 {
                let (d, ref) = Self.referenceGroup(w[(g * 32) ..< (g * 32 + 32)])
                let stored = Float(Float16(bitPattern: UInt16(blocks[g * 18]) | UInt16(blocks[g * 18 + 1]) << 8))
                XCTAssertEqual(stored.bitPattern, d.bitPattern, "group \(g) scale")
                for p in 0 ..< 32 {
                    XCTAssertEqual(Double(deq[g * 32 + p]), ref[p], "rows \(rows) cols \(cols) group \(g) element \(p)")
                    let e = ref[p] - Double(w[g * 32 + p])
                    errSq += e * e; normSq += Double(w[g * 32 + p]) * Double(w[g * 32 + p]); maxAbs = max(maxAbs, abs(e))
                    // half a step inside the grid; on the side opposite the extreme the grid ends at
                    // 7·|d| while values reach 8·|d|, so one step there (plus fp16 rounding of d)
                    XCTAssertLessThanOrEqual(abs(e), Double(abs(d)) * (1 + 1e-3) + 1e-12)
                }
            }
            XCTAssertEqual(err.relativeL2, (errSq / normSq).squareRoot(), accuracy: 1e-12)
            XCTAssertEqual(err.maxAbs, maxAbs, accuracy: 1e-12)
        }
        XCTAssertNil(quantizeQ4_0([Float](repeating: 1e6, count: 32), rows: 1, cols: 32), "scale beyond fp16 is refused")
    }

    func convert(_ input: String, _ out: String, _ w: WeightFormat) throws -> ConversionReport {
        isGGUFFile(input) ? try requantizeGGUF(input: input, output: out, options: ConvertOptions(weights: w))
                          : try convertCheckpoint(input: input, output: out, options: ConvertOptions(weights: w, configPath: Repo.tinyYAML))
    }

    /// An int4 file of the tiny fixture: Linear weights whose input width divides by 32 are Q4_0,
    /// the VAE and the others int8 (with scales); the PyPI `gguf` reader sees the same tensors and
    /// dequantizes every Q4_0 tensor to exactly our values; the report lists each tensor's error.
    func testInt4FileAndPythonReader() throws {
        let dir = try TestSupport.makeTempDir("int4-py", removedAfter: self).path
        let report = try convert(Repo.tinyCkpt, dir + "/q4.gguf", .int4)
        let g = try GGUFFile(path: dir + "/q4.gguf")
        XCTAssertEqual(g.metadata["reptok.weights"]?.string, "int4")
        var q4 = 0
        for t in g.orderedTensorInfos where t.type == .q4_0 {
            q4 += 1
            XCTAssertFalse(t.name.hasPrefix("vae."), t.name)
            XCTAssertEqual(t.shape.count, 2); XCTAssertEqual(t.shape[1] % 32, 0)
            XCTAssertNil(g.tensorInfos[t.name + ".scale"])
            let line = try XCTUnwrap(report.tensors.first { $0.name == t.name })
            XCTAssertNotNil(line.error); XCTAssertEqual(line.bytes, t.count / 32 * 18)
            // 4 bits on random weights: about 1/16 of the range per step, so ≈ 0.1 relative L2
            XCTAssertLessThan(line.error!.relativeL2, 0.15, t.name)
        }
        XCTAssertGreaterThan(q4, 10)
        for t in g.orderedTensorInfos where t.name.hasPrefix("vae.") { XCTAssertNotEqual(t.type, .q4_0) }
        let py = try pyReadGGUF(dir + "/q4.gguf")
        XCTAssertEqual(py.tensors.map(\.name), g.orderedTensorInfos.map(\.name))
        XCTAssertEqual(py.tensors.map(\.type), g.orderedTensorInfos.map { $0.type.description })
        XCTAssertEqual(py.tensors.map(\.shape), g.orderedTensorInfos.map(\.shape))
        var checked = 0
        for t in py.tensors where t.type == "Q4_0" {
            let ours = try g.tensor(t.name).floats()
            let bytes = ours.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
            XCTAssertEqual(t.dequant_sha256, SHA256.hash(bytes), "\(t.name): python dequantizes differently")
            checked += 1
        }
        XCTAssertEqual(checked, q4)
    }

    /// Conversion from the f32 GGUF gives the same tensor bytes as conversion from the checkpoint,
    /// for int8 and int4; an f16 file is accepted with a note; an already quantized file is
    /// refused, and nothing is left behind.
    func testConversionFromF32GGUFEqualsCheckpointConversion() throws {
        let dir = try TestSupport.makeTempDir("int4-requant", removedAfter: self).path
        _ = try convert(Repo.tinyCkpt, dir + "/f32.gguf", .f32)
        for w in [WeightFormat.int8, .int4] {
            _ = try convert(Repo.tinyCkpt, dir + "/direct.gguf", w)
            let report = try convert(dir + "/f32.gguf", dir + "/re.gguf", w)
            let a = try GGUFFile(path: dir + "/direct.gguf"), b = try GGUFFile(path: dir + "/re.gguf")
            XCTAssertEqual(a.orderedTensorInfos.map(\.name), b.orderedTensorInfos.map(\.name))
            for t in a.orderedTensorInfos {
                XCTAssertEqual(t.type, b.tensorInfos[t.name]?.type, t.name)
                XCTAssertEqual(Array(try a.tensor(t.name).data), Array(try b.tensor(t.name).data), "\(w) \(t.name)")
            }
            XCTAssertEqual(b.metadata["reptok.weights"]?.string, w.rawValue)
            XCTAssertEqual(b.metadata["reptok.encoder.width"], a.metadata["reptok.encoder.width"])
            XCTAssertGreaterThan(report.maxRelativeL2, 0)
            XCTAssertEqual(report.notes, [], "an f32 input rounds once")
        }
        // an f16 input is accepted, but says that its weights were rounded before
        _ = try convert(Repo.tinyCkpt, dir + "/f16.gguf", .f16)
        let fromF16 = try convert(dir + "/f16.gguf", dir + "/from-f16.gguf", .int8)
        XCTAssertEqual(fromF16.notes.count, 1)
        XCTAssertTrue(fromF16.notes.first?.contains("F16, rounded once already") == true, "\(fromF16.notes)")
        XCTAssertThrowsError(try convert(dir + "/direct.gguf", dir + "/twice.gguf", .int8)) { e in
            guard case RequantizeError.notFloat = e else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/twice.gguf"))
    }
}
