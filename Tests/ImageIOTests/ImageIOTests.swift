import Foundation
import ImageIO
import Support
import TestSupport
import XCTest

/// ImageIO against independent references: PNG files built byte by byte here
/// (no libpng), JPEG files and pixels from Pillow (committed in Fixtures, see
/// make_jpegs.py), PNG output read back by a zlib-only Python reader, and
/// `.npy` files read and written by NumPy.
final class ImageIOTests: XCTestCase {
    // MARK: PNG reading

    /// A 5×3 test pattern; every channel differs per pixel.
    private let w = 5, h = 3
    private func rgbAt(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        (UInt8((x * 50 + y * 7) & 255), UInt8((200 - x * 30 + y * 11) & 255), UInt8((x * y * 17 + 3) & 255))
    }
    /// A 16-bit sample whose low byte is not a copy of its high byte.
    private func wide(_ v: UInt8, _ x: Int, _ y: Int) -> Int { Int(v) * 256 + (x * 37 + y * 91) & 255 }
    /// round(v · 255 / 65535), halves up: the documented 16 → 8 bit rule.
    private func narrow(_ v: Int) -> UInt8 { UInt8((v * 255 + 32767) / 65535) }

    private func decode(_ bytes: [UInt8], maxPixels: Int = ImageFile.defaultMaxPixels) throws -> RGBImage {
        try PNGCodec.decode(Data(bytes), path: "test.png", maxPixels: maxPixels)
    }

