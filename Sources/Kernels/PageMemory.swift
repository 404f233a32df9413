// Large, long-lived buffers taken from the kernel directly.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Anonymous pages from `mmap`, given back with `munmap` when released: for the weight copies
/// (`Q4Strips`, `I8Panels`, hundreds of MB each component) whose release must lower resident
/// memory at once. Through malloc they did not always: once a large block is freed, glibc raises
/// its mmap threshold (up to 32 MB) and serves the next copies from its heap, whose freed
/// space it may keep; a release-size int4 `generate` then peaked at 376 or 437 MB from one run
/// to the next. Pages are zero and at least 4 KB aligned.
struct PageMemory {
    let base: UnsafeMutableRawPointer
    let bytes: Int

    /// nil when the kernel refuses the mapping (no memory, or a limit).
    init?(bytes: Int) {
        let n = max(bytes, 1)
        guard let p = mmap(nil, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return nil
        }
        base = p
        self.bytes = n
    }

    /// Unmaps the pages; `base` must not be used afterwards.
    func release() { _ = munmap(base, bytes) }
}
