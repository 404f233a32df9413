// Atomic output files: written under a temporary name beside the target, renamed over it at the end.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an atomic write failed. Modules that use `AtomicFile` wrap this in their own error type.
public enum AtomicFileError: Error, Equatable, CustomStringConvertible {
    /// The target path is a folder.
    case isDirectory(path: String)
    /// Anything else (missing folder, permissions, disk full, misuse); `reason` says which.
    case failed(path: String, reason: String)

    public var path: String {
        switch self {
        case let .isDirectory(path), let .failed(path, _): return path
        }
    }

    /// The reason without the path.
    public var reason: String {
        switch self {
        case .isDirectory: return "is a folder"
        case let .failed(_, reason): return reason
        }
    }

    public var description: String { "\(path): cannot write: \(reason)" }
}

/// An output file that appears under its final name only once `commit()` succeeds.
///
/// Data goes to `.<name>.tmp-XXXXXX` (created exclusively by `mkstemp`) in the target's folder, so
/// the final rename stays on one file system. `commit()` fsyncs the file, gives it the mode of the
/// file it replaces, or else 0666 minus the umask (as a plain `open` would), renames it over the
/// target (a symbolic link there is replaced, not followed) and fsyncs the folder, so the
/// new name survives a crash. Readers see either the old file or the complete new one. `discard()`
/// (or deinit without commit) removes the temporary file: a failed write leaves nothing behind.
public final class AtomicFile {
    /// Final path.
    public let path: String
    /// Temporary path beside it.
    public let tempPath: String
    private var fd: Int32
    private var done = false
    /// Bytes written so far (the current end of the file).
    public private(set) var position: Int = 0

    /// Creates the temporary file. Throws `AtomicFileError.isDirectory` when `path` is a folder,
    /// `.failed` when no file can be created in its folder.
    public init(path: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { throw AtomicFileError.isDirectory(path: path) }
        (fd, tempPath) = try AtomicFile.makeTemp(for: path)
    }

    deinit { discard() }

    /// Appends `bytes` at the end.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !done else { throw AtomicFileError.failed(path: path, reason: "file already closed") }
        var off = 0
        while off < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFileError.failed(path: path, reason: errnoMessage())
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
            throw AtomicFileError.failed(path: path, reason: "patch at \(offset) outside the written range")
        }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
        guard n == bytes.count else { throw AtomicFileError.failed(path: path, reason: errnoMessage()) }
    }

    /// Sets the mode, fsyncs, renames to `path`, fsyncs the folder.
    public func commit() throws {
        guard !done else { throw AtomicFileError.failed(path: path, reason: "file already closed") }
        let mask = umask(0)
        umask(mask)
        // the replaced file's permissions, else what a plain open would give
        var old = stat()
        let mode = stat(path, &old) == 0 && (old.st_mode & S_IFMT) == S_IFREG ? old.st_mode & 0o7777 : 0o666 & ~mask
        guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            let r = errnoMessage(); discard()
            throw AtomicFileError.failed(path: path, reason: r)
        }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else {
            let r = errnoMessage(); discard()
            throw AtomicFileError.failed(path: path, reason: r)
        }
        guard rename(tempPath, path) == 0 else {
            let r = errnoMessage(); done = true; unlink(tempPath)
            throw AtomicFileError.failed(path: path, reason: r)
        }
        done = true
        let dfd = open(AtomicFile.folder(of: path), O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Closes and removes the temporary file (no-op after `commit()`).
    public func discard() {
        guard !done else { return }
        done = true
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
    }

    // MARK: Whole files

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        let f = try AtomicFile(path: path)
        try data.withUnsafeBytes { try f.write($0) }
        try f.commit()
    }

    /// Checks, before any expensive work, that `path` could be written: its folder exists and is a
    /// folder, `path` is not a folder, and a file can be created in that folder (tried for real,
    /// then removed; this also catches read-only file systems and places where permission bits lie).
    public static func checkWritable(_ path: String) throws {
        guard !path.isEmpty else { throw AtomicFileError.failed(path: path, reason: "empty output path") }
        let folder = folder(of: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw AtomicFileError.failed(path: path, reason: "output folder \(folder) does not exist")
        }
        guard isDir.boolValue else { throw AtomicFileError.failed(path: path, reason: "\(folder) is not a folder") }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw AtomicFileError.isDirectory(path: path)
        }
        let (fd, temp) = try makeTemp(for: path)
        close(fd)
        unlink(temp)
    }

    /// Whether `a` and `b` name one existing file (same device and inode: through links,
    /// `./` or another spelling too). False when either does not exist.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// The folder part of `path` ("." when there is none).
    public static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Creates `<folder>/.<name>.tmp-XXXXXX` exclusively; returns its descriptor and path.
    /// `name` is cut to its first 200 bytes (whole characters), so that any name the file
    /// system takes (255 bytes) leaves room for the 13 the temporary name adds.
    private static func makeTemp(for path: String) throws -> (Int32, String) {
        let folder = folder(of: path)
        var name = ""
        for c in (path.split(separator: "/").last.map(String.init) ?? "out") {
            if name.utf8.count + String(c).utf8.count > 200 { break }
            name.append(c)
        }
        var template = Array("\(folder)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            let err = errno
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) {
                throw AtomicFileError.failed(path: path, reason: "output folder \(folder) does not exist")
            }
            throw AtomicFileError.failed(path: path, reason: "cannot create a file in \(folder): \(String(cString: strerror(err)))")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (fd, tempPath)
    }
}

/// The text for the current `errno`.
public func errnoMessage() -> String { String(cString: strerror(errno)) }

/// `write(2)` under a name that the methods of `AtomicFile` do not shadow.
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
