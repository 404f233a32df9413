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
/// a `parallelFor` from a second thread while the pool is busy waits for the pool. The
/// kernels, though, keep per-call data in the context between their parallel steps (the
/// quantized activations of a W8A8 product, GroupNorm's sums): call the kernels of one
/// context from one thread at a time, and give each calling thread its own context.
public final class ComputeContext: @unchecked Sendable {
    /// Number of threads taking part in `parallelFor` (the caller counts as one): the count
    /// asked for, clamped to `threadLimit`, or fewer if the system refused to start more.
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

    /// Most threads a caller may ask for: far more than any machine this runs on has cores,
    /// and few enough that a mistyped count cannot exhaust the process's threads or memory.
    public static let maxThreads = 1024

    /// Most threads a context starts on this machine: 4 per online core, at least 16. More
    /// threads than cores only take turns on them (results are the same bits for any count),
    /// while each costs a stack, its own scratch (about 1 MB in a VAE convolution) and a
    /// wake-up per parallel step: 256 threads on 2 cores ran a decode 3× slower in 1.4× the
    /// memory.
    public static var threadLimit: Int { max(16, 4 * ProcessInfo.processInfo.activeProcessorCount) }

    /// - Parameters:
    ///   - threads: number of threads; nil = online cores. Values < 1 become 1, values above
    ///     `threadLimit` become `threadLimit` (each thread has its own scratch and stack).
    ///   - isa: the instruction-set level; nil = `ISA.active` (`REPTOK_ISA`, else the best
    ///     level of this CPU). Passing a level the CPU lacks is a programmer error (check
    ///     `ISA.isSupported` or use `ISA.resolve`).
    /// A context is driven by one thread at a time; kernels may be called from inside
    /// its own parallelFor bodies (they then run inline on that thread).
    public convenience init(threads: Int? = nil, isa: ISA? = nil) {
        self.init(threads: threads, isa: isa, startingAtMost: Int.max)
    }

    /// As `init(threads:isa:)`; `startingAtMost` caps the worker threads started, as the
    /// system's thread limit would (tests).
    init(threads: Int?, isa: ISA?, startingAtMost: Int) {
        let isa = isa ?? ISA.active
        precondition(isa.isSupported, "ComputeContext: this CPU cannot run level \(isa)")
        let asked = min(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), ComputeContext.threadLimit)
        self.pool = WorkerPool(threads: asked, startingAtMost: startingAtMost)
        let n = pool.threads
        self.threads = n
        self.scratch = (0..<n).map { _ in ScratchArena() }
        self.prep = (0..<n).map { _ in ScratchArena() }
        self.isa = isa
        self.kernels = KernelSet(isa)
    }

    /// Frees every thread's scratch and preparation buffers (they grow again when used).
    /// For low-memory runs between stages; never call it from inside a `parallelFor`.
    public func releaseScratch() {
        for a in scratch { a.release() }
        for a in prep { a.release() }
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
    private(set) var threads: Int
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
        let outer = SlotMarker.enter(owner, slot: slot)
        body((n * slot / parts)..<(n * (slot + 1) / parts), slot)
        if jobShared > 0 {
            while true {
                let i = n + rtk_atomic_add(claimed, 1) - 1
                if i >= jobCount { break }
                body(i..<(i + 1), slot)
            }
        }
        SlotMarker.leave(restoring: outer)
    }

    /// Spin iterations (pause instructions) before sleeping: ≈ 50–100 µs; 0 when there are
    /// more threads than cores (a spinning thread would then hold a core another needs).
    private let spinBudget: Int

    /// Starts `threads − 1` workers (the caller is the last thread), fewer if the system
    /// refuses one (a process or memory limit) or past `startingAtMost` workers: `threads`
    /// is then the number that runs, so no job ever waits for a worker that does not exist.
    init(threads asked: Int, startingAtMost: Int) {
        mutex = .allocate(capacity: 1); pthread_mutex_init(mutex, nil)
        wake = .allocate(capacity: 1); pthread_cond_init(wake, nil)
        done = .allocate(capacity: 1); pthread_cond_init(done, nil)
        counters = .allocate(capacity: 8); counters.initialize(repeating: 0, count: 8)
        threads = 1
        spinBudget = asked <= ProcessInfo.processInfo.activeProcessorCount ? 4000 : 0
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, 1 << 20)
        while threads < asked && threads <= startingAtMost {
            let start = Unmanaged.passRetained(WorkerStart(pool: self, slot: threads)).toOpaque()
            var id = pthread_t()
            guard pthread_create(&id, &attr, { arg in
                let s = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                s.pool.workerLoop(slot: s.slot)
                return nil
            }, start) == 0 else {
                Unmanaged<WorkerStart>.fromOpaque(start).release()
                break
            }
            pthread_detach(id)
            threads += 1
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
        rtk_name_thread("reptok-k\(slot)")   // at most 15 bytes for slots below 10^7
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
            let outer = SlotMarker.enter(owner, slot: 0)
            body(0..<n, 0)
            SlotMarker.leave(restoring: outer)
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

/// What a new worker thread needs: its pool (held strongly) and its slot.
private final class WorkerStart {
    let pool: WorkerPool
    let slot: Int
    init(pool: WorkerPool, slot: Int) { self.pool = pool; self.slot = slot }
}

/// Thread-local record "this thread is inside a job of pool X, at slot s", kept in two
/// pthread keys as raw pointer-sized values (the owner's identity, and slot + 1), so that
/// entering and leaving a job allocates nothing. A job of another context run from inside a
/// job saves the outer record and restores it on leaving, so the outer context still sees
/// its own nested calls as nested.
enum SlotMarker {
    /// The record `enter` replaced.
    struct Saved {
        fileprivate let owner: UnsafeMutableRawPointer?
        fileprivate let slot: UnsafeMutableRawPointer?
    }

    private static let ownerKey: pthread_key_t = makeKey()
    private static let slotKey: pthread_key_t = makeKey()

    private static func makeKey() -> pthread_key_t {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }

    static func enter(_ owner: ObjectIdentifier, slot: Int) -> Saved {
        let saved = Saved(owner: pthread_getspecific(ownerKey), slot: pthread_getspecific(slotKey))
        pthread_setspecific(ownerKey, UnsafeRawPointer(bitPattern: UInt(bitPattern: owner)))
        pthread_setspecific(slotKey, UnsafeRawPointer(bitPattern: slot + 1))
        return saved
    }

    static func leave(restoring saved: Saved) {
        pthread_setspecific(ownerKey, saved.owner)
        pthread_setspecific(slotKey, saved.slot)
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

    /// Frees the buffer; the next `buffer` call allocates again.
    func release() {
        base?.deallocate()
        base = nil
        capacity = 0
    }

    deinit { base?.deallocate() }
}
