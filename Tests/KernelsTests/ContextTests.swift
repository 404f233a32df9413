import XCTest
import Kernels

/// The thread pool: every index visited once, nested calls inline, contexts can be released.
final class ContextTests: XCTestCase {
    func testParallelForCoversEveryIndexOnce() {
        for threads in [1, 2, 3, 5] {
            let ctx = ComputeContext(threads: threads)
            for n in [0, 1, 2, 7, 100] {
                var hits = [Int](repeating: 0, count: n)
                hits.withUnsafeMutableBufferPointer { h in
                    let p = h.baseAddress
                    for _ in 0..<3 { ctx.parallelFor(n) { r in for i in r { p![i] += 1 } } }
                }
                XCTAssertEqual(hits, [Int](repeating: 3, count: n), "threads \(threads) n \(n)")
            }
        }
    }

    func testNestedParallelForRunsInline() {
        let ctx = ComputeContext(threads: 2)
        var total = [Int](repeating: 0, count: 2)
        total.withUnsafeMutableBufferPointer { t in
            let p = t.baseAddress!
            ctx.parallelFor(2) { outer in
                for o in outer { ctx.parallelFor(10) { inner in p[o] += inner.count } }
            }
        }
        XCTAssertEqual(total, [10, 10])
    }

    func testManyContextsCreatedAndReleased() {
        for _ in 0..<50 {
            let ctx = ComputeContext(threads: 2)
            var x = 0
            withUnsafeMutablePointer(to: &x) { p in ctx.parallelFor(1) { _ in p.pointee += 1 } }
            XCTAssertEqual(x, 1)
        }
    }
}
