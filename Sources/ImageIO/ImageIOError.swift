/// Every failure of this module. Each case names the file (when there is one)
/// and what was expected versus what was found, so a command line can print it
/// as one line.
public enum ImageIOError: Error, Equatable, CustomStringConvertible {
    /// The path does not exist.
    case fileNotFound(path: String)
    /// The path exists but could not be read (a folder, no permission, I/O error).
    case unreadable(path: String, reason: String)
    /// The file starts with neither the PNG nor the JPEG signature.
    case notAnImage(path: String)
    /// The file has a PNG/JPEG signature but its data is damaged or truncated.
    case corrupt(path: String, format: String, reason: String)
    /// A valid file whose layout is not handled (e.g. a 2-component JPEG).
    case unsupported(path: String, reason: String)
    /// Width × height above the limit, refused before allocating.
    case tooLarge(path: String, width: Int, height: Int, maxPixels: Int)
    /// An image passed for writing is inconsistent (pixel count, zero size, quality).
    case invalidImage(reason: String)
    /// The output could not be written (missing folder, not writable, disk full).
    case writeFailed(path: String, reason: String)
    /// A `.npy` file that is not a float32/float64, C-order array.
    case badNPY(path: String, reason: String)
    /// A malformed line in a data file such as the class-name list (line counts from 1).
    case badDataFile(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
        case .notAnImage(let path): return "\(path): not a PNG or JPEG image"
        case .corrupt(let path, let format, let reason): return "\(path): damaged or truncated \(format): \(reason)"
        case .unsupported(let path, let reason): return "\(path): unsupported image: \(reason)"
        case .tooLarge(let path, let w, let h, let maxPixels):
            return "\(path): image is \(w)x\(h) pixels, above the limit of \(maxPixels) pixels"
        case .invalidImage(let reason): return "invalid image: \(reason)"
        case .writeFailed(let path, let reason): return "\(path): cannot write: \(reason)"
        case .badNPY(let path, let reason): return "\(path): not a float32 .npy array: \(reason)"
        case .badDataFile(let path, let line, let reason): return "\(path):\(line): \(reason)"
        }
    }
}
