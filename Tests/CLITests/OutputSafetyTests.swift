// What the image commands write: never over their own inputs, and metadata whose reproduce
// line gives the same file again. Each case failed before: the input or the model was
// overwritten, JPEG lines lacked the quality, a negative cfg could not be parsed again, the
// stored model was a bare file name that did not run, `--count` with a folder or "" wrote
// files named after the folder, a grid too tall for JPEG failed after all the work, and any
// JPEG comment passed for reptok's metadata.
import Formats
import Foundation
import ImageIO
import TestSupport
import XCTest

final class OutputSafetyTests: XCTestCase {
    static let digits = TestSupport.repoRoot.appendingPathComponent("models/reptok-digits-int8.gguf").path

    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTempDir("output-safety", removedAfter: self)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func reptok(_ args: [String], cwd: URL? = nil) throws -> TestSupport.Run {
        try TestSupport.run(TestSupport.reptok, args, cwd: cwd ?? dir, timeout: 60)
    }

    func hash(_ name: String) throws -> String { try SHA256.hashFile(path: path(name)) }

    /// Outputs that name an input or the model (another spelling of the same file too) are
    /// refused before any work, and the file is left as it was.
    func testOutputNeverOverwritesAnInput() throws {
        try FileManager.default.copyItem(atPath: Self.digits, toPath: path("m.gguf"))
        XCTAssertEqual(try reptok(["generate", "--model", "m.gguf", "--class", "2", "--seed", "1", "-q", "-o", "v.png"]).status, 0)
        XCTAssertEqual(try reptok(["encode", "v.png", "--model", "m.gguf", "-q", "-o", "t.npy"]).status, 0)
        let before = try [hash("m.gguf"), hash("v.png"), hash("t.npy")]
        let cases: [[String]] = [
            ["generate", "--model", "m.gguf", "--class", "1", "--seed", "1", "-o", "m.gguf"],
            ["generate", "--model", "m.gguf", "--class", "1", "--seed", "1", "-o", "./m.gguf"],
            ["reconstruct", "v.png", "--model", "m.gguf", "--seed", "1", "-o", "./v.png"],
            ["encode", "v.png", "--model", "m.gguf", "-o", "v.png"],
            ["decode", "t.npy", "--model", "m.gguf", "--seed", "1", "-o", "t.npy"],
            ["interpolate", "v.png", "t.npy", "--model", "m.gguf", "--seed", "1", "-o", "t.npy"],
        ]
        for args in cases {
            TestSupport.assertRefused(try reptok(args), args.joined(separator: " "), words: ["is the input", "give another output name"])
        }
        XCTAssertEqual(try [hash("m.gguf"), hash("v.png"), hash("t.npy")], before)
    }

    /// The stored reproduce line, run as written from the folder the first run used (the
    /// default model found as models/…), writes the same bytes: a PNG, and a JPEG at quality 40
    /// with a negative cfg.
    func testReproduceLineRunsAsWritten() throws {
        for (name, extra) in [("a.png", [String]()), ("b.jpg", ["--quality", "40", "--cfg=-0.5"])] {
            let first = path(name), again = path("again-" + name)
            let made = try reptok(["generate", "--class", "7", "--seed", "3", "-q", "-o", first] + extra, cwd: TestSupport.repoRoot)
            XCTAssertEqual(made.status, 0, made.stderr)
            let shown = try reptok(["inspect", first]).stdout
            let line = try XCTUnwrap(shown.split(separator: "\n").first { $0.contains("reproduce: ") })
            var words = line.components(separatedBy: "reproduce: reptok ")[1].split(separator: " ").map(String.init)
            XCTAssertEqual(words.suffix(2), ["-o", "OUT"], String(line))
            if name.hasSuffix(".jpg") {
                XCTAssertTrue(words.contains("--quality") && words.contains("--cfg=-0.5"), String(line))
            }
            words.removeLast()
            let rerun = try reptok(words + [again, "-q"], cwd: TestSupport.repoRoot)
            XCTAssertEqual(rerun.status, 0, "\(line): \(rerun.stderr)")
            XCTAssertEqual(try SHA256.hashFile(path: again), try SHA256.hashFile(path: first), String(line))
        }
    }

    /// A non-ASCII input name is kept in the metadata (PNG iTXt, UTF-8) and quoted in the
    /// reproduce line, which runs as written; before, it became `caf?.png`, unquoted.
    func testNonASCIINamesSurviveInMetadata() throws {
        let made = try reptok(["generate", "--model", Self.digits, "--class", "5", "--seed", "2", "-q", "-o", "café ü.png"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let first = try reptok(["reconstruct", "café ü.png", "--model", Self.digits, "--seed", "0", "-q", "-o", "r1.png"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let text = try XCTUnwrap(try ImageFile.readMetadata(path("r1.png")))
        XCTAssertTrue(text.contains("input: café ü.png"), text)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("reproduce: ") }).dropFirst("reproduce: reptok ".count)
        XCTAssertTrue(line.hasPrefix("reconstruct 'café ü.png' "), String(line))
        // run it through a shell, as a person would paste it
        let sh = try TestSupport.run("/bin/sh", ["-c", "\"$0\" " + line.replacingOccurrences(of: "-o OUT", with: "-q -o r2.png"), TestSupport.reptok],
                                     cwd: dir, timeout: 60)
        XCTAssertEqual(sh.status, 0, sh.stderr)
        XCTAssertEqual(try hash("r2.png"), try hash("r1.png"))
    }

    /// `--count` numbers its files from `-o`, which must therefore be a file name; a grid that
    /// no format can hold is refused before the images are made.
    func testNumberedAndGridOutputsAreCheckedFirst() throws {
        try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: false)
        let gen = ["generate", "--model", Self.digits, "--class", "1", "--seed", "1"]
        TestSupport.assertRefused(try reptok(gen + ["--count", "2", "-o", ""]), "empty", words: ["empty output path"])
        TestSupport.assertRefused(try reptok(gen + ["--count", "2", "-o", "sub"]), "folder", words: ["is a folder"])
        TestSupport.assertRefused(try reptok(gen + ["--count", "2", "-o", "sub/"]), "folder/", words: ["is a folder"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("sub")), [])
        let started = Date()
        TestSupport.assertRefused(try reptok(gen + ["--count", "1930", "--grid", "--columns", "1", "-o", "tall.jpg"]),
                                  "tall grid", words: ["65500 per side", "--columns"])
        // refused at load, not after 1 930 generations (those take a minute or more)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20 * TestSupport.slowdown)
    }

    /// Only a JPEG comment that begins like ours is reptok metadata; other programs' comments
    /// are not shown as if they were.
    func testForeignJPEGCommentIsNotMetadata() throws {
        let image = try RGBImage(width: 8, height: 8, fill: (10, 20, 30))
        try JPEGCodec.encode(image, comment: "Created with GIMP").write(to: dir.appendingPathComponent("gimp.jpg"))
        XCTAssertNil(try ImageFile.readMetadata(path("gimp.jpg")))
        let ours = ImageFile.jpegMetadataPrefix + " 0.1.0\ncommand: generate"
        try JPEGCodec.encode(image, comment: ours).write(to: dir.appendingPathComponent("ours.jpg"))
        XCTAssertEqual(try ImageFile.readMetadata(path("ours.jpg")), ours)
    }
}
