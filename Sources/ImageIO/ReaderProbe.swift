// Reads everything an image or .npy file offers, as the fuzz targets (Tests/Fuzz) and their
// regression tests do: every input must end in a value or a thrown error, never a trap.
import Foundation

/// The readers of this module, driven over a whole input.
public enum ImageReaderProbe {
    /// Pixel limit for probing (the decoders refuse more before allocating).
    public static let maxPixels = 1 << 20

    /// Decodes `.npy` bytes; returns the element count.
    @discardableResult
    public static func npy(_ data: Data) throws -> Int { try NPYFile.decode(data).values.count }

    /// Reads the text chunks, then decodes the pixels; returns the pixel count.
    @discardableResult
    public static func png(_ data: Data) throws -> Int {
        _ = try? PNGCodec.textChunks(data)
        let image = try PNGCodec.decode(data, maxPixels: maxPixels)
        return image.width * image.height
    }

    /// Reads the comments, then decodes the pixels; returns the pixel count.
    @discardableResult
    public static func jpeg(_ data: Data) throws -> Int {
        _ = JPEGCodec.comments(data)
        let image = try JPEGCodec.decode(data, maxPixels: maxPixels)
        return image.width * image.height
    }
}
