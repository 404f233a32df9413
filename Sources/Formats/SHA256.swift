// SHA-256 (FIPS 180-4), streaming; used to record the source checkpoint's digest in converted files.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CHash
import Foundation
import Support

/// Incremental SHA-256. `update` any number of times, then `finalize()` once.
///
/// Whole 64-byte blocks go through the CPU's SHA instructions where it has them (x86-64 SHA
/// extensions, AArch64 SHA2; `CHash`), about 8× the portable loop below on a Zen 4 (2.0 against
/// 0.25 GB/s), which matters because `convert` hashes the whole source checkpoint (about 8 GB
/// for the release). The portable loop is the reference the tests hold them to.
public struct SHA256 {
    /// How whole blocks are compressed.
    public enum Implementation: Sendable {
        /// The Swift loop of FIPS 180-4, on any CPU.
        case portable
        /// The CPU's SHA instructions; only where `instructionsAvailable`.
        case instructions
    }

    /// Whether this CPU (and OS) offers SHA-256 instructions that `CHash` uses.
    public static let instructionsAvailable = rtk_sha256_instructions() != 0

    private let useInstructions: Bool
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// Pending bytes of an incomplete 64-byte block.
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var buffered = 0
    /// Total message length in bytes.
    private var length: UInt64 = 0

    /// FIPS 180-4's 64 round constants (one table, in CHash, for both paths).
    private static let k = UnsafeBufferPointer(start: rtk_sha256_round_constants(), count: 64)

    /// A hasher using the CPU's instructions when it has them.
    public init() { useInstructions = SHA256.instructionsAvailable }

    /// A hasher using `implementation`; `.instructions` falls back to `.portable` where the CPU
    /// has none (check `instructionsAvailable` to know which one runs).
    public init(implementation: Implementation) {
        useInstructions = implementation == .instructions && SHA256.instructionsAvailable
    }

    /// Adds `data` to the message.
    public mutating func update(_ data: UnsafeRawBufferPointer) {
        guard data.count > 0 else { return }
        length &+= UInt64(data.count)
        var i = 0
        if buffered > 0 {
            let n = min(64 - buffered, data.count)
            for j in 0 ..< n { buffer[buffered + j] = data[j] }
            buffered += n
            i = n
            if buffered == 64 {
                buffer.withUnsafeBytes { compressBlocks($0.baseAddress!, 1) }
                buffered = 0
            }
        }
        let blocks = (data.count - i) / 64
        if blocks > 0 {
            compressBlocks(data.baseAddress! + i, blocks)
            i += 64 * blocks
        }
        while i < data.count { buffer[buffered] = data[i]; buffered += 1; i += 1 }
    }

    /// Adds `bytes` to the message.
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. The hasher must not be updated afterwards.
    public mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var pad: [UInt8] = [0x80]
        let afterOne = (buffered + 1) % 64
        pad += [UInt8](repeating: 0, count: afterOne <= 56 ? 56 - afterOne : 120 - afterOne)
        for s in stride(from: 56, through: 0, by: -8) { pad.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(s))) }
        let savedLength = length
        pad.withUnsafeBytes { update($0) }
        length = savedLength
        precondition(buffered == 0, "SHA-256 padding did not end on a block boundary")
        var out: [UInt8] = []
        for w in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            out += [UInt8(w >> 24), UInt8((w >> 16) & 0xff), UInt8((w >> 8) & 0xff), UInt8(w & 0xff)]
        }
        return out
    }

    /// Lower-case hex of a digest.
    public static func hex(_ digest: [UInt8]) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    /// Hex digest of `bytes`.
    public static func hash<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = SHA256(); s.update(bytes); return hex(s.finalize())
    }

    /// Hex digest of a whole file, read in 4 MiB chunks with `read(2)` (the file is not mapped, so it
    /// does not add to RSS).
    public static func hashFile(path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileAccessError.cannotOpen(path: path, reason: errnoMessage()) }
        defer { close(fd) }
        var s = SHA256()
        let chunk = 4 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buf.deallocate() }
        while true {
            let n = read(fd, buf, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileAccessError.cannotOpen(path: path, reason: errnoMessage())
            }
            if n == 0 { break }
            s.update(UnsafeRawBufferPointer(start: buf, count: n))
        }
        return hex(s.finalize())
    }

    /// `count` consecutive 64-byte blocks.
    private mutating func compressBlocks(_ p: UnsafeRawPointer, _ count: Int) {
        if useInstructions {
            // h is eight UInt32s in a homogeneous tuple: contiguous, in order a…h.
            withUnsafeMutableBytes(of: &h) { state in
                rtk_sha256_blocks(state.baseAddress!.assumingMemoryBound(to: UInt32.self),
                                  p.assumingMemoryBound(to: UInt8.self), count)
            }
        } else {
            for b in 0 ..< count { compress(p + 64 * b) }
        }
    }

    /// One 64-byte block, portably.
    private mutating func compress(_ p: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0 ..< 16 { w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self)) }
            for t in 16 ..< 64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = h
            let k = SHA256.k
            for t in 0 ..< 64 {
                let S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ S1 &+ ch &+ k[t] &+ w[t]
                let S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = S0 &+ maj
                hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
        }
    }
}

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
