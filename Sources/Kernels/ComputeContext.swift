// A persistent pool of worker threads shared by all kernels of one pipeline.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import CKernels

/// Runs kernels over several cores. Create one per pipeline and reuse it: the worker
/// threads are started once, in `init`, and sleep on a condition variable between calls.
///
/// `parallelFor` splits [0, n) into contiguous chunks, one per thread. Kernels choose
/// their task decomposition from the problem shape only, never from `threads`, so
/// every output is computed by the same arithmetic whatever the thread count:
/// results are bit-identical for 1, 2 or more threads.
///
/// A `parallelFor` called from inside another one runs inline on the calling thread;
/// a call from a second thread while the pool is busy waits for the pool.
public final class ComputeContext: @unchecked Sendable {
    /// Number of threads taking part in `parallelFor` (the caller counts as one).
    public let threads: Int

    /// Scratch buffers owned by this context, one per thread slot.
    /// Allocated lazily, grown only when a larger shape appears, freed with the context.
    let scratch: [ScratchArena]

    /// Per-call preparation buffers (quantized activations), one per thread slot: a kernel
    /// called from slot s (or from outside any parallelFor: slot 0) uses prep[s].
    let prep: [ScratchArena]

    /// The instruction-set level every kernel of this context runs.
    public let isa: ISA
    /// The kernel implementations of `isa`.
    let kernels: KernelSet

    private let pool: WorkerPool

    /// Most worker threads a context starts: far more than any machine this runs on has cores,
    /// and few enough that a mistyped count cannot exhaust the process's threads or memory.
    public static let maxThreads = 1024

    /// - Parameters:
    ///   - threads: number of threads; nil = online cores. Values < 1 become 1, values above
    ///     `maxThreads` become `maxThreads` (each thread has its own scratch and stack).
    ///   - isa: the instruction-set level; nil = `ISA.active` (`REPTOK_ISA`, else the best
    ///     level of this CPU). Passing a level the CPU lacks is a programmer error (check
    ///     `ISA.isSupported` or use `ISA.resolve`).
    /// A context is driven by one thread at a time; kernels may be called from inside
    /// its own parallelFor bodies (they then run inline on that thread).
    public init(threads: Int? = nil, isa: ISA? = nil) {
        let isa = isa ?? ISA.active
        precondition(isa.isSupported, "ComputeContext: this CPU cannot run level \(isa)")
        let n = min(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), ComputeContext.maxThreads)
        self.threads = n
        self.scratch = (0..<n).map { _ in ScratchArena() }
        self.prep = (0..<n).map { _ in ScratchArena() }
        self.isa = isa
        self.kernels = KernelSet(isa)
        self.pool = WorkerPool(threads: n)
    }

    /// The prep arena of the calling thread's slot.
    func prepArena() -> ScratchArena { prep[SlotMarker.current(ObjectIdentifier(self)) ?? 0] }

    deinit { pool.stop() }

    /// Runs `body` over [0, n) split in at most `threads` contiguous chunks (chunk t goes
    /// to thread t). Chunking never changes the arithmetic of any single output.
    public func parallelFor(_ n: Int, _ body: (Range<Int>) -> Void) {
        parallelForSlots(n) { range, _ in body(range) }
    }

    /// As `parallelFor`, also passing the thread slot in [0, threads) so the body can use
    /// `scratch[slot]` without sharing it.
    func parallelForSlots(_ n: Int, _ body: (Range<Int>, Int) -> Void) {
        if n <= 0 { return }
        pool.run(n, shared: 0, owner: ObjectIdentifier(self), body)
    }

    /// As `parallelForSlots`, for items of equal work whose threads may not run at equal
    /// speed (a neighbour on the host, one core also streaming another's memory): the first
    /// three quarters of [0, n) are split in contiguous chunks as usual, the last quarter
    /// goes one item at a time to whichever thread is free. The body is then called more
    /// than once per slot, always with ascending ranges. Which thread computes an item never
    /// changes its arithmetic, so results stay bit-identical.
    func parallelForBalanced(_ n: Int, _ body: (Range<Int>, Int) -> Void) {
        if n <= 0 { return }
        pool.run(n, shared: n >= 2 * threads ? n / 4 : 0, owner: ObjectIdentifier(self), body)
    }
}

