// libFuzzer entry point for the ImageIO readers, compiled into module ImageIO by tools/fuzz.sh
// (never part of the SwiftPM build). REPTOK_FUZZ_TARGET picks the reader: npy, png or jpeg; each
// input goes through `ImageReaderProbe`, which the regression tests also use.
import Foundation

/// The reader under test, read once.
private let fuzzTarget = ProcessInfo.processInfo.environment["REPTOK_FUZZ_TARGET"] ?? ""

@_cdecl("LLVMFuzzerTestOneInput")
public func reptokFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    switch fuzzTarget {
    case "npy": _ = try? ImageReaderProbe.npy(bytes)
    case "png": _ = try? ImageReaderProbe.png(bytes)
    case "jpeg": _ = try? ImageReaderProbe.jpeg(bytes)
    default: fatalError("set REPTOK_FUZZ_TARGET to npy, png or jpeg (got \"\(fuzzTarget)\")")
    }
    return 0
}
