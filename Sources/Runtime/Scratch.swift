// Scratch buffers: allocated once per shape, zero-filled, reused across steps, freed on deinit.

/// A float buffer owned by a model component. Allocation happens once, in the component's
/// set-up; the forward passes only read and write it.
final class FloatBuffer {
    /// Start of `count` floats.
    let p: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { p.deallocate() }

    /// Copies `values` (at most `count`) into the buffer.
    func load(_ values: [Float]) {
        precondition(values.count <= count, "FloatBuffer.load: \(values.count) values into \(count)")
        values.withUnsafeBufferPointer { if let from = $0.baseAddress { p.update(from: from, count: values.count) } }
    }

    /// The first `n` values (default all) as an array.
    func array(_ n: Int? = nil) -> [Float] { Array(UnsafeBufferPointer(start: p, count: n ?? count)) }
}
