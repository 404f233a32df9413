import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading whole files and writing them atomically.
///
/// `write` creates a temporary file in the destination's folder (so the final
/// rename stays on one file system), writes and flushes it, then renames it over
/// the destination. Readers see either the old file or the complete new one, and
/// on any failure the temporary file is removed: nothing is left behind.
public enum AtomicFile {
    /// Checks, before any expensive work, that `path` could be written: its
    /// folder exists and is a folder, `path` is not a folder, and a file can be
    /// created in that folder (tried for real, then removed; this also catches
    /// read-only file systems and root-owned places where permission bits lie).
    public static func checkWritable(_ path: String) throws {
        guard !path.isEmpty else { throw ImageIOError.writeFailed(path: path, reason: "empty output path") }
        let folder = folderOf(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw ImageIOError.writeFailed(path: path, reason: "output folder \(folder) does not exist")
        }
        guard isDir.boolValue else {
            throw ImageIOError.writeFailed(path: path, reason: "\(folder) is not a folder")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw ImageIOError.writeFailed(path: path, reason: "is a folder")
        }
        let (fd, temp) = try makeTemp(for: path)
        close(fd)
        unlink(temp)
    }

    /// Writes `data` to `path` atomically (see the type's documentation). The
    /// new file gets mode 0666 minus the process umask, like a plain `open`.
    public static func write(_ data: Data, to path: String) throws {
        let (fd, temp) = try makeTemp(for: path)
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Glibc_write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil {
            let mask = umask(0)
            umask(mask)
            if fchmod(fd, 0o666 & ~mask) != 0 { failure = String(cString: strerror(errno)) }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure { throw ImageIOError.writeFailed(path: path, reason: failure) }
        guard rename(temp, path) == 0 else {
            throw ImageIOError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        ok = true
    }

    /// Reads a whole file, refusing files above `maxBytes`.
    public static func read(_ path: String, maxBytes: Int = 1 << 30) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImageIOError.fileNotFound(path: path)
        }
        guard !isDir.boolValue else { throw ImageIOError.unreadable(path: path, reason: "is a folder") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageIOError.unreadable(path: path, reason: "permission denied")
        }
        defer { try? handle.close() }
        do {
            let size = try handle.seekToEnd()
            guard size <= UInt64(maxBytes) else {
                throw ImageIOError.unreadable(path: path, reason: "file is \(size) bytes, above the limit of \(maxBytes)")
            }
            try handle.seek(toOffset: 0)
            return try handle.readToEnd() ?? Data()
        } catch let error as ImageIOError {
            throw error
        } catch {
            throw ImageIOError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// The folder part of `path` ("." when there is none).
    static func folderOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Creates `<folder>/.<name>.tmp-XXXXXX` exclusively; returns its descriptor and path.
    private static func makeTemp(for path: String) throws -> (Int32, String) {
        let folder = folderOf(path)
        let name = path.split(separator: "/").last.map(String.init) ?? "out"
        var template = Array("\(folder)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            let err = errno
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) {
                throw ImageIOError.writeFailed(path: path, reason: "output folder \(folder) does not exist")
            }
            throw ImageIOError.writeFailed(path: path, reason: "cannot create a file in \(folder): \(String(cString: strerror(err)))")
        }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return (fd, tempPath)
    }
}

/// `write(2)` under a name that does not clash with `AtomicFile.write`.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buf, n)
    #else
    return Darwin.write(fd, buf, n)
    #endif
}
