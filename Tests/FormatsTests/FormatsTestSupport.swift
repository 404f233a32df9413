// Helpers of the FormatsTests only (the shared ones are in the TestSupport target).
import Formats
import Foundation
import TestSupport
import XCTest

/// Runs a Python script printing `{"pickles": {protocol: hex}, "value": json}` and reads each
/// protocol's pickle with the restricted unpickler as hyper-parameters. Returns Python's value and
/// ours per protocol (sorted), failing the test when Python fails.
func unpicklePythonPickles(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> (expected: ConfigValue, read: [(proto: String, value: ConfigValue)]) {
    let r = try TestSupport.runPython(["-c", script])
    XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    struct Out: Decodable { let pickles: [String: String]; let value: ConfigValue }
    let o = try JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8))
    let read = try o.pickles.sorted(by: { $0.key < $1.key }).map { proto, hex -> (String, ConfigValue) in
        var bytes: [UInt8] = []
        var it = hex.makeIterator()
        while let h = it.next(), let l = it.next() { bytes.append(UInt8(String([h, l]), radix: 16)!) }
        return (proto, try bytes.withUnsafeBytes { try RestrictedUnpickler(source: "protocol \(proto)").load($0) { TorchCheckpoint.plainConfig($0) } })
    }
    return (o.value, read)
}

