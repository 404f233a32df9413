import Foundation
import Formats
import Support
import TestSupport
import XCTest

/// SHA-256 on the CPU's instructions (CHash) against the portable Swift loop, and both against
/// FIPS 180-4's example digests. Exact equality: a hash has no tolerance.
final class SHA256Tests: XCTestCase {
    /// Both implementations where the CPU runs them; the portable one alone elsewhere.
    private var implementations: [SHA256.Implementation] {
        SHA256.instructionsAvailable ? [.portable, .instructions] : [.portable]
    }

    private func digest(_ bytes: [UInt8], _ impl: SHA256.Implementation) -> String {
        var s = SHA256(implementation: impl)
        s.update(bytes)
        return SHA256.hex(s.finalize())
    }

    /// `instructionsAvailable` agrees with what the kernel reports (x86-64 `sha_ni`, AArch64
    /// `sha2`), so the comparison below cannot silently compare the portable loop with itself
    /// on a CPU that has the instructions.
    func testDetectionAgreesWithCPUInfo() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") || $0.hasPrefix("Features") }) else {
            throw XCTSkip("/proc/cpuinfo lists no flags")
        }
        let flags = Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
        #if arch(x86_64)
        XCTAssertEqual(SHA256.instructionsAvailable, flags.contains("sha_ni"), line.description)
        #elseif arch(arm64)
        XCTAssertEqual(SHA256.instructionsAvailable, flags.contains("sha2"), line.description)
        #endif
    }

    /// FIPS 180-4 examples (one block, two blocks, a million bytes) through each implementation.
    func testFIPSExamples() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let cases: [([UInt8], String)] = [
            ([], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                    + "mnopqrstnopqrstu").utf8),
             "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
            (million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        ]
        for impl in implementations {
            for (msg, want) in cases { XCTAssertEqual(digest(msg, impl), want, "\(impl), \(msg.count) bytes") }
        }
    }

    /// Every length from 0 to 320 bytes (every padding case, 0 to 5 blocks) and one of 4 MiB + 13,
    /// pseudo-random bytes fed in pseudo-random pieces: the instructions give the portable digest.
    func testInstructionsMatchPortable() throws {
        guard SHA256.instructionsAvailable else {
            throw XCTSkip("this CPU has no SHA-256 instructions; only the portable loop runs here (testFIPSExamples)")
        }
        var rng = SplitMix64(state: 7)
        for n in Array(0 ... 320) + [(4 << 20) + 13] {
            let msg = (0 ..< n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var fast = SHA256(implementation: .instructions)
            var i = 0
            while i < n {
                let piece = min(n - i, Int(rng.next() % 200) + (rng.next() % 4 == 0 ? 64 * 1024 : 0))
                fast.update(msg[i ..< i + piece])
                i += piece
            }
            XCTAssertEqual(SHA256.hex(fast.finalize()), digest(msg, .portable), "\(n) bytes")
        }
    }
}
