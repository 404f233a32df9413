// The `reproduce` line of a generated image, parsed again by the real command line: it must ask
// for exactly the request that ran (same settings in the metadata, same pixels), and a request
// without explicit settings must have run the model file's own sampling defaults.
import Formats
import Foundation
import ImageIO
import TestSupport
import XCTest

final class ReproduceTests: XCTestCase {
    /// The repository's models folder: reproduce lines name the model by file name, so they run there.
    static let models = TestSupport.repoRoot.appendingPathComponent("models")

    var dir: URL!

    override func setUpWithError() throws {
        XCTAssertFalse(TestSupport.reptok.isEmpty, "reptok executable not found next to the test bundle")
        dir = try TestSupport.makeTempDir(name, removedAfter: self)
    }

    @discardableResult
    func reptok(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Run {
        let r = try TestSupport.run(TestSupport.reptok, args, cwd: Self.models)
        XCTAssertEqual(r.status, 0, "reptok \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    func out(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `key: value` lines of an image's metadata.
    func metadata(_ name: String) throws -> [String: String] {
        let text = try XCTUnwrap(try ImageFile.readMetadata(out(name)), name)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Runs the `reproduce` line of `name` (no argument of ours needs quoting, so splitting at
    /// spaces is the shell's parse) into `again`, and checks the new image has the same metadata
    /// and pixels.
    func checkReproduces(_ name: String, again: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let md = try metadata(name)
        let reproduce = try XCTUnwrap(md["reproduce"], file: file, line: line)
        XCTAssertTrue(reproduce.hasPrefix("reptok generate ") && reproduce.hasSuffix(" -o OUT"), reproduce, file: file, line: line)
        XCTAssertFalse(reproduce.contains("'"), "nothing to quote: \(reproduce)", file: file, line: line)
        let args = reproduce.dropLast(" -o OUT".count).split(separator: " ").dropFirst().map(String.init)
        try reptok(args + ["-q", "-o", out(again)], file: file, line: line)
        XCTAssertEqual(try metadata(again), md, "\(name): the reproduced image records the same request", file: file, line: line)
        XCTAssertEqual(try ImageFile.read(out(again)).pixels, try ImageFile.read(out(name)).pixels, name, file: file, line: line)
    }

    /// Without sampling options the image records the file's own defaults (the digits model's
    /// 25 steps, the tiny model's 50), read here from the file's metadata; without `--seed` it
    /// records the seed it drew; and its reproduce line, parsed again, runs the same request.
    func testDefaultsAreTheFilesAndTheReproduceLineRunsTheSameRequest() throws {
        for (model, name) in [("reptok-digits-int8.gguf", "digits.png"), ("reptok-tiny-int8.gguf", "tiny.png")] {
            let file = try GGUFFile(path: Self.models.appendingPathComponent(model).path).metadata
            let steps = try XCTUnwrap(file["reptok.sample.num_steps"]?.int)
            let cfg = try XCTUnwrap(file["reptok.sample.cfg_scale"]?.float)
            let interval = try XCTUnwrap(file["reptok.sample.t_interval"]?.floatArray)
            try reptok(["generate", "--model", model, "--class", "7", "-q", "-o", out(name)])
            let md = try metadata(name)
            XCTAssertEqual(md["gen-steps"], "\(steps)", model)
            XCTAssertEqual(md["steps"], "\(steps)", model)
            XCTAssertEqual(md["cfg"].flatMap(Float.init), cfg, model)
            XCTAssertEqual(md["cfg-interval"]?.split(separator: ",").compactMap { Float($0) }, interval, model)
            XCTAssertEqual(md["sampler"], "euler")
            XCTAssertEqual(md["rng"], "reptok")
            XCTAssertNotNil(md["seed"].flatMap(UInt64.init), "the drawn seed is recorded: \(md["seed"] ?? "none")")
            try checkReproduces(name, again: "again-" + name)
        }
    }

    /// Explicit settings override the defaults and survive the round trip: per file of a `.reptok`
    /// batch (each file names its own seed and class), and for a grid of a `.torch` batch of
    /// random classes (the line names the whole batch and the grid).
    func testExplicitSettingsSurviveTheRoundTrip() throws {
        let model = "reptok-tiny-int8.gguf"
        try reptok(["generate", "--model", model, "--class", "2,5", "--seed", "30", "--gen-steps", "3", "--steps", "2",
                    "--cfg", "2.5", "--cfg-interval", "0.1,0.6", "--sampler", "heun", "--compute", "w8a8", "-q", "-o", out("b.png")])
        let second = try metadata("b-001.png")
        for (key, value) in [("gen-steps", "3"), ("steps", "2"), ("cfg", "2.5"), ("cfg-interval", "0.1,0.6"), ("sampler", "heun"),
                             ("compute", "w8a8"), ("seed", "31"), ("class", "5")] {
            XCTAssertEqual(second[key], value, key)
        }
        try checkReproduces("b-001.png", again: "b1-again.png")

        try reptok(["generate", "--model", model, "--class", "random", "--count", "3", "--grid", "--rng", "torch", "--seed", "8",
                    "--decoder-seed", "4", "--gen-steps", "2", "--steps", "2", "-q", "-o", out("g.png")])
        let grid = try XCTUnwrap(try metadata("g.png")["reproduce"])
        XCTAssertTrue(grid.contains("--class random --rng torch --seed 8 --count 3 --decoder-seed 4"), grid)
        XCTAssertTrue(grid.contains("--grid --columns 2"), grid)
        try checkReproduces("g.png", again: "g-again.png")
    }
}
