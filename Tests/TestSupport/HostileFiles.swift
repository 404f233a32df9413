// Builders of hand-made checkpoints for the hostile-input tests of the Formats and Quant tests:
// pickle bytes written opcode by opcode, and zips written by Python's zipfile (an independent writer).
import Foundation
import XCTest

/// Builds pickle bytes by hand (protocol 2 opcodes) for hostile-input tests.
public struct PickleBytes {
    public var b: [UInt8] = [0x80, 2]
    public init() {}
    public mutating func op(_ c: Character) { b.append(UInt8(ascii: c.unicodeScalars.first!)) }
    public mutating func str(_ s: String) { op("X"); let u = Array(s.utf8); withUnsafeBytes(of: UInt32(u.count).littleEndian) { b += $0 }; b += u }
    public mutating func int(_ i: Int) {
        if let v = Int32(exactly: i) { op("J"); withUnsafeBytes(of: v.littleEndian) { b += $0 }; return }
        b.append(0x8a); b.append(8); withUnsafeBytes(of: Int64(i).littleEndian) { b += $0 }   // LONG1
    }
    public mutating func global(_ m: String, _ n: String) { op("c"); b += Array("\(m)\n\(n)\n".utf8) }
    /// `_rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, shape, stride, False, OrderedDict())`
    public mutating func tensor(key: String, numel: Int, shape: [Int], stride: [Int], offset: Int = 0) {
        global("torch._utils", "_rebuild_tensor_v2")
        op("(")
        op("("); str("storage"); global("torch", "FloatStorage"); str(key); str("cpu"); int(numel); op("t")
        op("Q")
        int(offset)
        op("("); for s in shape { int(s) }; op("t")
        op("("); for s in stride { int(s) }; op("t")
        b.append(0x89)
        global("collections", "OrderedDict"); op(")"); op("R")
        op("t"); op("R")
    }
}

/// Wraps members into a stored zip with Python's zipfile (an independent writer).
public func writeZip(_ path: String, members: [(String, [UInt8])], deflate: Set<String> = []) throws {
    let dir = (path as NSString).deletingLastPathComponent
    var args = [String]()
    for (i, m) in members.enumerated() {
        let p = dir + "/.member\(i)"
        try Data(m.1).write(to: URL(fileURLWithPath: p))
        args += [m.0, p, deflate.contains(m.0) ? "1" : "0"]
    }
    let script = """
    import sys, zipfile, os
    a = sys.argv[2:]
    with zipfile.ZipFile(sys.argv[1], 'w') as z:
        for i in range(0, len(a), 3):
            z.writestr(a[i], open(a[i+1], 'rb').read(), compress_type=zipfile.ZIP_DEFLATED if a[i+2] == '1' else zipfile.ZIP_STORED)
            os.remove(a[i+1])
    """
    let r = try TestSupport.runPython(["-c", script, path] + args)
    XCTAssertEqual(r.status, 0, r.stderr)
}
