// Hostile files whose headers claim absurd sizes: each `reptok` command that reads one stops with
// a clear one-line error (exit status 2) within seconds and 100 MB of peak memory, never a crash or
// a failed allocation. Memory and time are measured on the child process (`wait4`), so they cover
// the whole command: start-up, reading, and the error.
import Foundation
import TestSupport
import XCTest

final class HostileFileTests: XCTestCase {
    /// Bounds every hostile file must stay within (the whole command, start-up included;
    /// the time scaled by `TestSupport.slowdown` under emulation). A healthy run takes a few
    /// tens of milliseconds; 5 s leaves room for a process start on a loaded machine (a 1 s
    /// bound was once exceeded by 0.04 s that way) and still catches a reader that walks the
    /// claimed sizes, which takes minutes.
    static let seconds = 5.0
    static let maxSeconds = seconds * TestSupport.slowdown
    static let maxRSSBytes = 100 << 20

    struct Measured { let status: Int32; let stderr: String; let seconds: Double; let maxRSSBytes: Int; let killed: Bool }

    /// Runs `reptok args` with stderr to a file, through a small Python parent that forks, execs and
    /// waits with `wait4`: the child's peak RSS then starts from that parent's few MB. (Spawned from
    /// this test process, the child's `ru_maxrss` would inherit this process's high-water mark.)
    /// The parent polls, and kills the child (SIGKILL) once it has run `maxSeconds`: a hung reader
    /// then fails the test in bounded time and leaves no process behind.
    func run(_ args: [String], in dir: URL) throws -> Measured {
        let errPath = dir.appendingPathComponent("stderr.txt").path
        let script = """
        import json, os, signal, sys, time
        limit = float(sys.argv[1])
        err = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            null = os.open('/dev/null', os.O_RDWR)
            os.dup2(null, 0); os.dup2(null, 1); os.dup2(err, 2)
            os.execv(sys.argv[3], sys.argv[3:])
        killed = False
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done == pid:
                break
            if time.monotonic() - start > limit:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                killed = True
                break
            time.sleep(0.005)
        print(json.dumps({'status': os.waitstatus_to_exitcode(status), 'seconds': time.monotonic() - start,
                          'maxrss_kb': usage.ru_maxrss, 'killed': killed}))
        """
        // The parent gets twice the child's bound (`run` scales it by `slowdown` as well): its own
        // start, the kill and the wait for it fit in the other half.
        let r = try TestSupport.run(TestSupport.python3, ["-c", script, "\(Self.maxSeconds)", errPath, CLIEndToEndTests.reptok] + args,
                                    timeout: 2 * Self.seconds)
        XCTAssertEqual(r.status, 0, r.stderr)
        struct Out: Decodable { let status: Int32; let seconds: Double; let maxrss_kb: Int; let killed: Bool }
        let o = try JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8))
        return Measured(status: o.status, stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
                        seconds: o.seconds, maxRSSBytes: o.maxrss_kb * 1024, killed: o.killed)
    }

    func check(_ name: String, _ args: [String], in dir: URL, words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try run(args, in: dir)
        XCTAssertFalse(m.killed, "\(name): still running after \(Self.maxSeconds) s, killed", file: file, line: line)
        XCTAssertEqual(m.status, 2, "\(name): \(m.stderr)", file: file, line: line)
        XCTAssertTrue(m.stderr.hasPrefix("reptok: "), "\(name): \(m.stderr)", file: file, line: line)
        XCTAssertEqual(m.stderr.split(separator: "\n").count, 1, "\(name): one line: \(m.stderr)", file: file, line: line)
        for w in words { XCTAssertTrue(m.stderr.contains(w), "\(name): message lacks \"\(w)\": \(m.stderr)", file: file, line: line) }
        XCTAssertLessThan(m.seconds, Self.maxSeconds, "\(name): took \(m.seconds) s", file: file, line: line)
        XCTAssertLessThan(m.maxRSSBytes, Self.maxRSSBytes, "\(name): peak RSS \(m.maxRSSBytes >> 20) MB", file: file, line: line)
    }

    static func le16(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian) { Array($0) } }
    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// A stored zip of `members`, optionally claiming `claimedSize` (zip64) for the last one.
    static func zip(_ members: [(String, [UInt8])], claimedSize: UInt64? = nil) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for (i, (name, data)) in members.enumerated() {
            let n = Array(name.utf8)
            let offset = UInt32(out.count)
            let claim = i == members.count - 1 ? claimedSize : nil
            let size32: UInt32 = claim == nil ? UInt32(data.count) : 0xFFFF_FFFF
            let extra: [UInt8] = claim.map { le16(1) + le16(16) + le64($0) + le64($0) } ?? []
            out += le32(0x0403_4b50) + le16(45) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(size32) + le32(size32)
                + le16(n.count) + le16(extra.count) + n + extra + data
            central += le32(0x0201_4b50) + le16(45) + le16(45) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(size32) + le32(size32) + le16(n.count) + le16(extra.count) + le16(0) + le16(0) + le16(0) + le32(0)
                + le32(offset) + n + extra
        }
        let cd = UInt32(out.count)
        out += central
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(members.count) + le16(members.count) + le32(UInt32(central.count)) + le32(cd) + le16(0)
        return out
    }

    /// A checkpoint whose hyper-parameters are lists nested a million levels deep.
    func testPickleNestedAMillionLevels() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let depth = 1_000_000
        var p: [UInt8] = [0x80, 2, UInt8(ascii: "}"), UInt8(ascii: "(")]
        p += [UInt8(ascii: "X")] + Self.le32(16) + Array("hyper_parameters".utf8)
        p += [UInt8](repeating: UInt8(ascii: "]"), count: depth)        // EMPTY_LIST × depth
        p += [UInt8](repeating: UInt8(ascii: "a"), count: depth - 1)    // APPEND each into the one below
        p += [UInt8(ascii: "u"), UInt8(ascii: ".")]
        let path = dir.appendingPathComponent("deep.ckpt").path
        try Data(Self.zip([("archive/data.pkl", p)])).write(to: URL(fileURLWithPath: path))
        try check("deep pickle", ["convert", path, "-o", dir.appendingPathComponent("x.gguf").path], in: dir, words: ["deep.ckpt", "corrupt pickle", "values on the stack"])
    }

    /// A zip64 member claiming 2^64 − 1 bytes.
    func testZipClaimingA2To64ByteEntry() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("huge.ckpt").path
        try Data(Self.zip([("archive/data.pkl", [0x80, 2, UInt8(ascii: "}"), UInt8(ascii: ".")]), ("archive/data/0", [0, 0, 0, 0])],
                          claimedSize: .max)).write(to: URL(fileURLWithPath: path))
        try check("2^64-byte entry", ["convert", path, "-o", dir.appendingPathComponent("x.gguf").path], in: dir,
                  words: ["archive/data/0", "run past the end of the file"])
    }

    /// GGUF headers claiming 2^63 tensors, or one tensor whose dimensions multiply past 2^64.
    func testGGUFClaimingAbsurdCounts() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let many = dir.appendingPathComponent("many.gguf").path
        try Data(Array("GGUF".utf8) + Self.le32(3) + Self.le64(1 << 63) + Self.le64(0) + [UInt8](repeating: 0, count: 64))
            .write(to: URL(fileURLWithPath: many))
        try check("2^63 tensors", ["inspect", many], in: dir, words: ["tensor count 9223372036854775808"])

        let name = Array("w".utf8)
        var g = Array("GGUF".utf8) + Self.le32(3) + Self.le64(1) + Self.le64(0)
        g += Self.le64(UInt64(name.count)) + name + Self.le32(3) + Self.le64(1 << 32) + Self.le64(1 << 32) + Self.le64(1 << 32)
        g += Self.le32(0) + Self.le64(0) + [UInt8](repeating: 0, count: 64)
        let overflow = dir.appendingPathComponent("overflow.gguf").path
        try Data(g).write(to: URL(fileURLWithPath: overflow))
        try check("dimension overflow", ["inspect", overflow], in: dir, words: ["tensor w", "invalid dimensions"])
    }

    /// A PNG whose header claims 10^9 × 10^9 pixels (with a few bytes of image data).
    func testPNGClaimingABillionByABillion() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += HandPNG.chunk("IHDR", HandPNG.be32(1_000_000_000) + HandPNG.be32(1_000_000_000) + [8, 2, 0, 0, 0])
        png += HandPNG.chunk("IDAT", HandPNG.zlibStored([0, 1, 2, 3]))
        png += HandPNG.chunk("IEND", [])
        let path = dir.appendingPathComponent("huge.png").path
        try Data(png).write(to: URL(fileURLWithPath: path))
        try check("1e9×1e9 PNG", ["encode", path, "-o", dir.appendingPathComponent("t.npy").path, "--model", CLIEndToEndTests.model],
                  in: dir, words: ["huge.png"])
    }
}
