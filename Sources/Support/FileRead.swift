// Whole-file reading with a size limit checked before anything is read: every reader of a small
// untrusted file (images, .npy, class lists, presets) goes through here and maps the error to
// its own module's type.
import Foundation

/// Why a file could not be read; `reason` is a short phrase for a one-line message.
public enum FileReadError: Error, Equatable, Sendable {
    case notFound(path: String)
    case unreadable(path: String, reason: String)
}

public enum FileRead {
    /// The whole file at `path`, refusing folders, anything that is not a regular file (a device
    /// such as /dev/zero has no size and no end) and files above `maxBytes` (the size is taken
    /// from the open handle, so nothing of an oversized file is read; at most `maxBytes` + 1 bytes
    /// are read in any case, should the file grow meanwhile).
    public static func whole(_ path: String, maxBytes: Int) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileReadError.notFound(path: path)
        }
        guard !isDir.boolValue else { throw FileReadError.unreadable(path: path, reason: "is a folder") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileReadError.unreadable(path: path, reason: "permission denied")
        }
        defer { try? handle.close() }
        var st = stat()
        guard fstat(handle.fileDescriptor, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw FileReadError.unreadable(path: path, reason: "not a regular file")
        }
        let tooLarge = { (size: UInt64) in
            FileReadError.unreadable(path: path, reason: "file is \(size) bytes, above the limit of \(maxBytes)")
        }
        do {
            let size = try handle.seekToEnd()
            guard size <= UInt64(maxBytes) else { throw tooLarge(size) }
            try handle.seek(toOffset: 0)
            let data = try handle.read(upToCount: maxBytes + 1) ?? Data()
            guard data.count <= maxBytes else { throw tooLarge(UInt64(data.count)) }
            return data
        } catch let error as FileReadError {
            throw error
        } catch {
            throw FileReadError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
    }
}
