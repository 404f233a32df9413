// libFuzzer entry point for the file-format readers, compiled into module Formats by tools/fuzz.sh
// (never part of the SwiftPM build). REPTOK_FUZZ_TARGET picks the reader: pickle, zip,
// safetensors, gguf or config (the YAML and JSON config readers). Each input goes through `ReaderProbe`, which the regression tests also use;
// a value or a thrown error is fine, anything else (a trap, an out-of-bounds access, a leak, a hang)
// is a finding.
import Foundation

/// The reader under test, read once.
private let fuzzTarget = ProcessInfo.processInfo.environment["REPTOK_FUZZ_TARGET"] ?? ""

/// A per-process scratch file for the readers that take a path.
private let fuzzFile = "/dev/shm/reptok-fuzz-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func reptokFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if fuzzTarget == "pickle" {
        _ = try? ReaderProbe.pickle(bytes)
        return 0
    }
    if fuzzTarget == "config" {
        _ = ReaderProbe.config(bytes)
        return 0
    }
    guard FileManager.default.createFile(atPath: fuzzFile, contents: Data(bytes)) else { fatalError("cannot write \(fuzzFile)") }
    defer { unlink(fuzzFile) }
    switch fuzzTarget {
    case "zip": _ = try? ReaderProbe.zip(path: fuzzFile)
    case "safetensors": _ = try? ReaderProbe.safetensors(path: fuzzFile)
    case "gguf": _ = try? ReaderProbe.gguf(path: fuzzFile)
    default: fatalError("set REPTOK_FUZZ_TARGET to pickle, zip, safetensors, gguf or config (got \"\(fuzzTarget)\")")
    }
    return 0
}
