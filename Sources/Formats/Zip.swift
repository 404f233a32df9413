// Read-only zip archive over a memory map: central directory (with zip64), stored entries only.
//
// PyTorch's `torch.save` writes an uncompressed zip ("stored", method 0) whose entries are aligned so
// storages can be used in place; files over 4 GiB use the zip64 records. Compressed entries are
// refused with a clear error rather than inflated.
import Foundation

/// One archive member.
public struct ZipEntry: Equatable, Sendable {
    public let name: String
    /// Absolute offset of the member's data in the archive file.
    public let dataOffset: Int
    /// Size in bytes (stored: compressed size = uncompressed size).
    public let size: Int
    /// Compression method (0 = stored).
    public let method: UInt16
    /// CRC-32 from the central directory.
    public let crc32: UInt32
}

/// Errors from reading a zip archive. Every case names the archive.
public enum ZipError: Error, CustomStringConvertible, Equatable {
    case notZip(path: String)
    case truncated(path: String, what: String, offset: Int, needed: Int, fileSize: Int)
    case badSignature(path: String, what: String, offset: Int)
    case multiDisk(path: String)
    case absurdCount(path: String, entries: UInt64)
    case compressed(path: String, entry: String, method: UInt16)
    case encrypted(path: String, entry: String)
    case entryOutOfBounds(path: String, entry: String, offset: Int, size: Int, fileSize: Int)
    case missingEntry(path: String, entry: String)
    case badZip64(path: String, entry: String)
    case crcMismatch(path: String, entry: String)

    public var description: String {
        switch self {
        case let .notZip(p): return "\(p): not a zip archive or truncated (no end-of-central-directory record)"
        case let .truncated(p, w, o, n, s): return "\(p): truncated zip: \(w) needs \(n) bytes at offset \(o), file has \(s)"
        case let .badSignature(p, w, o): return "\(p): corrupt zip: bad \(w) signature at offset \(o)"
        case let .multiDisk(p): return "\(p): multi-disk zip archives are not supported"
        case let .absurdCount(p, n): return "\(p): corrupt zip: \(n) entries cannot fit in the central directory"
        case let .compressed(p, e, m): return "\(p): entry \(e) is compressed (method \(m)); only stored (uncompressed) entries can be memory-mapped. Re-save the checkpoint with torch.save (which stores entries uncompressed)"
        case let .encrypted(p, e): return "\(p): entry \(e) is encrypted"
        case let .entryOutOfBounds(p, e, o, s, f): return "\(p): entry \(e): \(s) bytes at offset \(o) run past the end of the file (\(f) bytes); the file is truncated or corrupt"
        case let .missingEntry(p, e): return "\(p): entry \(e) is missing"
        case let .badZip64(p, e): return "\(p): entry \(e): zip64 extra field is missing or short"
        case let .crcMismatch(p, e): return "\(p): entry \(e): CRC-32 mismatch (corrupt data)"
        }
    }
}

/// A zip archive, memory-mapped. Only the central directory is parsed up front; member data is
/// served as slices of the map.
public final class ZipArchive {
    public let path: String
    /// Members in central-directory order.
    public let entries: [ZipEntry]
    private let index: [String: Int]
    let file: MappedFile

    /// Opens `path` and reads its central directory. Every entry's data range is checked against the file.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Reads the central directory of an already mapped file.
    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        self.path = path
        let size = file.size
        let bytes = file.bytes
        func reader(at offset: Int, _ what: String) -> ByteReader {
            ByteReader(bytes, offset: offset) { at, need in ZipError.truncated(path: path, what: what, offset: at, needed: need, fileSize: size) }
        }