    private func expectImage(_ image: RGBImage, _ expected: (Int, Int) -> (UInt8, UInt8, UInt8), _ label: String) {
        XCTAssertEqual(image.width, w, label)
        XCTAssertEqual(image.height, h, label)
        guard image.width == w, image.height == h else { return }
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                let e = expected(x, y)
                XCTAssertEqual([image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]], [e.0, e.1, e.2], "\(label) pixel (\(x), \(y))")
            }
        }
    }

    func testPNGRGB8AndRGBA8DropAlphaWithoutCompositing() throws {
        let rgb = (0..<h).map { y in (0..<w).flatMap { x -> [UInt8] in let p = rgbAt(x, y); return [p.0, p.1, p.2] } }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 8, colorType: 2, rows: rgb)), rgbAt, "RGB8")
        // Alpha 0 on some pixels: the colour must survive unchanged (dropped, not composited).
        let rgba = (0..<h).map { y in (0..<w).flatMap { x -> [UInt8] in let p = rgbAt(x, y); return [p.0, p.1, p.2, UInt8((x * 60) & 255)] } }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 8, colorType: 6, rows: rgba)), rgbAt, "RGBA8")
    }

    func testPNG16BitScalesWithRounding() throws {
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 255)] }
        let rgb16 = (0..<h).map { y in (0..<w).flatMap { x -> [UInt8] in
            let p = rgbAt(x, y)
            return be16(wide(p.0, x, y)) + be16(wide(p.1, x, y)) + be16(wide(p.2, x, y))
        } }
        let expected = { (x: Int, y: Int) -> (UInt8, UInt8, UInt8) in
            let p = self.rgbAt(x, y)
            return (self.narrow(self.wide(p.0, x, y)), self.narrow(self.wide(p.1, x, y)), self.narrow(self.wide(p.2, x, y)))
        }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 16, colorType: 2, rows: rgb16)), expected, "RGB16")
        let rgba16 = (0..<h).map { y in (0..<w).flatMap { x -> [UInt8] in
            let p = rgbAt(x, y)
            return be16(wide(p.0, x, y)) + be16(wide(p.1, x, y)) + be16(wide(p.2, x, y)) + be16(x * 9000)
        } }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 16, colorType: 6, rows: rgba16)), expected, "RGBA16")
        let gray16 = (0..<h).map { y in (0..<w).flatMap { x -> [UInt8] in be16(wide(rgbAt(x, y).0, x, y)) } }
        let grayExpected = { (x: Int, y: Int) -> (UInt8, UInt8, UInt8) in
            let v = self.narrow(self.wide(self.rgbAt(x, y).0, x, y))
            return (v, v, v)
        }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 16, colorType: 0, rows: gray16)), grayExpected, "Gray16")
    }

    func testPNGGrayVariantsCopyToThreeChannels() throws {
        let grayOf = { (x: Int, y: Int) -> UInt8 in self.rgbAt(x, y).1 }
        let gray8 = (0..<h).map { y in (0..<w).map { x in grayOf(x, y) } }
        let gray3 = { (x: Int, y: Int) -> (UInt8, UInt8, UInt8) in (grayOf(x, y), grayOf(x, y), grayOf(x, y)) }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 8, colorType: 0, rows: gray8)), gray3, "Gray8")
        let grayAlpha = (0..<h).map { y in (0..<w).flatMap { x in [grayOf(x, y), UInt8(x * 50)] } }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 8, colorType: 4, rows: grayAlpha)), gray3, "GrayAlpha8")
        // 1-bit gray, packed most significant bit first: bit 1 → 255.
        let bit = { (x: Int, y: Int) -> Bool in (x + y) % 2 == 0 }
        let gray1 = (0..<h).map { y -> [UInt8] in
            var byte: UInt8 = 0
            for x in 0..<w where bit(x, y) { byte |= 0x80 >> UInt8(x) }
            return [byte]
        }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 1, colorType: 0, rows: gray1)),
                    { x, y in bit(x, y) ? (255, 255, 255) : (0, 0, 0) }, "Gray1")
    }

    func testPNGPaletteWithTransparencyAndFourBitIndices() throws {
        // 16 palette entries, entry k = (16k, 255 - 16k, 7k).
        var palette: [UInt8] = []
        for k in 0..<16 { palette += [UInt8(16 * k), UInt8(255 - 16 * k), UInt8(7 * k)] }
        let index = { (x: Int, y: Int) -> Int in (x * 3 + y * 5) % 16 }
        let colour = { (x: Int, y: Int) -> (UInt8, UInt8, UInt8) in
            let k = index(x, y)
            return (UInt8(16 * k), UInt8(255 - 16 * k), UInt8(7 * k))
        }
        let pal8 = (0..<h).map { y in (0..<w).map { x in UInt8(index(x, y)) } }
        // tRNS makes some entries fully transparent: their colour must still come through.
        let trns: [UInt8] = (0..<16).map { UInt8($0 % 3 == 0 ? 0 : 255) }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 8, colorType: 3, rows: pal8, palette: palette, trns: trns)),
                    colour, "Palette8+tRNS")
        // 4-bit indices, high nibble first, last byte half used (w = 5).
        let pal4 = (0..<h).map { y -> [UInt8] in
            stride(from: 0, to: w, by: 2).map { x in UInt8(index(x, y) << 4 | (x + 1 < w ? index(x + 1, y) : 0)) }
        }
        expectImage(try decode(HandPNG.make(width: w, height: h, bitDepth: 4, colorType: 3, rows: pal4, palette: palette)),
                    colour, "Palette4")
    }

    func testAdam7InterlacedPNG() throws {
        // 11×9 so that every one of the seven passes is non-empty and some are ragged.
        let (iw, ih) = (11, 9)
        var pixels: [[[UInt8]]] = []
        for y in 0..<ih {
            var row: [[UInt8]] = []
            for x in 0..<iw { row.append([UInt8(x * 23), UInt8(y * 28), UInt8((x * 7 + y * 13) & 255), UInt8(x * y)]) }
            pixels.append(row)
        }
        let image = try decode(HandPNG.makeAdam7(width: iw, height: ih, colorType: 6, pixels: pixels))
        XCTAssertEqual([image.width, image.height], [iw, ih])
        var expected: [UInt8] = []
        for y in 0..<ih { for x in 0..<iw { expected += pixels[y][x].prefix(3) } }
        XCTAssertEqual(image.pixels, expected)
    }

    // MARK: PNG writing

    func testPNGWriterOutputReadsBackWithIndependentReader() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var pixels = [UInt8](repeating: 0, count: 37 * 23 * 3)
        var state: UInt32 = 12345
        for i in pixels.indices {  // LCG noise plus a ramp: every filter type gets exercised
            state = state &* 1_664_525 &+ 1_013_904_223
            pixels[i] = UInt8(truncatingIfNeeded: (state >> 24) / 4 + UInt32(i % 97))
        }
        let image = try RGBImage(width: 37, height: 23, pixels: pixels)
        let text = "command: generate\nseed: 42\nnon-ASCII → kept (iTXt)"
        let path = dir.appendingPathComponent("w.png").path
        try ImageFile.write(image, to: path, metadata: text)

        let checked = try TestSupport.pythonReadPNG(path, rgbOut: dir.appendingPathComponent("w.rgb").path)
        XCTAssertEqual(checked.info["width"] as? Int, 37)
        XCTAssertEqual(checked.info["height"] as? Int, 23)
        XCTAssertEqual(checked.info["bit_depth"] as? Int, 8)
        XCTAssertEqual(checked.info["color_type"] as? Int, 2)
        XCTAssertEqual(checked.rgb, pixels)
        let chunks = checked.info["chunks"] as? [String] ?? []
        XCTAssertEqual(chunks.first, "IHDR")
        XCTAssertEqual(chunks.last, "IEND")
        XCTAssertLessThan(chunks.firstIndex(of: "iTXt") ?? 99, chunks.firstIndex(of: "IDAT") ?? -1, "iTXt before IDAT")
        XCTAssertEqual((checked.info["text"] as? [String: String])?["reptok"], text)
        XCTAssertEqual(try ImageFile.readMetadata(path), text)
        XCTAssertEqual(try ImageFile.read(path), image)
        // Nothing but the output (and the checker's file) is left in the folder.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["w.png", "w.rgb"])
    }

    // MARK: Damaged and foreign files

    func testTruncatedAndCorruptPNGAreTypedErrors() throws {
        var rows: [[UInt8]] = []
        for y in 0..<20 {
            var row: [UInt8] = []
            for x in 0..<20 { row += [UInt8(x * 12), UInt8(y * 12), UInt8((x ^ y) * 8)] }
            rows.append(row)
        }
        let good = HandPNG.make(width: 20, height: 20, bitDepth: 8, colorType: 2, rows: rows)
        XCTAssertNoThrow(try decode(good))
        // Cuts: inside the signature, inside IHDR, inside IDAT (early, middle, late), before IEND.
        for cut in [0, 5, 8, 20, 40, good.count / 2, good.count - 30, good.count - 12, good.count - 1] {
            XCTAssertThrowsError(try decode(Array(good.prefix(cut))), "cut at \(cut)") { error in
                switch error as? ImageIOError {
                case .corrupt(path: "test.png", format: "PNG", _)?: break
                default: XCTFail("cut at \(cut): expected .corrupt, got \(error)")
                }
            }
        }
        // One flipped bit in the IDAT data: the chunk CRC no longer matches.
        var flipped = good
        flipped[good.count / 2] ^= 0x10
        XCTAssertThrowsError(try decode(flipped)) { error in
            guard case .corrupt? = error as? ImageIOError else { return XCTFail("expected .corrupt, got \(error)") }
        }
    }

    func testAbsurdPNGSizeIsRefusedBeforeAllocating() throws {
        // IHDR says 100000×100000 (10^10 pixels, 30 GB as RGB); the data is a single row.
        let huge = HandPNG.make(width: 100_000, height: 100_000, bitDepth: 8, colorType: 2, rows: [[UInt8](repeating: 0, count: 300_000)])
        XCTAssertThrowsError(try decode(huge)) { error in
            XCTAssertEqual(error as? ImageIOError, .tooLarge(path: "test.png", width: 100_000, height: 100_000, maxPixels: ImageFile.defaultMaxPixels))
        }
        let small = HandPNG.make(width: 5, height: 3, bitDepth: 8, colorType: 0, rows: [[UInt8]](repeating: [1, 2, 3, 4, 5], count: 3))
        XCTAssertThrowsError(try decode(small, maxPixels: 14)) { error in
            XCTAssertEqual(error as? ImageIOError, .tooLarge(path: "test.png", width: 5, height: 3, maxPixels: 14))
        }
        XCTAssertNoThrow(try decode(small, maxPixels: 15))
    }

    func testMissingFolderTextFileAndFolderAreTypedErrors() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.png").path
        XCTAssertThrowsError(try ImageFile.read(missing)) { XCTAssertEqual($0 as? ImageIOError, .fileNotFound(path: missing)) }
        let textFile = dir.appendingPathComponent("notes.png").path
        try Data("just text, named .png".utf8).write(to: URL(fileURLWithPath: textFile))
        XCTAssertThrowsError(try ImageFile.read(textFile)) { XCTAssertEqual($0 as? ImageIOError, .notAnImage(path: textFile)) }
        XCTAssertThrowsError(try ImageFile.read(dir.path)) { error in
            guard case .unreadable? = error as? ImageIOError else { return XCTFail("expected .unreadable, got \(error)") }
        }
    }

    // MARK: JPEG

    /// Compares ImageIO's decode of a Pillow-written JPEG with Pillow's decode.
    private func checkAgainstPillow(_ name: String, tolerance: Int) throws {
        let image = try ImageFile.read(TestSupport.fixtures.appendingPathComponent("\(name).jpg").path)
        let reference = try TestSupport.readPPM(TestSupport.fixtures.appendingPathComponent("\(name).ppm"))
        XCTAssertEqual(image.width, reference.width, name)
        XCTAssertEqual(image.height, reference.height, name)
        guard image.pixels.count == reference.rgb.count else { return XCTFail("\(name): size mismatch") }
        XCTAssertLessThanOrEqual(TestSupport.maxAbsDiff(image.pixels, reference.rgb), tolerance, name)
    }

    /// Both decoders are libjpeg-turbo with the default islow IDCT and fancy
    /// upsampling, which is specified to the bit; 1 level allows for a
    /// different library version rounding a colour conversion differently.
    private let jpegTolerance = 1

    func testBaselineAndProgressiveJPEGMatchPillow() throws {
        try checkAgainstPillow("rgb-baseline", tolerance: jpegTolerance)
        try checkAgainstPillow("rgb-progressive", tolerance: jpegTolerance)
    }

    func testGrayJPEGMatchesPillow() throws {
        try checkAgainstPillow("gray", tolerance: jpegTolerance)
    }

    func testAdobeCMYKJPEGMatchesPillowInks() throws {
        try checkAgainstPillow("cmyk-adobe", tolerance: jpegTolerance)
    }

    func testEXIFOrientationIsApplied() throws {
        // Stored 24×16 with orientation 6: shown 16×24, rotated clockwise (Pillow's exif_transpose).
        try checkAgainstPillow("exif-orientation6", tolerance: jpegTolerance)
        let raw = try JPEGCodec.decode(Data(contentsOf: TestSupport.fixtures.appendingPathComponent("exif-orientation6.jpg")),
                                       honourOrientation: false)
        XCTAssertEqual([raw.width, raw.height], [24, 16])
    }

    func testTruncatedJPEGsAreTypedErrors() throws {
        for name in ["rgb-baseline", "rgb-progressive", "gray", "cmyk-adobe"] {
            let data = try Data(contentsOf: TestSupport.fixtures.appendingPathComponent("\(name).jpg"))
            for cut in [3, 30, data.count / 2, data.count - 40, data.count - 2] {
                XCTAssertThrowsError(try JPEGCodec.decode(data.prefix(cut), path: "t.jpg"), "\(name) cut at \(cut)") { error in
                    guard case .corrupt(path: "t.jpg", format: "JPEG", _)? = error as? ImageIOError else {
                        return XCTFail("\(name) cut at \(cut): expected .corrupt, got \(error)")
                    }
                }
            }
        }
    }

    func testJPEGWriterRoundTripAndComment() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = try TestSupport.readPPM(TestSupport.fixtures.appendingPathComponent("rgb-baseline.ppm"))
        let image = try RGBImage(width: reference.width, height: reference.height, pixels: reference.rgb)
        let path = dir.appendingPathComponent("out.JPG").path
        let text = ImageFile.jpegMetadataPrefix + " 0.1.0\nseed: 7"
        try ImageFile.write(image, to: path, metadata: text, jpegQuality: 95)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(ImageFormat(signature: data), .jpeg, "the .JPG name selects JPEG")
        XCTAssertEqual(try ImageFile.readMetadata(path), text)
        let back = try ImageFile.read(path)
        XCTAssertEqual([back.width, back.height], [image.width, image.height])
        let meanError = Double(zip(back.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(image.pixels.count)
        /// Quality 95 with 4:4:4 chroma keeps the mean error on this smooth card near 1 level; 3 catches a broken encoder.
        XCTAssertLessThan(meanError, 3)
        XCTAssertThrowsError(try ImageFile.write(image, to: path, jpegQuality: 0))
    }

    // MARK: Composition

    func testOrientationsComposeAndGridPlacesCells() throws {
        // 3×2 image whose pixel (x, y) has R = 10x + y.
        let img = try RGBImage(width: 3, height: 2, pixels: (0..<2).flatMap { y in (0..<3).flatMap { x in [UInt8(10 * x + y), 0, 0] } })
        func r(_ i: RGBImage, _ x: Int, _ y: Int) -> UInt8 { i.pixels[(y * i.width + x) * 3] }
        XCTAssertEqual(img.applyingEXIFOrientation(6).applyingEXIFOrientation(8), img)
        XCTAssertEqual(img.applyingEXIFOrientation(3).applyingEXIFOrientation(3), img)
        XCTAssertEqual(img.applyingEXIFOrientation(2).applyingEXIFOrientation(2), img)
        let t = img.applyingEXIFOrientation(5)  // transpose: (x, y) shows source (y, x)
        XCTAssertEqual([t.width, t.height], [2, 3])
        XCTAssertEqual(r(t, 1, 2), 21)
        let cw = img.applyingEXIFOrientation(6)  // clockwise: the source's bottom-left lands top-left
        XCTAssertEqual(r(cw, 0, 0), 1)
        XCTAssertEqual(r(cw, 1, 0), 0)

        let a = try RGBImage(width: 2, height: 2, fill: (10, 20, 30))
        let b = try RGBImage(width: 3, height: 1, fill: (40, 50, 60))
        let sheet = try RGBImage.grid([a, b, a], columns: 2, gap: 1, background: (255, 255, 255))
        // Cells are 3×2 (the largest), 2 columns, 2 rows: 2·3 + 3 gaps wide, 2·2 + 3 gaps high.
        XCTAssertEqual([sheet.width, sheet.height], [9, 7])
        func px(_ x: Int, _ y: Int) -> [UInt8] { Array(sheet.pixels[((y * sheet.width + x) * 3)..<((y * sheet.width + x) * 3 + 3)]) }
        XCTAssertEqual(px(0, 0), [255, 255, 255])
        XCTAssertEqual(px(1, 1), [10, 20, 30])
        XCTAssertEqual(px(5, 1), [40, 50, 60])
        XCTAssertEqual(px(5, 2), [255, 255, 255], "b is one row high")
        XCTAssertEqual(px(2, 5), [10, 20, 30])
    }

    /// ASCII metadata goes into tEXt, anything else into an uncompressed iTXt chunk as UTF-8;
    /// both read back as written, and control characters other than tab and newline become `?`.
    func testPNGMetadataKeepsUnicode() throws {
        let image = try RGBImage(width: 3, height: 2, fill: (1, 2, 3))
        for (text, chunk, back) in [("seed: 7\ninput: a.png", "tEXt", "seed: 7\ninput: a.png"),
                                    ("input: café ü 日本.png\tx", "iTXt", "input: café ü 日本.png\tx"),
                                    ("bell\u{07}: é", "iTXt", "bell?: é")] {
            let data = try PNGCodec.encode(image, textKey: "reptok", text: text)
            XCTAssertNotNil(data.range(of: Data(chunk.utf8)), "\(text): a \(chunk) chunk")
            XCTAssertEqual(try PNGCodec.textChunks(data).first { $0.key == "reptok" }?.text, back)
            XCTAssertEqual(try PNGCodec.decode(data), image)
        }
    }

    // MARK: Atomic writes

    func testWritesIntoMissingOrUnwritablePlacesFailAndLeaveNothing() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try RGBImage(width: 2, height: 2, fill: (1, 2, 3))
        let inMissing = dir.appendingPathComponent("missing/out.png").path
        XCTAssertThrowsError(try AtomicFile.checkWritable(inMissing))
        XCTAssertThrowsError(try ImageFile.write(image, to: inMissing))
        // The output names an existing folder.
        XCTAssertThrowsError(try AtomicFile.checkWritable(dir.path))
        XCTAssertThrowsError(try ImageFile.write(image, to: dir.path))
        // procfs refuses new files even for root.
        XCTAssertThrowsError(try AtomicFile.checkWritable("/proc/reptok-clitests.png"))
        XCTAssertThrowsError(try ImageFile.write(image, to: "/proc/reptok-clitests.png"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        // A good write replaces an existing file and leaves no temporary file.
        let out = dir.appendingPathComponent("out.png").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        try AtomicFile.checkWritable(out)
        try ImageFile.write(image, to: out)
        XCTAssertEqual(try ImageFile.read(out), image)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])
        // The longest name the file system takes (255 bytes, some of them 2-byte characters):
        // the temporary file's own name must still fit.
        let long = dir.appendingPathComponent(String(repeating: "é", count: 60) + String(repeating: "a", count: 131) + ".png").path
        XCTAssertEqual(URL(fileURLWithPath: long).lastPathComponent.utf8.count, 255)
        try AtomicFile.checkWritable(long)
        try ImageFile.write(image, to: long)
        XCTAssertEqual(try ImageFile.read(long), image)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).count, 2)
        // A replaced file keeps its permissions.
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: out)
        try ImageFile.write(image, to: out)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? NSNumber)?.intValue, 0o640)
    }

    // MARK: .npy

    func testNPYWrittenHereLoadsInNumPyBitExact() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values: [Float] = [0, -0.0, 1.5, -3.25e-3, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 1e-20, 7]
        let path = dir.appendingPathComponent("t.npy").path
        try NPYFile.write(values, shape: [2, 4], to: path)
        let script = """
        import numpy as np, sys
        a = np.load(sys.argv[1])
        assert a.dtype == np.dtype('<f4') and a.shape == (2, 4) and a.flags['C_CONTIGUOUS']
        print(' '.join('%08x' % v for v in a.reshape(-1).view(np.uint32)))
        """
        let r = try TestSupport.run(TestSupport.python3, ["-c", script, path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       values.map { String(format: "%08x", $0.bitPattern) }.joined(separator: " "))
        // NumPy's own header layout: data starts at a multiple of 64.
        let header = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual((10 + Int(header[8]) + Int(header[9]) * 256) % 64, 0)
    }

    func testNPYWrittenByNumPyReadsHereAndBadOnesAreRefused() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
        import numpy as np, sys
        d = sys.argv[1]
        np.save(d + '/f4.npy', np.arange(6, dtype='<f4').reshape(2, 3) / 7)
        np.save(d + '/f8.npy', np.array([0.1, -2.5, 3e10]))
        np.save(d + '/vec.npy', np.array([1.25, 2.5], dtype='<f4'))
        np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype='<f4')))
        np.save(d + '/int.npy', np.arange(3, dtype='<i4'))
        np.save(d + '/big.npy', np.ones(3, dtype='>f4'))
        open(d + '/short.npy', 'wb').write(open(d + '/f4.npy', 'rb').read()[:-3])
        print(' '.join('%08x' % v for v in (np.arange(6, dtype='<f4') / 7).view(np.uint32)))
        """
        let r = try TestSupport.run(TestSupport.python3, ["-c", script, dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let f4 = try NPYFile.read(dir.appendingPathComponent("f4.npy").path)
        XCTAssertEqual(f4.shape, [2, 3])
        XCTAssertEqual(f4.values.map { String(format: "%08x", $0.bitPattern) }.joined(separator: " "),
                       r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(try NPYFile.read(dir.appendingPathComponent("f8.npy").path), NPYFile.Array(shape: [3], values: [0.1, -2.5, 3e10]))
        XCTAssertEqual(try NPYFile.read(dir.appendingPathComponent("vec.npy").path), NPYFile.Array(shape: [2], values: [1.25, 2.5]))
        for bad in ["fortran", "int", "big", "short"] {
            let path = dir.appendingPathComponent("\(bad).npy").path
            XCTAssertThrowsError(try NPYFile.read(path), bad) { error in
                guard case .badNPY(path: path, _)? = error as? ImageIOError else { return XCTFail("\(bad): expected .badNPY, got \(error)") }
            }
        }
        let png = dir.appendingPathComponent("x.npy").path
        try Data(HandPNG.make(width: 1, height: 1, bitDepth: 8, colorType: 0, rows: [[0]])).write(to: URL(fileURLWithPath: png))
        XCTAssertThrowsError(try NPYFile.read(png))
    }
}
