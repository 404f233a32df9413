/// An 8-bit RGB image in memory.
///
/// Layout: `pixels` is `[height, width, 3]`, row-major, channels interleaved
/// (R, G, B), no row padding, so pixel (x, y) channel c is at
/// `(y * width + x) * 3 + c`.
public struct RGBImage: Equatable, Sendable {
    /// Columns, ≥ 1.
    public let width: Int
    /// Rows, ≥ 1.
    public let height: Int
    /// `[height, width, 3]` bytes, see the type's documentation.
    public var pixels: [UInt8]

    /// Wraps pixels; throws when the count is not `width * height * 3` or a side is < 1.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 1, height >= 1 else {
            throw ImageIOError.invalidImage(reason: "size \(width)x\(height), sides must be at least 1")
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= Int.max / 3, pixels.count == count * 3 else {
            throw ImageIOError.invalidImage(reason: "\(pixels.count) bytes for \(width)x\(height) RGB, expected \(width)x\(height)x3")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The longest side a filled image (and so a contact sheet) may have, in pixels.
    public static let maxSide = 1 << 20

    /// A `width`×`height` image filled with one color.
    public init(width: Int, height: Int, fill: (r: UInt8, g: UInt8, b: UInt8)) throws {
        guard width >= 1, height >= 1, width <= RGBImage.maxSide, height <= RGBImage.maxSide else {
            throw ImageIOError.invalidImage(reason: "size \(width)x\(height) out of range 1...\(RGBImage.maxSide)")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.r
            pixels[3 * i + 1] = fill.g
            pixels[3 * i + 2] = fill.b
        }
        try self.init(width: width, height: height, pixels: pixels)
    }

    /// Copies `other` into this image with its top-left corner at (x, y);
    /// the parts that fall outside are clipped.
    public mutating func paste(_ other: RGBImage, x: Int, y: Int) {
        let x0 = max(0, x), x1 = min(width, x + other.width)
        let y0 = max(0, y), y1 = min(height, y + other.height)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            let dst = (row * width + x0) * 3
            let src = ((row - y) * other.width + (x0 - x)) * 3
            let n = (x1 - x0) * 3
            pixels.withUnsafeMutableBufferPointer { d in
                other.pixels.withUnsafeBufferPointer { s in
                    for k in 0..<n { d[dst + k] = s[src + k] }
                }
            }
        }
    }

    /// The pixel size of `grid`'s sheet for `count` cells of `cellWidth`×`cellHeight` (so a
    /// caller can check it against a format's limits before making the images).
    public static func gridSize(count: Int, cellWidth: Int, cellHeight: Int, columns: Int, gap: Int = 2) -> (width: Int, height: Int) {
        let cols = max(1, min(columns, count)), rows = (count + cols - 1) / cols
        return (cols * cellWidth + (cols + 1) * gap, rows * cellHeight + (rows + 1) * gap)
    }

    /// A contact sheet: `images` laid out row by row, `columns` per row, with
    /// `gap` pixels of `background` between and around them. Every cell is the
    /// size of the largest image; smaller images sit at the cell's top-left.
    public static func grid(_ images: [RGBImage], columns: Int, gap: Int = 2,
                            background: (r: UInt8, g: UInt8, b: UInt8) = (255, 255, 255)) throws -> RGBImage {
        guard !images.isEmpty else { throw ImageIOError.invalidImage(reason: "grid of no images") }
        guard columns >= 1, gap >= 0 else {
            throw ImageIOError.invalidImage(reason: "grid needs columns ≥ 1 and gap ≥ 0 (got \(columns), \(gap))")
        }
        let cols = min(columns, images.count)
        let cellW = images.map(\.width).max()!, cellH = images.map(\.height).max()!
        let size = gridSize(count: images.count, cellWidth: cellW, cellHeight: cellH, columns: cols, gap: gap)
        var sheet = try RGBImage(width: size.width, height: size.height, fill: background)
        for (i, image) in images.enumerated() {
            let c = i % cols, r = i / cols
            sheet.paste(image, x: gap + c * (cellW + gap), y: gap + r * (cellH + gap))
        }
        return sheet
    }

    /// Applies an EXIF orientation (1...8, TIFF tag 0x0112) so that the result
    /// is upright: 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90°
    /// clockwise, 7 transverse, 8 rotate 90° counter-clockwise. Other values
    /// return the image unchanged.
    public func applyingEXIFOrientation(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let swaps = orientation >= 5
        let outW = swaps ? height : width, outH = swaps ? width : height
        var out = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<outH {
            for x in 0..<outW {
                // Source pixel (sx, sy) shown at output (x, y).
                let sx: Int, sy: Int
                switch orientation {
                case 2: (sx, sy) = (width - 1 - x, y)
                case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
                case 4: (sx, sy) = (x, height - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, height - 1 - x)
                case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
                default: (sx, sy) = (width - 1 - y, x)  // 8
                }
                let s = (sy * width + sx) * 3, d = (y * outW + x) * 3
                out[d] = pixels[s]
                out[d + 1] = pixels[s + 1]
                out[d + 2] = pixels[s + 2]
            }
        }
        // Sides and byte count are unchanged up to a swap, so this cannot fail.
        return RGBImage(unchecked: outW, outH, out)
    }

    /// Internal initializer for sizes already known to be consistent.
    init(unchecked width: Int, _ height: Int, _ pixels: [UInt8]) {
        precondition(width >= 1 && height >= 1 && pixels.count == width * height * 3, "RGBImage layout")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
