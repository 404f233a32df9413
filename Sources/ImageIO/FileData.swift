// Whole-file reading and atomic writing for the image, .npy and class-name files, with this
// module's errors (writes go through Support's `AtomicFile`).
import Foundation
import Support

enum FileData {
    /// Reads a whole file, refusing files above `maxBytes`.
    static func read(_ path: String, maxBytes: Int = 1 << 30) throws -> Data {
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

    /// Writes `data` to `path` atomically (`AtomicFile.write`); failures are `ImageIOError.writeFailed`.
    static func write(_ data: Data, to path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch let e as AtomicFileError {
            throw ImageIOError.writeFailed(path: e.path, reason: e.reason)
        }
    }
}
