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
    /// The whole file at `path`, refusing folders and files above `maxBytes` (the size is taken
    /// from the open handle, so nothing of an oversized file is read).
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
        do {
            let size = try handle.seekToEnd()
            guard size <= UInt64(maxBytes) else {
                throw FileReadError.unreadable(path: path, reason: "file is \(size) bytes, above the limit of \(maxBytes)")
            }
            try handle.seek(toOffset: 0)
            return try handle.readToEnd() ?? Data()
        } catch let error as FileReadError {
            throw error
        } catch {
            throw FileReadError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
    }
}
