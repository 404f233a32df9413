import Foundation

/// Image file formats this module reads and writes.
public enum ImageFormat: String, Sendable {
    case png
    case jpeg

    /// The format chosen for an output name: JPEG for `.jpg`/`.jpeg` (any case), PNG otherwise.
    public init(outputPath path: String) {
        let ext = path.split(separator: ".").count > 1 ? path.split(separator: ".").last!.lowercased() : ""
        self = (ext == "jpg" || ext == "jpeg") ? .jpeg : .png
    }

    /// The longest side this format can store, in pixels (JPEG's header holds 16 bits, and
    /// its encoder 65 500; PNG's images are bounded by `RGBImage.maxSide`).
    public var maxSide: Int { self == .jpeg ? 65_500 : RGBImage.maxSide }

    /// The format given by a file's first bytes, or nil for anything else.
    public init?(signature data: Data) {
        let b = [UInt8](data.prefix(8))
        if b == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] {
            self = .png
        } else if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF {
            self = .jpeg
        } else {
            return nil
        }
    }
}

/// Reading and writing image files by path.
public enum ImageFile {
    /// The largest image read, in pixels (width × height): 64 Mpixel, 192 MB
    /// as RGB8. Checked from the header, before any pixel buffer is allocated.
    public static let defaultMaxPixels = 1 << 26

    /// The largest image file read, in bytes.
    public static let defaultMaxBytes = 1 << 30

    /// Reads a PNG or JPEG (chosen by the file's signature, not its name) as RGB8.
    public static func read(_ path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        let data = try FileData.read(path, maxBytes: defaultMaxBytes)
        switch ImageFormat(signature: data) {
        case .png: return try PNGCodec.decode(data, path: path, maxPixels: maxPixels)
        case .jpeg: return try JPEGCodec.decode(data, path: path, maxPixels: maxPixels)
        case nil: throw ImageIOError.notAnImage(path: path)
        }
    }

    /// Encodes an image in `format` (default: by the name, see
    /// `ImageFormat(outputPath:)`), with `metadata` in a PNG `tEXt` chunk keyed
    /// `reptok` or a JPEG COM marker, and writes it atomically.
    public static func write(_ image: RGBImage, to path: String, format: ImageFormat? = nil,
                             metadata: String? = nil, jpegQuality: Int = 92) throws {
        let data = try encode(image, format: format ?? ImageFormat(outputPath: path),
                              metadata: metadata, jpegQuality: jpegQuality)
        try FileData.write(data, to: path)
    }

    /// Encodes without writing (see `write`).
    public static func encode(_ image: RGBImage, format: ImageFormat, metadata: String? = nil,
                              jpegQuality: Int = 92) throws -> Data {
        switch format {
        case .png: return try PNGCodec.encode(image, textKey: "reptok", text: metadata)
        case .jpeg: return try JPEGCodec.encode(image, quality: jpegQuality, comment: metadata)
        }
    }

    /// How the metadata that `write` stores in a JPEG comment begins.
    public static let jpegMetadataPrefix = "reptok-version:"

    /// The reptok metadata stored by `write`: the PNG `tEXt` chunk `reptok` or the JPEG COM
    /// marker that starts with `reptok-version:` (other programs write comments too). Nil when
    /// the file has none.
    public static func readMetadata(_ path: String) throws -> String? {
        let data = try FileData.read(path, maxBytes: defaultMaxBytes)
        switch ImageFormat(signature: data) {
        case .png: return try PNGCodec.textChunks(data, path: path).first(where: { $0.key == "reptok" })?.text
        case .jpeg: return JPEGCodec.comments(data).first(where: { $0.hasPrefix(jpegMetadataPrefix) })
        case nil: throw ImageIOError.notAnImage(path: path)
        }
    }
}
