// Whole-file reading and atomic writing for the image, .npy and class-name files, with this
// module's errors (writes go through Support's `AtomicFile`).
import Foundation
import Support

enum FileData {
    /// Reads a whole file, refusing files above `maxBytes` (`FileRead.whole`); failures are
    /// `ImageIOError.fileNotFound` / `.unreadable`.
    static func read(_ path: String, maxBytes: Int = 1 << 30) throws -> Data {
        do { return try FileRead.whole(path, maxBytes: maxBytes) } catch let e as FileReadError {
            switch e {
            case let .notFound(p): throw ImageIOError.fileNotFound(path: p)
            case let .unreadable(p, reason): throw ImageIOError.unreadable(path: p, reason: reason)
            }
        }
    }

    /// Writes `data` to `path` atomically (`AtomicFile.write`); failures are `ImageIOError.writeFailed`.
    static func write(_ data: Data, to path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch let e as AtomicFileError {
            throw ImageIOError.writeFailed(path: e.path, reason: e.reason)
        }
    }
}