/// The threads and their hand-off state. Workers hold the pool strongly, the context
/// holds it too; `stop()` (from the context's deinit) lets the workers exit.
///
/// Hand-off: the caller publishes a job by bumping `generation`; workers that finished a
/// job recently are still spinning on it and start within ~0.1 µs; workers idle for longer
/// than the spin budget sleep on a condition variable and are woken by a broadcast (that
/// takes tens of µs on this VM, which is why a pure condition-variable pool cost ≈ 45 µs
/// per call). The caller spins the same way for completion before sleeping.
private final class WorkerPool: @unchecked Sendable {
    let threads: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    /// Shared counters, accessed only through the C atomics:
    /// [0] generation (bumped per job), [1] pending workers, [2] sleeping workers, [3] stop flag,
    /// [4] items of the shared tail handed out so far.
    private let counters: UnsafeMutablePointer<Int>
    private var busy = false            // a job is in flight (guarded by mutex)
    // The current job, published before the generation bump. Plain fields rather than a
    // stored closure, so that dispatching a job allocates nothing (a closure stored in a
    // property would need a heap context on every parallelFor).
    private var jobBody: ((Range<Int>, Int) -> Void)?   // valid only during `run`
    private var jobCount = 0                            // n of the parallelFor
    private var jobParts = 0                            // slots that get a chunk
    private var jobShared = 0                           // items at the end handed out one by one
    private var jobOwner: ObjectIdentifier?             // the context, for nested-call detection

    /// Runs the current job's chunk for `slot` (no-op for slots beyond the chunk count).
    private func runJob(slot: Int) {
        guard slot < jobParts, let body = jobBody, let owner = jobOwner else { return }
        let n = jobCount - jobShared, parts = jobParts
        SlotMarker.enter(owner, slot: slot)
        body((n * slot / parts)..<(n * (slot + 1) / parts), slot)
        if jobShared > 0 {
            while true {
                let i = n + rtk_atomic_add(claimed, 1) - 1
                if i >= jobCount { break }
                body(i..<(i + 1), slot)
            }
        }
        SlotMarker.leave()
    }

    /// Spin iterations (pause instructions) before sleeping: ≈ 50–100 µs; 0 when there are
    /// more threads than cores (a spinning thread would then hold a core another needs).
    private let spinBudget: Int

    init(threads: Int) {
        self.threads = threads
        spinBudget = threads <= ProcessInfo.processInfo.activeProcessorCount ? 4000 : 0
        mutex = .allocate(capacity: 1); pthread_mutex_init(mutex, nil)
        wake = .allocate(capacity: 1); pthread_cond_init(wake, nil)
        done = .allocate(capacity: 1); pthread_cond_init(done, nil)
        counters = .allocate(capacity: 8); counters.initialize(repeating: 0, count: 8)
        for slot in 1..<max(threads, 1) {
            let t = Thread { self.workerLoop(slot: slot) }
            t.stackSize = 1 << 20
            t.name = "reptok-kernel-\(slot)"
            t.start()
        }
    }

    deinit {
        pthread_mutex_destroy(mutex); mutex.deallocate()
        pthread_cond_destroy(wake); wake.deallocate()
        pthread_cond_destroy(done); done.deallocate()
        counters.deallocate()
    }

    private var generation: UnsafeMutablePointer<Int> { counters }
    private var pending: UnsafeMutablePointer<Int> { counters + 1 }
    private var sleepers: UnsafeMutablePointer<Int> { counters + 2 }
    private var stopFlag: UnsafeMutablePointer<Int> { counters + 3 }
    private var claimed: UnsafeMutablePointer<Int> { counters + 4 }