        // End of central directory: 22 bytes + comment (≤ 65535), searched backwards.
        guard size >= 22 else { throw ZipError.notZip(path: path) }
        var eocd = -1
        var i = size - 22
        let lowest = max(0, size - 22 - 65535)
        while i >= lowest {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4b, bytes[i + 2] == 0x05, bytes[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw ZipError.notZip(path: path) }
        var r = reader(at: eocd + 4, "end of central directory")
        let disk = try r.u16(), cdDisk = try r.u16()
        _ = try r.u16()
        var count = UInt64(try r.u16())
        var cdSize = UInt64(try r.u32())
        var cdOffset = UInt64(try r.u32())

        // zip64 locator sits right before the EOCD: sig, disk u32, offset of zip64 EOCD u64, total disks u32.
        if eocd >= 20, bytes.loadUnaligned(fromByteOffset: eocd - 20, as: UInt32.self) == UInt32(0x07064b50).littleEndian {
            var l = reader(at: eocd - 16, "zip64 locator")
            _ = try l.u32()
            let z64 = try l.u64()
            guard size >= 56, z64 <= UInt64(size - 56) else { throw ZipError.truncated(path: path, what: "zip64 end of central directory", offset: Int(clamping: z64), needed: 56, fileSize: size) }
            var z = reader(at: Int(z64), "zip64 end of central directory")
            guard try z.u32() == 0x06064b50 else { throw ZipError.badSignature(path: path, what: "zip64 end of central directory", offset: Int(z64)) }
            _ = try z.u64(); _ = try z.u16(); _ = try z.u16()
            let d64 = try z.u32(), cd64 = try z.u32()
            guard d64 == 0, cd64 == 0 else { throw ZipError.multiDisk(path: path) }
            _ = try z.u64()
            count = try z.u64()
            cdSize = try z.u64()
            cdOffset = try z.u64()
        } else {
            guard disk == 0, cdDisk == 0 else { throw ZipError.multiDisk(path: path) }
        }
        guard cdOffset <= UInt64(size), cdSize <= UInt64(size) - cdOffset else {
            throw ZipError.truncated(path: path, what: "central directory", offset: Int(clamping: cdOffset), needed: Int(clamping: cdSize), fileSize: size)
        }
        // Each central-directory record is at least 46 bytes.
        guard count <= cdSize / 46 else { throw ZipError.absurdCount(path: path, entries: count) }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(Int(count))
        var c = reader(at: Int(cdOffset), "central directory")
        for _ in 0 ..< Int(count) {
            let at = c.offset
            guard try c.u32() == 0x02014b50 else { throw ZipError.badSignature(path: path, what: "central directory record", offset: at) }
            _ = try c.u16(); _ = try c.u16()
            let flags = try c.u16()
            let method = try c.u16()
            _ = try c.u16(); _ = try c.u16()
            let crc = try c.u32()
            var csize = UInt64(try c.u32())
            var usize = UInt64(try c.u32())
            let nameLen = Int(try c.u16()), extraLen = Int(try c.u16()), commentLen = Int(try c.u16())
            _ = try c.u16(); _ = try c.u16(); _ = try c.u32()
            var localOffset = UInt64(try c.u32())
            let name = try c.utf8(nameLen)
            var extra = try ByteReader(c.slice(extraLen)) { at, need in ZipError.badZip64(path: path, entry: "\(at)+\(need)") }
            try c.skip(commentLen)
            // zip64 extra (id 1): the 0xFFFFFFFF fields, in the order usize, csize, offset.
            if usize == 0xFFFF_FFFF || csize == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                var found = false
                while extra.remaining >= 4 {
                    let id = try extra.u16(), len = Int(try extra.u16())
                    guard len <= extra.remaining else { break }
                    if id == 1 {
                        var f = try ByteReader(extra.slice(len)) { _, _ in ZipError.badZip64(path: path, entry: name) }
                        if usize == 0xFFFF_FFFF { usize = try f.u64() }
                        if csize == 0xFFFF_FFFF { csize = try f.u64() }
                        if localOffset == 0xFFFF_FFFF { localOffset = try f.u64() }
                        found = true
                        break
                    }
                    try extra.skip(len)
                }
                guard found else { throw ZipError.badZip64(path: path, entry: name) }
            }
            guard flags & 1 == 0 else { throw ZipError.encrypted(path: path, entry: name) }
            // Local header: 30 bytes + its own name and extra lengths (torch pads the extra for alignment).
            guard size >= 30, localOffset <= UInt64(size - 30) else {
                throw ZipError.entryOutOfBounds(path: path, entry: name, offset: Int(clamping: localOffset), size: 30, fileSize: size)
            }
            var l = reader(at: Int(localOffset), "local header of \(name)")
            guard try l.u32() == 0x04034b50 else { throw ZipError.badSignature(path: path, what: "local header of \(name)", offset: Int(localOffset)) }
            try l.skip(22)
            let lName = Int(try l.u16()), lExtra = Int(try l.u16())
            let dataOffset = Int(localOffset) + 30 + lName + lExtra
            let stored = method == 0
            let dataSize = stored ? usize : csize
            guard stored ? csize == usize : true, dataSize <= UInt64(size), file.contains(offset: dataOffset, count: Int(dataSize)) else {
                throw ZipError.entryOutOfBounds(path: path, entry: name, offset: dataOffset, size: Int(clamping: dataSize), fileSize: size)
            }
            entries.append(ZipEntry(name: name, dataOffset: dataOffset, size: Int(dataSize), method: method, crc32: crc))
        }
        self.entries = entries
        var idx: [String: Int] = [:]
        for (k, e) in entries.enumerated() where idx[e.name] == nil { idx[e.name] = k }
        index = idx
    }

    /// The member `name`, or nil.
    public func entry(_ name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// The bytes of a stored member (a slice of the map, valid while the archive lives).
    /// Throws `.compressed` for any other method.
    public func data(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entry(name) else { throw ZipError.missingEntry(path: path, entry: name) }
        guard e.method == 0 else { throw ZipError.compressed(path: path, entry: name, method: e.method) }
        return UnsafeRawBufferPointer(start: file.base + e.dataOffset, count: e.size)
    }

    /// Like `data`, but also checks the member's CRC-32 (use for small members such as the pickle).
    ///
    /// A CRC field of zero on a non-empty member means the writer computed none (`torch.save(...,
    /// compute_crc32=False)`): the data is accepted and `note` gets one line saying so. Any other
    /// value that does not match is corruption.
    public func verifiedData(_ name: String, note: (String) -> Void = { _ in }) throws -> UnsafeRawBufferPointer {
        let d = try data(name)
        let stored = entry(name)!.crc32
        let actual = CRC32.checksum(d)
        if stored == 0, actual != 0 {
            note("\(path): entry \(name) was written without a CRC-32 (field is 0); read without checking it")
            return d
        }
        guard actual == stored else { throw ZipError.crcMismatch(path: path, entry: name) }
        return d
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as used by zip.
public enum CRC32 {
    private static let table: [UInt32] = (0 ..< 256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `data`.
    public static func checksum(_ data: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in data { c = t[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
