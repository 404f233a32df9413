import XCTest
@testable import Kernels

/// The short-vector load and store every kernel tail goes through: each count 0–15, the
/// lanes past it, and no access past the last element (the input ends at a PROT_NONE page).
final class PartialVectorTests: XCTestCase {
    func testLoadPartialReadsOnlyCountLanes() throws {
        for count in 0..<16 {
            let values = (0..<count).map { Float($0) + 0.5 }
            let fill: Float = -3
            let v = try Q4RowKernelTests.withGuarded(values + (count == 0 ? [0] : [])) { p in
                loadPartial(p, count, fill: fill)
            }
            for lane in 0..<16 {
                XCTAssertEqual(v[lane], lane < count ? values[lane] : fill, "count \(count) lane \(lane)")
            }
        }
    }

    func testStorePartialWritesOnlyCountLanes() {
        let sentinel: Float = -7777
        for count in 0..<16 {
            var buffer = [Float](repeating: sentinel, count: 20)
            let v = SIMD16<Float>((0..<16).map { Float($0) + 1 })
            buffer.withUnsafeMutableBufferPointer { storePartial(v, $0.baseAddress! + 2, count) }
            for i in 0..<20 {
                let expected = (2..<(2 + count)).contains(i) ? Float(i - 1) : sentinel
                XCTAssertEqual(buffer[i], expected, "count \(count) element \(i)")
            }
        }
    }
}