    func stop() {
        rtk_atomic_store(stopFlag, 1)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    private func workerLoop(slot: Int) {
        var seen = 0        // generation when the pool was created; the thread may start late
        while true {
            // wait for a new generation: spin, then sleep
            var spins = 0
            while rtk_atomic_load(generation) == seen && rtk_atomic_load(stopFlag) == 0 && spins < spinBudget {
                rtk_cpu_relax(); spins += 1
            }
            if rtk_atomic_load(generation) == seen && rtk_atomic_load(stopFlag) == 0 {
                pthread_mutex_lock(mutex)
                rtk_atomic_add(sleepers, 1)
                while rtk_atomic_load(generation) == seen && rtk_atomic_load(stopFlag) == 0 {
                    pthread_cond_wait(wake, mutex)
                }
                rtk_atomic_add(sleepers, -1)
                pthread_mutex_unlock(mutex)
            }
            if rtk_atomic_load(stopFlag) != 0 { return }
            seen = rtk_atomic_load(generation)
            runJob(slot: slot)
            if rtk_atomic_add(pending, -1) == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    private func acquire() {
        pthread_mutex_lock(mutex)
        while busy { pthread_cond_wait(done, mutex) }
        busy = true
        pthread_mutex_unlock(mutex)
    }

    private func release() {
        pthread_mutex_lock(mutex)
        busy = false
        pthread_cond_broadcast(done)
        pthread_mutex_unlock(mutex)
    }

    /// Runs body over [0, n): the first n − shared items in one contiguous chunk per slot,
    /// the last `shared` items one at a time to whichever slot asks first.
    func run(_ n: Int, shared: Int, owner: ObjectIdentifier, _ body: (Range<Int>, Int) -> Void) {
        if let slot = SlotMarker.current(owner) {   // nested: already inside this pool
            body(0..<n, slot)
            return
        }
        let parts = min(threads, n)
        acquire()
        defer { release() }
        if parts == 1 {
            SlotMarker.enter(owner, slot: 0)
            body(0..<n, 0)
            SlotMarker.leave()
            return
        }
        withoutActuallyEscaping(body) { body in
            jobBody = body
            jobCount = n
            jobParts = parts
            jobShared = shared
            jobOwner = owner
            rtk_atomic_store(claimed, 0)
            rtk_atomic_store(pending, threads - 1)
            rtk_atomic_add(generation, 1)
            if rtk_atomic_load(sleepers) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            runJob(slot: 0)
            var spins = 0
            while rtk_atomic_load(pending) > 0 && spins < spinBudget { rtk_cpu_relax(); spins += 1 }
            if rtk_atomic_load(pending) > 0 {
                pthread_mutex_lock(mutex)
                while rtk_atomic_load(pending) > 0 { pthread_cond_wait(done, mutex) }
                pthread_mutex_unlock(mutex)
            }
            jobBody = nil
            jobOwner = nil
        }
    }
}

/// Thread-local record "this thread is inside a job of pool X, at slot s", kept in two
/// pthread keys as raw pointer-sized values (the owner's identity, and slot + 1), so that
/// entering and leaving a job allocates nothing.
enum SlotMarker {
    private static let ownerKey: pthread_key_t = makeKey()
    private static let slotKey: pthread_key_t = makeKey()

    private static func makeKey() -> pthread_key_t {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }

    static func enter(_ owner: ObjectIdentifier, slot: Int) {
        pthread_setspecific(ownerKey, UnsafeRawPointer(bitPattern: UInt(bitPattern: owner)))
        pthread_setspecific(slotKey, UnsafeRawPointer(bitPattern: slot + 1))
    }

    static func leave() {
        pthread_setspecific(ownerKey, nil)
        pthread_setspecific(slotKey, nil)
    }

    static func current(_ owner: ObjectIdentifier) -> Int? {
        guard let o = pthread_getspecific(ownerKey), let s = pthread_getspecific(slotKey),
              UInt(bitPattern: o) == UInt(bitPattern: owner) else { return nil }
        return Int(bitPattern: s) - 1
    }
}

/// Per-thread scratch memory: a 64-byte aligned buffer grown on demand, never shrunk.
final class ScratchArena: @unchecked Sendable {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    /// Returns at least `bytes` bytes, 64-byte aligned; contents are unspecified.
    /// The pointer stays valid until the next call to `buffer` on this arena.
    func buffer(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes > capacity || base == nil {
            base?.deallocate()
            capacity = max(bytes, capacity + capacity / 2, 4096)
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        }
        return base!
    }

    deinit { base?.deallocate() }
}
