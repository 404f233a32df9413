// Atomic output: write to a temporary file in the target folder, fsync, rename over the target.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// `write(2)` under a name that the methods of `AtomicFile` do not shadow.
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// An output file that only appears under its final name once `commit()` succeeds.
///
/// Data goes to `.<name>.tmp-<pid>-<n>` beside the target. `commit()` fsyncs, renames and fsyncs the
/// folder; `discard()` (or deinit without commit) unlinks the temporary file, so a failed write
/// leaves nothing behind.
public final class AtomicFile {
    /// Final path.
    public let path: String
    /// Temporary path beside it.
    public let tempPath: String
    private var fd: Int32
    private var done = false
    /// Bytes written so far (the current end of the file).
    public private(set) var position: Int = 0

    private static var counter = 0
    private static let lock = NSLock()

    /// Creates the temporary file. Throws `FileAccessError` when the folder is not writable
    /// or the target is a directory.
    public init(path: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw FileAccessError.isDirectory(path: path)
        }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        AtomicFile.lock.lock()
        AtomicFile.counter += 1
        let n = AtomicFile.counter
        AtomicFile.lock.unlock()
        tempPath = (dir as NSString).appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(n)")
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileAccessError.writeFailed(path: path, reason: errnoText()) }
    }

    deinit { discard() }

    /// Appends `bytes` at the end.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !done else { throw FileAccessError.writeFailed(path: path, reason: "file already closed") }
        var off = 0
        while off < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileAccessError.writeFailed(path: path, reason: errnoText())
            }
            off += n
        }
        position += bytes.count
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends `count` zero bytes.
    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Overwrites already-written bytes at `offset` (for values patched after streaming).
    public func overwrite(at offset: Int, _ bytes: [UInt8]) throws {
        guard !done, offset >= 0, offset + bytes.count <= position else {
            throw FileAccessError.writeFailed(path: path, reason: "patch at \(offset) outside the written range")
        }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
        guard n == bytes.count else { throw FileAccessError.writeFailed(path: path, reason: errnoText()) }
    }

    /// fsync, rename to `path`, fsync the folder.
    public func commit() throws {
        guard !done else { throw FileAccessError.writeFailed(path: path, reason: "file already closed") }
        guard fsync(fd) == 0 else {
            let r = errnoText(); discard()
            throw FileAccessError.writeFailed(path: path, reason: r)
        }
        close(fd)
        fd = -1
        guard rename(tempPath, path) == 0 else {
            let r = errnoText(); done = true; unlink(tempPath)
            throw FileAccessError.writeFailed(path: path, reason: r)
        }
        done = true
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Closes and removes the temporary file (no-op after `commit()`).
    public func discard() {
        guard !done else { return }
        done = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
    }
}
