import Foundation
import ImageIO

/// `reptok inspect IMAGE`: the reptok metadata of a PNG (tEXt chunk `reptok`) or JPEG (COM marker),
/// followed by the image size. Called by the inspect command for files that are not GGUF.
func inspectImage(path: String) throws -> String {
    let metadata: String?
    let image: RGBImage
    do {
        metadata = try ImageFile.readMetadata(path)
        image = try ImageFile.read(path)
    } catch {
        throw cliError(error)
    }
    guard let metadata else { throw CLIError("\(path): \(image.width)x\(image.height) image without reptok metadata") }
    return metadata + "\nimage: \(image.width)x\(image.height)"
}

/// True when `path` starts with a PNG or JPEG signature (so `inspect` should show image metadata).
func isImageFile(path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    let head = (try? handle.read(upToCount: 8)) ?? Data()
    return ImageFormat(signature: head) != nil
}
