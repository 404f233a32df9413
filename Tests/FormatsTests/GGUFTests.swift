// GGUF writer/reader round trips, checked against the independent Python `gguf` package.
import Formats
import Foundation
import TestSupport
import XCTest

final class GGUFTests: XCTestCase {
    /// Writes every metadata type and several tensor types; our reader and the Python reader agree
    /// on every value, shape, type, offset and data byte.
    func testRoundTripMatchesPythonReader() throws {
        let dir = try TestSupport.makeTempDir("gguf", removedAfter: self).path
        let path = dir + "/t.gguf"
        let w = GGUFWriter(path: path)
        w.set("general.architecture", .string("reptok"))
        w.set("t.u8", .uint8(200)); w.set("t.i8", .int8(-5)); w.set("t.u16", .uint16(60000)); w.set("t.i16", .int16(-300))
        w.set("t.u32", .uint32(4_000_000_000)); w.set("t.i32", .int32(-7)); w.set("t.f32", .float32(0.25))
        w.set("t.bool", .bool(true)); w.set("t.u64", .uint64(1 << 40)); w.set("t.i64", .int64(-(1 << 40)))
        w.set("t.f64", .float64(-2.5)); w.set("t.arr", .array([.uint32(1), .uint32(2), .uint32(3)]))
        w.set("t.strs", .array([.string("a"), .string("bc")])); w.set("t.late", .float32(0))
        w.set("t.digest", .string("0000")); w.set("t.after", .uint32(9))
        let a: [Float] = (0 ..< 6).map { Float($0) - 2.5 }  // [2,3]
        let b: [Int8] = [-127, 0, 1, 127, 5]                 // [5]
        let c: [UInt16] = (0 ..< 24).map { Float16(Float($0) / 8).bitPattern }  // [2,3,4]
        try w.declareTensor(name: "a", type: .f32, shape: [2, 3])
        try w.declareTensor(name: "b", type: .i8, shape: [5])
        try w.declareTensor(name: "c", type: .f16, shape: [2, 3, 4])
        try w.begin()
        try w.writeTensor(name: "a", values: a)
        try w.writeTensor(name: "b", values: b)
        try w.writeTensor(name: "c", values: c)
        try w.patch("t.late", .float32(1.75))
        try w.patch("t.digest", .string("beef"))  // a string of the same length patches in place
        for (value, why) in [(GGUFValue.string("beefy"), "5 bytes"), (.string("bee"), "3 bytes"), (.uint32(4), "type")] {
            XCTAssertThrowsError(try w.patch("t.digest", value), why) { e in
                guard case .patchNotAllowed(key: "t.digest", _)? = e as? GGUFWriterError else { return XCTFail("\(e)") }
            }
        }
        XCTAssertThrowsError(try w.patch("t.unset", .uint32(1)))
        try w.finish()
        XCTAssertEqual(filesIn(dir), ["t.gguf"], "only the final file remains")

        let g = try GGUFFile(path: path)
        XCTAssertEqual(g.alignment, 64)
        XCTAssertEqual(g.metadata["t.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(g.metadata["t.late"]?.float, 1.75)
        XCTAssertEqual(g.metadata["t.digest"], .string("beef"))
        XCTAssertEqual(g.metadata["t.after"], .uint32(9), "the value after the patched string is intact")
        XCTAssertEqual(g.metadata["t.arr"]?.intArray, [1, 2, 3])
        XCTAssertEqual(g.metadata["t.i64"]?.int, -(1 << 40))
        XCTAssertEqual(g.orderedTensorInfos.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(try g.tensor("a").floats(), a)
        XCTAssertEqual(try g.tensor("b").floats(), b.map(Float.init))
        XCTAssertEqual(try g.tensor("c").shape, [2, 3, 4])
        XCTAssertEqual(try g.tensor("c").floats(), (0 ..< 24).map { Float($0) / 8 })
        for t in g.orderedTensorInfos { XCTAssertEqual(t.fileOffset % 64, 0, "\(t.name) aligned") }
        XCTAssertThrowsError(try g.tensor("zz")) { XCTAssertEqual($0 as? GGUFError, .missingTensor(name: "zz", path: path)) }

        let py = try pyReadGGUF(path)
        XCTAssertEqual(py.alignment, 64)
        XCTAssertEqual(py.tensors.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(py.tensors.map(\.type), ["F32", "I8", "F16"])
        XCTAssertEqual(py.tensors.map(\.shape), [[2, 3], [5], [2, 3, 4]])
        for t in py.tensors {
            let ours = try g.tensor(t.name)
            XCTAssertEqual(t.offset, g.tensorInfos[t.name]!.fileOffset, t.name)
            XCTAssertEqual(t.sha256, SHA256.hash(Array(ours.data)), t.name)
        }
        XCTAssertEqual(py.metadata["t.u64"], .int(1 << 40))
        XCTAssertEqual(py.metadata["t.i16"], .int(-300))
        XCTAssertEqual(py.metadata["t.f64"], .double(-2.5))
        XCTAssertEqual(py.metadata["t.late"], .double(1.75))
        XCTAssertEqual(py.metadata["t.digest"], .string("beef"))
        XCTAssertEqual(py.metadata["t.after"], .int(9))
        XCTAssertEqual(py.metadata["t.bool"], .bool(true))
        XCTAssertEqual(py.metadata["t.strs"], .array([.string("a"), .string("bc")]))
        XCTAssertEqual(py.metadata["general.architecture"], .string("reptok"))
    }

    /// An unfinished writer leaves no file behind; a wrong-size write is refused.
    func testAbortedWriteLeavesNothing() throws {
        let dir = try TestSupport.makeTempDir("gguf-abort", removedAfter: self).path
        do {
            let w = GGUFWriter(path: dir + "/x.gguf")
            try w.declareTensor(name: "a", type: .f32, shape: [4])
            try w.begin()
            XCTAssertThrowsError(try w.writeTensor(name: "a", values: [Float(1)])) {
                XCTAssertEqual($0 as? GGUFWriterError, .wrongByteCount(name: "a", expected: 16, got: 4))
            }
            XCTAssertThrowsError(try w.finish())
        }
        XCTAssertEqual(filesIn(dir), [])
    }

    /// Corrupt headers give typed errors, never a crash or a huge allocation.
    func testCorruptFilesAreRefused() throws {
        let dir = try TestSupport.makeTempDir("gguf-bad", removedAfter: self).path
        let good = dir + "/g.gguf"
        let w = GGUFWriter(path: good)
        w.set("k", .string("v"))
        try w.declareTensor(name: "t", type: .f32, shape: [16])
        try w.begin()
        try w.writeTensor(name: "t", values: [Float](repeating: 1, count: 16))
        try w.finish()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))

        func check(_ b: [UInt8], _ name: String, _ match: (GGUFError) -> Bool) throws {
            let p = dir + "/" + name
            try Data(b).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try GGUFFile(path: p), name) { e in
                guard let g = e as? GGUFError else { return XCTFail("\(name): \(e)") }
                XCTAssertTrue(match(g), "\(name): \(g)")
            }
        }
        try check(Array("GGUX".utf8) + bytes[4...], "magic") { if case .notGGUF = $0 { return true }; return false }
        var v = bytes; v[4] = 2
        try check(v, "version") { $0 == .unsupportedVersion(path: dir + "/version", version: 2) }
        try check(Array(bytes.prefix(bytes.count - 10)), "short") { if case .tensorOutOfBounds = $0 { return true }; return false }
        // Cut inside the metadata: either the counts no longer fit or a read runs off the end.
        try check(Array(bytes.prefix(30)), "header") {
            switch $0 { case .truncated, .absurdCount: return true; default: return false }
        }
        try check(Array(bytes.prefix(60)), "header2") { if case .truncated = $0 { return true }; return false }
        var huge = bytes; for i in 8 ..< 16 { huge[i] = 0xff }   // tensor count 2^64-1
        try check(huge, "count") { if case .absurdCount = $0 { return true }; return false }
        // The tensor's offset field (found after its name "t") pointed far past the end.
        let nameAt = bytes.indices.first { i in i + 9 < bytes.count && bytes[i] == 1 && bytes[i + 1 ..< i + 8].allSatisfy { $0 == 0 } && bytes[i + 8] == UInt8(ascii: "t") && bytes[i + 9] == 1 }!
        let offsetAt = nameAt + 8 + 1 + 4 + 8 + 4
        for i in 0 ..< 8 { bytes[offsetAt + i] = i == 5 ? 1 : 0 }   // 2^40
        try check(bytes, "offset") { if case .tensorOutOfBounds = $0 { return true }; return false }
        let empty = dir + "/empty.gguf"
        FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertThrowsError(try GGUFFile(path: empty)) { XCTAssertEqual($0 as? FileAccessError, .emptyFile(path: empty)) }
        XCTAssertThrowsError(try GGUFFile(path: dir)) { XCTAssertEqual($0 as? FileAccessError, .isDirectory(path: dir)) }
    }

    /// A metadata array of 2^20 + 1 one-byte elements is refused by count: each element would
    /// become a value of about 24 bytes, so a 4 GB file could ask for ~100 GB. 2^20 is read.
    func testMetadataArrayCountIsCapped() throws {
        let dir = try TestSupport.makeTempDir("gguf-arr", removedAfter: self).path
        for (n, refused) in [(1 << 20, false), ((1 << 20) + 1, true)] {
            let path = dir + "/a\(n).gguf"
            let w = GGUFWriter(path: path)
            w.set("a", .array([GGUFValue](repeating: .uint8(7), count: n)))
            try w.begin(); try w.finish()
            if refused {
                XCTAssertThrowsError(try GGUFFile(path: path)) { e in
                    guard case .absurdCount(path, "array element", UInt64(n), _)? = e as? GGUFError else { return XCTFail("\(e)") }
                }
            } else {
                guard case let .array(a)? = try GGUFFile(path: path).metadata["a"] else { return XCTFail("array not read") }
                XCTAssertEqual(a.count, n)
            }
        }
    }

    /// releasePages keeps the data readable (pages are re-read from the file).
    func testReleasePagesKeepsData() throws {
        let dir = try TestSupport.makeTempDir("gguf-rel", removedAfter: self).path
        let w = GGUFWriter(path: dir + "/r.gguf")
        let vals = (0 ..< 5000).map { Float($0) * 0.5 }
        try w.declareTensor(name: "big", type: .f32, shape: [5000])
        try w.begin(); try w.writeTensor(name: "big", values: vals); try w.finish()
        let g = try GGUFFile(path: dir + "/r.gguf")
        XCTAssertEqual(try g.tensor("big").floats(), vals)
        g.releasePages(of: ["big", "unknown"])
        XCTAssertEqual(try g.tensor("big").floats(), vals)
    }
}
