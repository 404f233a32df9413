import Formats
import Foundation
import ImageIO
import Quant
import Runtime
import TestSupport
import XCTest

/// `reptok … --rng torch` on the float32 tiny model against the images PyTorch computes with the
/// same seeds (Tests/Fixtures/torch-rng/e2e.safetensors, tools/make-torch-rng-goldens.py).
final class TorchRNGCLITests: XCTestCase {
    /// Shared temporary folder holding the float32 tiny model (converted once per run).
    static let shared: URL = {
        let url = try! TestSupport.makeTempDir("torchRNGCLI")
        atexit { try? FileManager.default.removeItem(at: TorchRNGCLITests.shared) }
        return url
    }()
    static let modelName = "tiny-f32.gguf"

    static let modelPath: String? = {
        let tiny = TestSupport.path("Tests/Fixtures/tiny")
        let out = shared.appendingPathComponent(modelName).path
        let options = ConvertOptions(weights: .f32, configPath: tiny + "/model.yaml", vaeConfigPath: tiny + "/vae-config.json")
        return (try? convertCheckpoint(input: tiny + "/reptok.ckpt", output: out, options: options)) != nil ? out : nil
    }()

    static func goldens() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: TestSupport.path("Tests/Fixtures/torch-rng/e2e.safetensors"))
    }

    /// Image `i` of a golden `[N, 3, 32, 32]` tensor as 8-bit RGB, rounded as reptok rounds.
    static func goldenPixels(_ name: String, _ i: Int) throws -> [UInt8] {
        let all = try goldens().floats(name), n = 3 * 32 * 32
        return Pipeline.toRGB8(Array(all[i * n ..< (i + 1) * n]), size: 32)
    }

    /// The 32×32 cell at (x, y) of a sheet, as RGB8 rows.
    static func crop(_ image: RGBImage, x: Int, y: Int) -> [UInt8] {
        var out: [UInt8] = []
        for row in y ..< y + 32 {
            let start = (row * image.width + x) * 3
            out += image.pixels[start ..< start + 32 * 3]
        }
        return out
    }

    @discardableResult
    func run(_ args: [String], status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Run {
        let r = try TestSupport.run(TestSupport.reptok, args, cwd: Self.shared)
        XCTAssertEqual(r.status, status, "reptok \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    func pixels(_ name: String) throws -> [UInt8] { try ImageFile.read(Self.shared.appendingPathComponent(name).path).pixels }

    func metadata(_ name: String) throws -> [String: String] {
        let text = try ImageFile.readMetadata(Self.shared.appendingPathComponent(name).path) ?? ""
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Pixels equal PyTorch's image after rounding, but for values within float32 noise (relative
    /// L2 ≈ 1.2e-6) of a rounding boundary: at most 1 level, on at most 1% of the values.
    func assertClose(_ ours: [UInt8], _ golden: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, golden.count, what, file: file, line: line)
        let diffs = zip(ours, golden).map { abs(Int($0) - Int($1)) }
        XCTAssertLessThanOrEqual(diffs.max() ?? 99, 1, what, file: file, line: line)
        XCTAssertLessThanOrEqual(diffs.filter { $0 > 0 }.count, ours.count / 100, what, file: file, line: line)
    }

    func testGenerateRandomClassesMatchesPyTorchAndItsReproduceLine() throws {
        _ = try XCTUnwrap(Self.modelPath, "tiny fixture conversion failed")
        try run(["generate", "--model", Self.modelName, "--rng", "torch", "--seed", "42", "--class", "random",
                 "--count", "3", "--gen-steps", "8", "--steps", "4", "-q", "-o", "r.png"])
        let labels = try Self.goldens().int64s("random42_labels")
        for i in 0 ..< 3 {
            let name = "r-00\(i).png"
            assertClose(try pixels(name), try Self.goldenPixels("random42_images", i), name)
            let md = try metadata(name)
            XCTAssertEqual(md["rng"], "torch")
            XCTAssertEqual(md["seed"], "42")
            XCTAssertEqual(md["class"], "\(labels[i]) (random)")
            XCTAssertEqual(md["batch-index"], "\(i) of 0...2")
        }
        // The reproduce line (model named by file, run next to it) redraws the same batch.
        let line = try XCTUnwrap(try metadata("r-001.png")["reproduce"])
        XCTAssertTrue(line.contains("--class random --rng torch --seed 42 --count 3"), line)
        let args = line.replacingOccurrences(of: " -o OUT", with: " -q -o again.png").split(separator: " ").map(String.init)
        XCTAssertEqual(args.first, "reptok")
        try run(Array(args.dropFirst()))
        for i in 0 ..< 3 { XCTAssertTrue(try pixels("again-00\(i).png") == (try pixels("r-00\(i).png")), "reproduced image \(i)") }
    }

    func testGenerateClassListWithDecoderSeedAndGrid() throws {
        _ = try XCTUnwrap(Self.modelPath, "tiny fixture conversion failed")
        try run(["generate", "--model", Self.modelName, "--rng", "torch", "--seed", "7", "--class", "3,5",
                 "--decoder-seed", "9", "--gen-steps", "8", "--steps", "4", "-q", "-o", "l.png"])
        for i in 0 ..< 2 { assertClose(try pixels("l-00\(i).png"), try Self.goldenPixels("list7_images", i), "image \(i)") }
        XCTAssertEqual(try metadata("l-000.png")["decoder-seed"], "9")
        XCTAssertEqual(try metadata("l-001.png")["class"], "5")
        // The grid holds the same images (gap 2 px, 2 columns).
        try run(["generate", "--model", Self.modelName, "--rng", "torch", "--seed", "7", "--class", "3,5",
                 "--decoder-seed", "9", "--gen-steps", "8", "--steps", "4", "--grid", "-q", "-o", "grid.png"])
        let sheet = try ImageFile.read(Self.shared.appendingPathComponent("grid.png").path)
        XCTAssertEqual(sheet.width, 70, "two 32-pixel images with a 2-pixel border and gap")
        XCTAssertTrue(Self.crop(sheet, x: 36, y: 2) == (try pixels("l-001.png")), "second grid cell is image 1")
    }

    func testDecodeReconstructAndInterpolateMatchPyTorch() throws {
        _ = try XCTUnwrap(Self.modelPath, "tiny fixture conversion failed")
        let fixture = try SafeTensorsFile(path: TestSupport.path("Tests/Fixtures/tiny/golden.safetensors"))
        let tokenPath = Self.shared.appendingPathComponent("token.npy").path
        try NPYFile.write(try fixture.floats("token"), shape: [128], to: tokenPath)
        try run(["decode", "token.npy", "--model", Self.modelName, "--rng", "torch", "--seed", "11", "--steps", "4", "-q", "-o", "d.png"])
        assertClose(try pixels("d.png"), try Self.goldenPixels("decode11_images", 0), "decode")
        XCTAssertEqual(try metadata("d.png")["rng"], "torch")
        XCTAssertTrue(try metadata("d.png")["reproduce"]?.contains("--rng torch --seed 11") ?? false)

        let planar = try fixture.uint8s("image_u8")                                   // [3, 32, 32]
        var rgb = [UInt8](repeating: 0, count: planar.count)
        for i in 0 ..< rgb.count { rgb[i] = planar[(i % 3) * 1024 + i / 3] }
        try ImageFile.write(try RGBImage(width: 32, height: 32, pixels: rgb), to: Self.shared.appendingPathComponent("in.png").path)
        try run(["reconstruct", "in.png", "--model", Self.modelName, "--rng", "torch", "--seed", "12", "--steps", "4", "-q", "-o", "rec.png"])
        assertClose(try pixels("rec.png"), try Self.goldenPixels("reconstruct12_images", 0), "reconstruct")

        // Every frame of a strip decodes from the one seeded latent: frame 0 is `decode` of A.
        try run(["interpolate", "token.npy", "in.png", "--frames", "2", "--model", Self.modelName, "--rng", "torch",
                 "--seed", "11", "--steps", "4", "-q", "-o", "strip.png"])
        let strip = try ImageFile.read(Self.shared.appendingPathComponent("strip.png").path)
        XCTAssertTrue(Self.crop(strip, x: 0, y: 0) == (try pixels("d.png")), "strip frame 0 is the decode")
    }

    /// `--rng reptok --class random` draws each image's class from its own seed's class stream, so
    /// the per-file reproduce line may name the drawn class and still gives the same image.
    func testReptokRandomClassReproducesFromTheResolvedClass() throws {
        _ = try XCTUnwrap(Self.modelPath, "tiny fixture conversion failed")
        try run(["generate", "--model", Self.modelName, "--seed", "5", "--class", "random", "--count", "2",
                 "--gen-steps", "3", "--steps", "2", "-q", "-o", "c.png"])
        for i in 0 ..< 2 {
            let md = try metadata("c-00\(i).png")
            XCTAssertEqual(md["rng"], "reptok")
            let label = try XCTUnwrap(md["class"]?.split(separator: " ").first.map(String.init))
            XCTAssertEqual(md["class"], "\(label) (random)")
            XCTAssertTrue(md["reproduce"]?.contains("--class \(label) --rng reptok --seed \(5 + i)") ?? false, md["reproduce"] ?? "")
            try run(["generate", "--model", Self.modelName, "--seed", "\(5 + i)", "--class", label,
                     "--gen-steps", "3", "--steps", "2", "-q", "-o", "c\(i)-again.png"])
            XCTAssertTrue(try pixels("c\(i)-again.png") == (try pixels("c-00\(i).png")), "image \(i)")
        }
    }

    func testBadRNGOptionsExitWithStatus2() throws {
        _ = try XCTUnwrap(Self.modelPath, "tiny fixture conversion failed")
        let base = ["generate", "--model", Self.modelName, "-q", "-o", "bad.png"]
        try run(base + ["--class", "1", "--rng", "numpy"], status: 2)
        try run(base + ["--class", "1", "--decoder-seed", "3"], status: 2)
        try run(base + ["--class", "1,2,3", "--count", "2"], status: 2)
        try run(base + ["--class", "1,random"], status: 2)
        try run(base + ["--class", "1,,2"], status: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.shared.appendingPathComponent("bad.png").path))
    }
}
