import XCTest
import Foundation
import CKernels
@testable import Kernels
import TestSupport

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

    /// The balanced split: every index once per call, each slot's calls in ascending order and
    /// within [0, threads), the shared tail handed out one item at a time.
    func testBalancedCoversEveryIndexOnceInAscendingCalls() {
        for threads in [1, 2, 3, 5] {
            let ctx = ComputeContext(threads: threads)
            for n in [0, 1, 2, 3, 7, 8, 10, 100, 257] {
                var hits = [Int](repeating: 0, count: n)
                var last = [Int](repeating: -1, count: threads)
                let singles = UnsafeMutablePointer<Int>.allocate(capacity: 1)
                defer { singles.deallocate() }
                var ok = true
                hits.withUnsafeMutableBufferPointer { h in
                last.withUnsafeMutableBufferPointer { l in
                    let hp = h.baseAddress, lp = l.baseAddress!
                    for _ in 0..<3 {
                        for s in 0..<threads { lp[s] = -1 }
                        singles.pointee = 0
                        ctx.parallelForBalanced(n) { r, slot in
                            if slot < 0 || slot >= threads || r.lowerBound <= lp[slot] { ok = false; return }
                            lp[slot] = r.upperBound - 1
                            for i in r { hp![i] += 1 }
                            if r.count == 1 { _ = rtk_atomic_add(singles, 1) }
                        }
                    }
                } }
                XCTAssertTrue(ok, "threads \(threads) n \(n): a slot out of range or a call out of order")
                XCTAssertEqual(hits, [Int](repeating: 3, count: n), "threads \(threads) n \(n)")
                if threads > 1 && n >= 2 * threads {
                    XCTAssertGreaterThanOrEqual(singles.pointee, n / 4, "threads \(threads) n \(n): the tail was not handed out one by one")
                }
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

    /// Thousands of back-to-back jobs exercise the spin / sleep hand-off both ways. The jobs run
    /// on a thread of their own and the wait for them is bounded, so a lost wake-up fails this
    /// test instead of hanging the suite: the 5,000 calls take milliseconds; 30 s (scaled by
    /// `TestSupport.slowdown`) leaves room for a loaded machine and is far below a hang.
    func testManyShortJobs() throws {
        for threads in [2, 3] {
            let ctx = ComputeContext(threads: threads)
            let hits = try TestSupport.runBounded("5,000 jobs on \(threads) threads", within: 30) { () -> [Int] in
                var hits = [Int](repeating: 0, count: threads)
                hits.withUnsafeMutableBufferPointer { h in
                    let p = h.baseAddress!
                    for i in 0..<5_000 {
                        ctx.parallelFor(threads) { r in for t in r { p[t] += 1 } }
                        if i % 1000 == 0 { usleep(1000) }      // let the workers fall asleep now and then
                    }
                }
                return hits
            }
            XCTAssertEqual(hits, [Int](repeating: 5_000, count: threads))
        }
    }

    /// Two threads sharing one context: calls are serialized, none is lost. The wait is bounded,
    /// so a deadlock in the hand-off fails this test instead of hanging the suite: the 4,000
    /// calls take milliseconds; 30 s (scaled by `TestSupport.slowdown`) leaves room for a
    /// loaded machine and is far below a hang.
    func testTwoCallerThreads() {
        let ctx = ComputeContext(threads: 2)
        nonisolated(unsafe) let counts = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        counts.initialize(repeating: 0, count: 4)
        let group = DispatchGroup()
        for caller in 0..<2 {
            group.enter()
            Thread {
                for _ in 0..<2000 { ctx.parallelFor(2) { r in for t in r { counts[caller * 2 + t] += 1 } } }
                group.leave()
            }.start()
        }
        let limit = 30 * TestSupport.slowdown
        guard group.wait(timeout: .now() + limit) == .success else {
            // `counts` is left allocated: the stuck callers may still write to it.
            return XCTFail("the two callers did not finish within \(limit) s: deadlock in the context's hand-off")
        }
        XCTAssertEqual((0..<4).map { counts[$0] }, [2000, 2000, 2000, 2000])
        counts.deallocate()
    }

    func testManyContextsCreatedAndReleased() {
        for _ in 0..<50 {
            let ctx = ComputeContext(threads: 2)
            var x = 0
            withUnsafeMutablePointer(to: &x) { p in ctx.parallelFor(1) { _ in p.pointee += 1 } }
            XCTAssertEqual(x, 1)
        }
    }

    /// When the system starts fewer workers than asked (a process limit, modelled here by
    /// `startingAtMost`), the context runs with those it has: `threads` says how many, and a
    /// job covers every item once instead of waiting for workers that never started (before,
    /// the first parallel call hung). Bounded, as above.
    func testFewerWorkersThanAsked() throws {
        for started in [0, 1, 2] {
            let ctx = ComputeContext(threads: 8, isa: nil, startingAtMost: started)
            XCTAssertEqual(ctx.threads, started + 1)
            let hits = try TestSupport.runBounded("a job with \(started) of 7 workers", within: 30) { () -> [Int] in
                var hits = [Int](repeating: 0, count: 100)
                hits.withUnsafeMutableBufferPointer { h in
                    let p = h.baseAddress!
                    for _ in 0..<50 { ctx.parallelFor(100) { r in for i in r { p[i] += 1 } } }
                }
                return hits
            }
            XCTAssertEqual(hits, [Int](repeating: 50, count: 100), "\(started) workers")
        }
    }

    /// A job of context B run inside a job of context A leaves A's record of the thread as it
    /// was: A's next nested call still runs inline (before, it waited for A's busy pool forever).
    func testNestedJobOfAnotherContext() throws {
        let a = ComputeContext(threads: 2), b = ComputeContext(threads: 2)
        let total = try TestSupport.runBounded("nested jobs of two contexts", within: 30) { () -> [Int] in
            var total = [0, 0]
            total.withUnsafeMutableBufferPointer { t in
                let p = t.baseAddress!
                a.parallelFor(2) { outer in
                    for o in outer {
                        b.parallelFor(4) { _ in }
                        a.parallelFor(10) { inner in p[o] += inner.count }
                    }
                }
            }
            return total
        }
        XCTAssertEqual(total, [10, 10])
    }

    /// Counts beyond `threadLimit` start only that many threads; the limit leaves room for
    /// more threads than cores, as the tests use.
    func testThreadLimit() {
        XCTAssertGreaterThanOrEqual(ComputeContext.threadLimit, 16)
        XCTAssertEqual(ComputeContext(threads: ComputeContext.maxThreads).threads, ComputeContext.threadLimit)
        XCTAssertEqual(ComputeContext(threads: 7).threads, 7)
    }

    /// `releaseScratch` frees the buffers, and the kernels grow them again: a product after it
    /// gives the same bits as before.
    func testReleaseScratch() {
        let ctx = ComputeContext(threads: 2)
        var rng = TestRNG(11)
        let a = rng.floats(20 * 70), wq = rng.int8s(30 * 70), ws = [Float](repeating: 0.01, count: 30)
        func run() -> [Float] {
            var c = [Float](repeating: .nan, count: 20 * 30)
            wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                let w = WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: 30, k: 70)
                matmul(a, lda: 70, m: 20, w, bias: nil, into: &c, ldc: 30, mode: .w8a8, ctx: ctx)
            } }
            return c
        }
        let before = run()
        ctx.releaseScratch()
        XCTAssertEqual(run().map(\.bitPattern), before.map(\.bitPattern))
    }
}
