// Read-only memory maps and bounds-checked byte reading, shared by every file reader in Quant.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Support

/// Errors raised while opening or mapping a file.
public enum FileAccessError: Error, CustomStringConvertible, Equatable {
    /// `open`/`stat` failed (`errno` text included).
    case cannotOpen(path: String, reason: String)
    /// The path names a directory, not a file.
    case isDirectory(path: String)
    /// The path exists but is not a regular file (device, socket, ...).
    case notRegularFile(path: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// `mmap` failed.
    case mapFailed(path: String, reason: String)
    /// Writing the output failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open \(path): \(reason)"
        case let .isDirectory(path): return "\(path) is a directory, expected a file"
        case let .notRegularFile(path): return "\(path) is not a regular file"
        case let .emptyFile(path): return "\(path) is empty (0 bytes)"
        case let .mapFailed(path, reason): return "cannot memory-map \(path): \(reason)"
        case let .writeFailed(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}

extension FileAccessError {
    /// An atomic write's failure as this module's error (same path and reason).
    init(_ e: AtomicFileError) {
        switch e {
        case let .isDirectory(path): self = .isDirectory(path: path)
        case let .failed(path, reason): self = .writeFailed(path: path, reason: reason)
        }
    }

    /// Runs `body`, rethrowing `AtomicFileError`s as `FileAccessError`s.
    static func wrapping<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as AtomicFileError { throw FileAccessError(e) }
    }
}

/// A whole file mapped read-only (`PROT_READ`, `MAP_PRIVATE`). The mapping lives as long as the object.
///
/// Pages are file-backed: they count towards RSS only while resident, and `release(_:)` drops them
/// (they are re-read from the file if touched again).
public final class MappedFile {
    /// The path the file was opened with.
    public let path: String
    /// File size in bytes (> 0).
    public let size: Int
    /// Start of the mapping (`size` bytes).
    public let base: UnsafeRawPointer

    /// Opens and maps `path`. Throws `FileAccessError` for a missing path, a directory, a
    /// non-regular file, an empty file or a failed `mmap`.
    public init(path: String) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileAccessError.cannotOpen(path: path, reason: errnoMessage()) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw FileAccessError.isDirectory(path: path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileAccessError.notRegularFile(path: path) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileAccessError.cannotOpen(path: path, reason: errnoMessage()) }
        defer { close(fd) }
        var fst = stat()
        guard fstat(fd, &fst) == 0 else { throw FileAccessError.cannotOpen(path: path, reason: errnoMessage()) }
        let size = Int(fst.st_size)
        guard size > 0 else { throw FileAccessError.emptyFile(path: path) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw FileAccessError.mapFailed(path: path, reason: errnoMessage())
        }
        self.size = size
        self.base = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// The whole file as a buffer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// `true` when `[offset, offset+count)` lies inside the file (no overflow).
    @inline(__always)
    public func contains(offset: Int, count: Int) -> Bool {
        offset >= 0 && count >= 0 && offset <= size && count <= size - offset
    }

    /// Drops the resident pages covering `[offset, offset+count)` (rounded outwards to pages).
    /// Safe for a read-only private mapping: touched pages are re-read from the file.
    public func release(offset: Int, count: Int) {
        guard count > 0, contains(offset: offset, count: count) else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let end = min((offset + count + page - 1) / page * page, (size + page - 1) / page * page)
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }
}

/// The element count of a shape and the product of its nonzero dimensions, or nil for a negative
/// dimension or a nonzero product beyond `Int`. Readers bound the nonzero product, not only the
/// count: a zero makes the count 0, yet `[0, 2^40, 2^40].reversed().reduce(1, *)` would still trap.
public func shapeProducts<S: Sequence>(_ dims: S) -> (count: UInt64, nonzero: UInt64)? where S.Element: BinaryInteger {
    var nonzero: UInt64 = 1
    var hasZero = false
    for d in dims {
        guard d >= 0, let u = UInt64(exactly: d) else { return nil }
        if u == 0 { hasZero = true; continue }
        let (p, o) = nonzero.multipliedReportingOverflow(by: u)
        guard !o, p <= UInt64(Int.max) else { return nil }
        nonzero = p
    }
    return (hasZero ? 0 : nonzero, nonzero)
}

/// A cursor over a byte range that throws (through `fail`) instead of reading past the end.
/// All multi-byte values are little-endian.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int
    /// Builds the error for a read of `need` bytes at `at` that does not fit.
    let fail: (_ at: Int, _ need: Int) -> Error

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, fail: @escaping (_ at: Int, _ need: Int) -> Error) {
        self.bytes = bytes
        self.offset = offset
        self.fail = fail
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes are available.
    func need(_ count: Int) throws {
        if count < 0 || count > bytes.count - offset { throw fail(offset, count) }
    }

    mutating func skip(_ count: Int) throws { try need(count); offset += count }

    mutating func u8() throws -> UInt8 { try need(1); defer { offset += 1 }; return bytes[offset] }

    mutating func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        try need(n)
        defer { offset += n }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    mutating func u16() throws -> UInt16 { try le(UInt16.self) }
    mutating func u32() throws -> UInt32 { try le(UInt32.self) }
    mutating func u64() throws -> UInt64 { try le(UInt64.self) }
    mutating func i32() throws -> Int32 { try le(Int32.self) }
    mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    /// `count` raw bytes.
    mutating func slice(_ count: Int) throws -> UnsafeRawBufferPointer {
        try need(count)
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
    }

    /// `count` bytes decoded as UTF-8 (invalid sequences are repaired, never trapped on).
    mutating func utf8(_ count: Int) throws -> String {
        String(decoding: try slice(count), as: UTF8.self)
    }
}
