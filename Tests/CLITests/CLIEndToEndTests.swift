import Formats
import Foundation
import ImageIO
import Quant
import TestSupport
import XCTest

/// Runs the built `reptok` binary end to end, mostly on the committed tiny model
/// (`models/reptok-tiny-int8.gguf`, random weights: images are noise), and checks
/// its files with independent readers: `Fixtures/pngread.py` (Python zlib +
/// struct) for PNG, NumPy for `.npy`.
final class CLIEndToEndTests: XCTestCase {
    // MARK: Set-up

    /// The `reptok` executable next to the test bundle (SwiftPM puts both in `.build/<config>/`).
    static let reptok = TestSupport.reptok

    static let model = TestSupport.repoRoot.appendingPathComponent("models/reptok-tiny-int8.gguf").path
    /// The default model: the trained digits demo, whose file carries class names.
    static let digitsModel = TestSupport.repoRoot.appendingPathComponent("models/reptok-digits-int8.gguf").path
    /// The tiny fixture's image side (docs/model.md, 'Reference fixtures': 32×32).
    static let side = 32

    private var dir: URL!

    override func setUpWithError() throws {
        XCTAssertFalse(Self.reptok.isEmpty, "reptok executable not found next to the test bundle")
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.model), "missing \(Self.model)")
        dir = try TestSupport.makeTempDir(name)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs reptok with `--model` prepended after the subcommand (unless `model` is nil).
    @discardableResult
    private func reptok(_ args: [String], model: String? = CLIEndToEndTests.model, cwd: URL? = nil) throws -> TestSupport.Run {
        var full = args
        if let model, !args.isEmpty { full.insert(contentsOf: ["--model", model], at: 1) }
        return try TestSupport.run(Self.reptok, full, cwd: cwd ?? dir)
    }

    /// Runs reptok and requires exit status 0.
    @discardableResult
    private func ok(_ args: [String], model: String? = CLIEndToEndTests.model, cwd: URL? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.Run {
        let r = try reptok(args, model: model, cwd: cwd)
        XCTAssertEqual(r.status, 0, "reptok \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    private func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// `key: value` lines of a metadata text.
    private func fields(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// A small input photo: the Pillow-written test card.
    private var cardJPEG: String { TestSupport.fixtures.appendingPathComponent("rgb-baseline.jpg").path }

    // MARK: Help

    func testHelpListsTheCommandsAndTheDefaultModel() throws {
        let root = try ok(["--help"], model: nil)
        for command in ["generate", "reconstruct", "interpolate", "encode", "decode", "inspect"] {
            XCTAssertTrue(root.stdout.contains(command), "reptok --help lists \(command)")
        }
        for command in ["generate", "reconstruct", "interpolate", "encode", "decode"] {
            let help = try ok([command, "--help"], model: nil)
            XCTAssertTrue(help.stdout.contains("models/reptok-digits-int8.gguf"), "\(command) --help names the default model")
            XCTAssertTrue(help.stdout.contains("trained demo model"), "\(command) --help says what the default model is")
            XCTAssertTrue(help.stdout.contains("--threads") && help.stdout.contains("--quiet"), command)
        }
    }

    // MARK: Generate

    func testGenerateWritesAPNGThatAnIndependentReaderDecodesWithItsMetadata() throws {
        let r = try ok(["generate", "--class", "3", "--seed", "42", "--steps", "3", "--gen-steps", "4",
                        "--cfg", "2", "--cfg-interval", "0.2,0.8", "--sampler", "heun", "-o", "g.png"])
        // Not a terminal: no progress bar, only the one-line summary.
        XCTAssertFalse(r.stderr.contains("\r"))
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("generate") && r.stderr.contains("decode") && r.stderr.contains(" s"), r.stderr)

        let checked = try TestSupport.pythonReadPNG(path("g.png"), rgbOut: path("g.rgb"))
        XCTAssertEqual(checked.info["width"] as? Int, Self.side)
        XCTAssertEqual(checked.info["height"] as? Int, Self.side)
        XCTAssertEqual(checked.info["color_type"] as? Int, 2, "8-bit RGB")
        XCTAssertEqual(try ImageFile.read(path("g.png")).pixels, checked.rgb, "libpng and zlib readers agree")
        let rgb = checked.rgb ?? []
        XCTAssertGreaterThan(Set(rgb).count, 16, "a noise image, not a constant fill")

        let text = (checked.info["text"] as? [String: String])?["reptok"] ?? ""
        let md = fields(text)
        XCTAssertEqual(md["command"], "generate")
        XCTAssertEqual(md["model"], "reptok-tiny-int8.gguf")
        XCTAssertEqual(md["model-source-sha256"]?.count, 64, "SHA-256 hex of the source checkpoint")
        XCTAssertEqual(md["class"]?.hasPrefix("3"), true)
        XCTAssertEqual(md["seed"], "42")
        XCTAssertEqual(md["steps"], "3")
        XCTAssertEqual(md["gen-steps"], "4")
        XCTAssertEqual(md["cfg"], "2")
        XCTAssertEqual(md["cfg-interval"], "0.2,0.8")
        XCTAssertEqual(md["sampler"], "heun")
        XCTAssertNotNil(md["reptok-version"])
        XCTAssertNotNil(md["reproduce"])

        // `reptok inspect` prints the same metadata back.
        let inspected = try ok(["inspect", path("g.png")], model: nil)
        XCTAssertTrue(inspected.stdout.contains(text), "inspect output:\n\(inspected.stdout)\nexpected to contain:\n\(text)")
    }

    func testSameSeedIsBitIdenticalWithOneAndTwoThreads() throws {
        let args = ["--class", "5", "--seed", "1234", "--steps", "3", "--gen-steps", "3"]
        try ok(["generate"] + args + ["--threads", "1", "-o", "t1.png"])
        try ok(["generate"] + args + ["--threads", "2", "-o", "t2.png"])
        try ok(["generate"] + args + ["--threads", "2", "-o", "t2b.png"])
        XCTAssertEqual(try bytes("t1.png"), try bytes("t2.png"))
        XCTAssertEqual(try bytes("t2.png"), try bytes("t2b.png"))
        try ok(["reconstruct", cardJPEG, "--seed", "9", "--steps", "3", "--threads", "1", "-o", "r1.png"])
        try ok(["reconstruct", cardJPEG, "--seed", "9", "--steps", "3", "--threads", "2", "-o", "r2.png"])
        XCTAssertEqual(try bytes("r1.png"), try bytes("r2.png"))
    }

    /// Every kernel level this CPU runs (`REPTOK_ISA`) writes the same bytes in both modes:
    /// W8A8 sums are exact on every level and the float microkernels run the same FMA
    /// chains. The levels are listed by the binary's `--version` line.
    func testEveryInstructionLevelWritesTheSameFile() throws {
        let version = try ok(["--version"], model: nil).stdout
        let listed = try XCTUnwrap(version.range(of: "this CPU runs ")).upperBound
        // "neon, generic (with sdot))": each item's first word is a level; notes follow in parentheses.
        let levels = version[listed...].split(separator: ",")
            .compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ")" || $0 == "\n" }).first.map(String.init) }
        XCTAssertTrue(levels.contains("generic"), version)
        XCTAssertGreaterThanOrEqual(levels.count, 2, "a machine this project supports runs a SIMD level and generic: \(version)")
        var env = ProcessInfo.processInfo.environment
        for mode in ["w8a32", "w8a8"] {
            var first: Data?
            for isa in levels {
                env["REPTOK_ISA"] = isa
                let out = "l-\(isa)-\(mode).png"
                let r = try TestSupport.run(Self.reptok, ["generate", "--model", Self.model, "--class", "4", "--seed", "5",
                                                          "--steps", "3", "--gen-steps", "3", "--compute", mode, "-o", out],
                                            cwd: dir, environment: env)
                XCTAssertEqual(r.status, 0, "\(isa) \(mode): \(r.stderr)")
                let data = try bytes(out)
                if let first { XCTAssertEqual(data, first, "\(mode): \(isa) differs from \(levels[0])") } else { first = data }
            }
        }
        // a level that is no level, and one this CPU lacks: exit 2, one line, no file
        XCTAssertTrue(levels.contains("amx-emulated"), "the tile model runs everywhere: \(version)")
        let lacking = ["amx", "avx512vnni", "avx512", "avxvnni", "avx2", "neondot", "neon"].first { !levels.contains($0) }!
        for (value, expect) in [("sse9", "is not a level"), (lacking, "this CPU lacks")] {
            env["REPTOK_ISA"] = value
            let r = try TestSupport.run(Self.reptok, ["generate", "--model", Self.model, "--class", "4", "-o", "bad.png"],
                                        cwd: dir, environment: env)
            XCTAssertEqual(r.status, 2, value)
            XCTAssertTrue(r.stderr.hasPrefix("reptok: REPTOK_ISA=\(value)") && r.stderr.contains(expect), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.png")))
            // --version names the level in use, so it refuses the same way
            let v = try TestSupport.run(Self.reptok, ["--version"], cwd: dir, environment: env)
            XCTAssertEqual(v.status, 2, "--version with REPTOK_ISA=\(value): \(v.stdout)")
            XCTAssertTrue(v.stderr.hasPrefix("reptok: REPTOK_ISA=\(value)") && v.stderr.contains(expect), v.stderr)
        }
    }

    /// The AMX path (on the tile model here, on the tiles where the CPU grants them) writes
    /// the same W8A8 image of the trained digits model as avx512vnni (where present) and
    /// generic: encoder-free generation through the generator, decoder and VAE, every int8
    /// product on tiles. Few steps keep the scalar tile model fast.
    func testDigitsGenerateW8A8IsBitIdenticalOnTheTilePath() throws {
        let version = try ok(["--version"], model: nil).stdout
        var levels = ["amx-emulated", "generic"]
        if version.contains(" avx512vnni") { levels.append("avx512vnni") }
        if version.contains("runs amx,") { levels.append("amx") }
        var env = ProcessInfo.processInfo.environment
        var first: Data?
        for isa in levels {
            env["REPTOK_ISA"] = isa
            let out = "d-\(isa).png"
            let r = try TestSupport.run(Self.reptok, ["generate", "--model", Self.digitsModel, "--class", "7", "--seed", "3",
                                                      "--steps", "4", "--gen-steps", "3", "--compute", "w8a8", "-o", out],
                                        cwd: dir, environment: env)
            XCTAssertEqual(r.status, 0, "\(isa): \(r.stderr)")
            let data = try bytes(out)
            if let first { XCTAssertEqual(data, first, "digits W8A8: \(isa) differs from \(levels[0])") } else { first = data }
        }
    }

    /// `inspect` on a model and `bench kernels` name the kernel level (`REPTOK_ISA` here);
    /// `bench kernels` reports the AMX int8 probe, or why it is not available.
    func testInspectAndBenchKernelsNameTheLevel() throws {
        let version = try ok(["--version"], model: nil).stdout
        let hasAMX = version.contains("runs amx,")
        var env = ProcessInfo.processInfo.environment
        env["REPTOK_ISA"] = "generic"
        let inspected = try TestSupport.run(Self.reptok, ["inspect", Self.model], cwd: dir, environment: env)
        XCTAssertEqual(inspected.status, 0, inspected.stderr)
        XCTAssertTrue(inspected.stdout.contains("kernels on this machine: generic (this CPU runs "), inspected.stdout)
        // ceilings only, one repetition, one thread: a few seconds on a loaded 2-vCPU machine
        let bench = try TestSupport.run(Self.reptok, ["bench", "kernels", "--only", "ceilings", "--reps", "1", "--threads", "1", "--json"],
                                        cwd: dir, environment: env)
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any], bench.stdout)
        XCTAssertEqual(json["isa"] as? String, "generic")
        let probe = try XCTUnwrap(json["amx_probe"] as? String)
        if hasAMX {
            XCTAssertGreaterThan(try XCTUnwrap(json["amx_int8_peak_gops"] as? Double), 0)
            XCTAssertTrue(probe.hasPrefix("tdpbssd"), probe)
        } else {
            XCTAssertTrue(json["amx_int8_peak_gops"] is NSNull, "\(json["amx_int8_peak_gops"] ?? "missing")")
            XCTAssertTrue(probe.hasPrefix("not available"), probe)
        }
    }

    func testSeedsMatterAndARandomSeedIsRecordedAndReproduces() throws {
        let args = ["--class", "2", "--steps", "2", "--gen-steps", "3"]
        try ok(["generate"] + args + ["--seed", "1", "-o", "s1.png"])
        try ok(["generate"] + args + ["--seed", "2", "-o", "s2.png"])
        XCTAssertNotEqual(try ImageFile.read(path("s1.png")).pixels, try ImageFile.read(path("s2.png")).pixels)
        // No --seed: a seed is chosen and written down; rerunning with it gives the same file.
        try ok(["generate"] + args + ["-o", "rand.png"])
        let seed = try XCTUnwrap(fields(try XCTUnwrap(ImageFile.readMetadata(path("rand.png"))))["seed"])
        XCTAssertNotNil(UInt64(seed), seed)
        try ok(["generate"] + args + ["--seed", seed, "-o", "again.png"])
        XCTAssertEqual(try bytes("rand.png"), try bytes("again.png"))
    }

    func testCountWritesNumberedFilesAndGridWritesOneSheet() throws {
        let args = ["--class", "1", "--steps", "2", "--gen-steps", "2"]
        try ok(["generate"] + args + ["--seed", "10", "--count", "3", "-o", "many.png"])
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(names, ["many-000.png", "many-001.png", "many-002.png"])
        // Image i uses seed s + i.
        try ok(["generate"] + args + ["--seed", "11", "-o", "single.png"])
        XCTAssertEqual(try ImageFile.read(path("many-001.png")).pixels, try ImageFile.read(path("single.png")).pixels)
        XCTAssertEqual(fields(try ImageFile.readMetadata(path("many-002.png")) ?? "")["seed"], "12")

        try ok(["generate"] + args + ["--seed", "10", "--count", "3", "--grid", "-o", "sheet.png"])
        let sheet = try ImageFile.read(path("sheet.png"))
        // 3 images → 2 columns × 2 rows of 32-pixel cells with 2-pixel gaps around and between.
        XCTAssertEqual([sheet.width, sheet.height], [2 * Self.side + 3 * 2, 2 * Self.side + 3 * 2])
        // --columns 3: one row of three.
        try ok(["generate"] + args + ["--seed", "10", "--count", "3", "--grid", "--columns", "3", "-o", "row.png"])
        let row = try ImageFile.read(path("row.png"))
        XCTAssertEqual([row.width, row.height], [3 * Self.side + 4 * 2, Self.side + 2 * 2])
        XCTAssertEqual(try reptok(["generate"] + args + ["--count", "3", "--columns", "2", "-o", "nogrid.png"]).status, 2, "--columns needs --grid")
        let second = try ImageFile.read(path("many-001.png"))
        for y in 0..<Self.side {  // cell 1 (row 0, column 1) is image 1
            let rowStart = ((2 + y) * sheet.width + 2 + Self.side + 2) * 3
            XCTAssertEqual(Array(sheet.pixels[rowStart..<(rowStart + Self.side * 3)]),
                           Array(second.pixels[(y * Self.side * 3)..<((y + 1) * Self.side * 3)]), "grid row \(y)")
        }
    }

    func testClassNameAndIndexGiveTheSameFile() throws {
        // Names come from the model's own metadata (the digits model: "seven, 7").
        let args = ["--seed", "3", "--steps", "2", "--gen-steps", "2"]
        try ok(["generate", "--class", "Seven"] + args + ["-o", "name.png"], model: Self.digitsModel)
        try ok(["generate", "--class", "7"] + args + ["-o", "index.png"], model: Self.digitsModel)
        XCTAssertEqual(try bytes("name.png"), try bytes("index.png"))
        XCTAssertEqual(fields(try ImageFile.readMetadata(path("name.png")) ?? "")["class"], "7 (seven)")
        let typo = try reptok(["generate", "--class", "sevn"] + args + ["-o", "typo.png"], model: Self.digitsModel)
        XCTAssertEqual(typo.status, 2)
        XCTAssertTrue(typo.stderr.contains("did you mean \"seven\""), typo.stderr)
        // A 10-class model without names of its own does not borrow ImageNet's (only 1000-class models do).
        let unnamed = try reptok(["generate", "--class", "tench"] + args + ["-o", "tench.png"])
        XCTAssertEqual(unnamed.status, 2)
        XCTAssertTrue(unnamed.stderr.contains("names no classes"), unnamed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("tench.png")))
    }

    func testJPEGOutputWhenTheNameEndsInJpg() throws {
        try ok(["generate", "--class", "4", "--seed", "3", "--steps", "2", "--gen-steps", "2", "--quality", "80", "-o", "g.jpg"])
        let data = try bytes("g.jpg")
        XCTAssertEqual(ImageFormat(signature: data), .jpeg)
        XCTAssertEqual(fields(try ImageFile.readMetadata(path("g.jpg")) ?? "")["seed"], "3")
        XCTAssertEqual(try ImageFile.read(path("g.jpg")).width, Self.side)
    }

    // MARK: Encode, decode, reconstruct, interpolate

    func testEncodeDecodeAndReconstructAgree() throws {
        try ok(["encode", cardJPEG, "-o", "card.npy"])
        // NumPy reads the token: float32, one dimension.
        let r = try TestSupport.run(TestSupport.python3, ["-c", """
            import numpy as np, sys
            a = np.load(sys.argv[1])
            assert a.dtype == np.float32 and a.ndim == 1 and np.isfinite(a).all() and np.abs(a).max() > 0, (a.dtype, a.shape)
            print(a.shape[0])
            """, path("card.npy")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "128", "tiny fixture token width (docs/model.md)")

        try ok(["decode", path("card.npy"), "--seed", "5", "--steps", "3", "-o", "dec.png"])
        try ok(["reconstruct", cardJPEG, "--seed", "5", "--steps", "3", "-o", "rec.png"])
        // Reconstruct is encode then decode, and the .npy holds the float32 token exactly.
        XCTAssertEqual(try ImageFile.read(path("dec.png")).pixels, try ImageFile.read(path("rec.png")).pixels)
        XCTAssertEqual(fields(try ImageFile.readMetadata(path("rec.png")) ?? "")["input"], "rgb-baseline.jpg")

        try ok(["reconstruct", cardJPEG, "--seed", "5", "--steps", "3", "--side-by-side", "-o", "sbs.png"])
        let sbs = try ImageFile.read(path("sbs.png"))
        XCTAssertEqual([sbs.width, sbs.height], [2 * Self.side, Self.side])
        let rec = try ImageFile.read(path("rec.png"))
        for y in 0..<Self.side {  // right half is the reconstruction
            let s = (y * sbs.width + Self.side) * 3
            XCTAssertEqual(Array(sbs.pixels[s..<(s + Self.side * 3)]), Array(rec.pixels[(y * Self.side * 3)..<((y + 1) * Self.side * 3)]))
        }

        // A token written by NumPy decodes too, and one of the wrong width is refused.
        let w = try TestSupport.run(TestSupport.python3, ["-c", """
            import numpy as np, sys
            np.save(sys.argv[1], np.linspace(-1, 1, 128).astype(np.float32).reshape(1, 128))
            np.save(sys.argv[2], np.zeros(7, dtype=np.float32))
            """, path("np.npy"), path("short.npy")])
        XCTAssertEqual(w.status, 0, w.stderr)
        try ok(["decode", path("np.npy"), "--seed", "1", "--steps", "2", "-o", "np.png"])
        let bad = try reptok(["decode", path("short.npy"), "--seed", "1", "--steps", "2", "-o", "short.png"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("short.png")))
    }

    func testInterpolateStripEndsAtTheDecodedInputs() throws {
        let other = TestSupport.fixtures.appendingPathComponent("gray.jpg").path
        try ok(["interpolate", cardJPEG, other, "--frames", "4", "--seed", "8", "--steps", "2", "-o", "strip.png"])
        let strip = try ImageFile.read(path("strip.png"))
        XCTAssertEqual([strip.width, strip.height], [4 * Self.side, Self.side])
        // Frame 0 is token A and frame 3 token B (α = 0 and 1 are exact), decoded with the same seed.
        try ok(["encode", cardJPEG, "-o", "a.npy"])
        try ok(["encode", other, "-o", "b.npy"])
        try ok(["decode", path("a.npy"), "--seed", "8", "--steps", "2", "-o", "a.png"])
        try ok(["decode", path("b.npy"), "--seed", "8", "--steps", "2", "-o", "b.png"])
        let a = try ImageFile.read(path("a.png")), b = try ImageFile.read(path("b.png"))
        for y in 0..<Self.side {
            let row = y * strip.width * 3, cell = y * Self.side * 3, n = Self.side * 3
            XCTAssertEqual(Array(strip.pixels[row..<(row + n)]), Array(a.pixels[cell..<(cell + n)]), "frame 0 row \(y)")
            let last = row + 3 * Self.side * 3
            XCTAssertEqual(Array(strip.pixels[last..<(last + n)]), Array(b.pixels[cell..<(cell + n)]), "frame 3 row \(y)")
        }
        // slerp differs from lerp in the middle frames only; tokens from .npy work as inputs.
        try ok(["interpolate", path("a.npy"), path("b.npy"), "--frames", "4", "--seed", "8", "--steps", "2", "--mode", "slerp", "-o", "slerp.png"])
        let slerp = try ImageFile.read(path("slerp.png"))
        XCTAssertEqual(Array(slerp.pixels[0..<(Self.side * 3)]), Array(strip.pixels[0..<(Self.side * 3)]))
        XCTAssertNotEqual(slerp.pixels, strip.pixels)
    }

    // MARK: Default model, progress

    func testDefaultModelIsFoundInTheCurrentFolderOrNextToTheExecutable() throws {
        let args = ["generate", "--seed", "1", "--steps", "2", "--gen-steps", "2"]
        // From the repository root: models/ in the current folder.
        try ok(args + ["--class", "1", "-o", path("cwd.png")], model: nil, cwd: TestSupport.repoRoot)
        XCTAssertEqual(fields(try ImageFile.readMetadata(path("cwd.png")) ?? "")["model"], "reptok-digits-int8.gguf")
        // A copy laid out like a checkout (ROOT/.build/release/reptok, ROOT/models/), run from a
        // folder without models/: found through ../../models relative to the executable.
        let root = dir.appendingPathComponent("checkout")
        let release = root.appendingPathComponent(".build/release")
        try FileManager.default.createDirectory(at: release, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("models"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.reptok, toPath: release.appendingPathComponent("reptok").path)
        try FileManager.default.copyItem(atPath: Self.digitsModel, toPath: root.appendingPathComponent("models/reptok-digits-int8.gguf").path)
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let r = try TestSupport.run(release.appendingPathComponent("reptok").path, args + ["--class", "one", "-o", path("exe.png")], cwd: elsewhere)
        XCTAssertEqual(r.status, 0, r.stderr)
        // the same image; each reproduce line names the model where that run found it
        XCTAssertEqual(try ImageFile.read(path("cwd.png")).pixels, try ImageFile.read(path("exe.png")).pixels)
        let lineCwd = fields(try ImageFile.readMetadata(path("cwd.png")) ?? "")["reproduce"] ?? ""
        let lineExe = fields(try ImageFile.readMetadata(path("exe.png")) ?? "")["reproduce"] ?? ""
        XCTAssertTrue(lineCwd.contains("--model models/reptok-digits-int8.gguf "), lineCwd)
        XCTAssertTrue(lineExe.contains("--model \(root.path)/models/reptok-digits-int8.gguf "), lineExe)
        // Without either, the error names the places it looked.
        try FileManager.default.removeItem(at: root.appendingPathComponent("models"))
        let missing = try TestSupport.run(release.appendingPathComponent("reptok").path, args + ["--class", "1", "-o", path("none.png")], cwd: elsewhere)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("models/reptok-digits-int8.gguf"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("none.png")))
    }

    func testProgressBarOnlyOnATerminalAndQuietIsSilent() throws {
        let quiet = try ok(["generate", "--class", "1", "--seed", "1", "--steps", "3", "--gen-steps", "2", "--quiet", "-o", "q.png"])
        XCTAssertEqual(quiet.stderr, "")
        XCTAssertEqual(quiet.stdout, "")
        // Under a pseudo-terminal (util-linux `script`), stderr is a TTY: the bar shows stage, i/N, it/s and time left.
        let command = [Self.reptok, "generate", "--model", Self.model, "--class", "1", "--seed", "1", "--steps", "3",
                       "--gen-steps", "2", "-o", path("tty.png")].map { "'\($0)'" }.joined(separator: " ")
        let tty = try TestSupport.run("/usr/bin/script", ["-qec", command, "/dev/null"])
        XCTAssertEqual(tty.status, 0, tty.stdout + tty.stderr)
        let screen = tty.stdout
        XCTAssertTrue(screen.contains("\r"), "the bar redraws in place")
        XCTAssertTrue(screen.contains("decode") && screen.contains("3/3"), screen)
        XCTAssertTrue(screen.contains("generate") && screen.contains("2/2"), screen)
        XCTAssertTrue(screen.contains("it/s"), screen)
        XCTAssertTrue(screen.contains("ETA") || screen.contains("done"), screen)
        XCTAssertEqual(try bytes("tty.png"), try bytes("q.png"), "the bar does not change the result")
    }

    // MARK: Bad input

    /// A random-weight model with the tiny sizes but 1000 classes and no names of its own: the
    /// release's case, where `--class` takes ImageNet names from `models/imagenet-classes.txt`.
    private func writeImageNetSizedModel() throws -> String {
        var arch = try ModelPreset.named("tiny").architecture
        arch.generator.numClasses = 1000
        let out = path("tiny-1000-classes.gguf")
        try SyntheticModel.write(preset: ModelPreset(name: "tiny-1000", description: "tiny sizes, 1000 classes",
                                                     adapterExtraTokens: 2, architecture: arch), output: out)
        return out
    }

    func testImageNetNamesServeThousandClassModelsWithoutNames() throws {
        let model = try writeImageNetSizedModel()
        let args = ["--seed", "2", "--steps", "2", "--gen-steps", "2"]
        try ok(["generate", "--class", "Goldfish"] + args + ["-o", "name.png"], model: model)
        try ok(["generate", "--class", "1"] + args + ["-o", "index.png"], model: model)
        XCTAssertEqual(try bytes("name.png"), try bytes("index.png"))
        XCTAssertEqual(fields(try ImageFile.readMetadata(path("name.png")) ?? "")["class"], "1 (goldfish)")
    }

    func testEveryBadInputExitsWithStatus2AndWritesNothing() throws {
        // Inputs, made before the checks; none of them may change and nothing may be added.
        try Data("just text".utf8).write(to: URL(fileURLWithPath: path("notes.png")))
        try ok(["generate", "--class", "1", "--seed", "1", "--steps", "2", "--gen-steps", "2", "-o", "good.png"])
        try (try bytes("good.png")).prefix(200).write(to: URL(fileURLWithPath: path("cut.png")))
        try Data(contentsOf: URL(fileURLWithPath: cardJPEG)).prefix(500).write(to: URL(fileURLWithPath: path("cut.jpg")))
        let llama = try TestSupport.run(TestSupport.python3, ["-c", """
            import gguf, numpy as np, sys
            w = gguf.GGUFWriter(sys.argv[1], 'llama')
            w.add_tensor('token_embd.weight', np.zeros((4, 4), dtype=np.float32))
            w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
            """, path("llama.gguf")])
        XCTAssertEqual(llama.status, 0, llama.stderr)
        let imageNetSized = try writeImageNetSizedModel()
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()

        let gen = ["--seed", "1", "--steps", "2", "--gen-steps", "2"]
        let cases: [(what: String, args: [String], model: String?, expect: String)] = [
            ("nonexistent input", ["reconstruct", path("missing.png"), "-o", "o.png"], Self.model, "no such file"),
            ("not an image", ["reconstruct", path("notes.png"), "-o", "o.png"], Self.model, "not a PNG or JPEG"),
            ("truncated PNG", ["reconstruct", path("cut.png"), "-o", "o.png"], Self.model, "truncated PNG"),
            ("truncated JPEG", ["encode", path("cut.jpg"), "-o", "o.npy"], Self.model, "truncated JPEG"),
            ("not an image for interpolate", ["interpolate", cardJPEG, path("notes.png"), "-o", "o.png"], Self.model, "not a PNG or JPEG"),
            ("model not GGUF", ["generate", "--class", "1", "-o", "o.png"] + gen, path("notes.png"), "not a usable RepTok model"),
            ("model of another architecture", ["generate", "--class", "1", "-o", "o.png"] + gen, path("llama.gguf"), "not a usable RepTok model"),
            ("model missing", ["generate", "--class", "1", "-o", "o.png"] + gen, path("none.gguf"), "no such model file"),
            ("unknown class name", ["generate", "--class", "golden retreiver", "-o", "o.png"] + gen, imageNetSized, "did you mean \"golden retriever\""),
            ("ambiguous class name", ["generate", "--class", "crane", "-o", "o.png"] + gen, imageNetSized, "ambiguous"),
            ("class index out of range", ["generate", "--class", "10", "-o", "o.png"] + gen, Self.model, "out of range"),
            ("class name on a model without names", ["generate", "--class", "goldfish", "-o", "o.png"] + gen, Self.model, "names no classes"),
            ("unknown digit name", ["generate", "--class", "eleven", "-o", "o.png"] + gen, Self.digitsModel, "unknown class name"),
            ("negative class", ["generate", "--class=-1", "-o", "o.png"] + gen, Self.model, "out of range"),
            ("steps 0", ["generate", "--class", "1", "-o", "o.png", "--steps", "0"], Self.model, "must be 1...10000"),
            ("gen-steps 0", ["generate", "--class", "1", "-o", "o.png", "--gen-steps", "0"], Self.model, "must be 1...10000"),
            ("reconstruct steps 0", ["reconstruct", cardJPEG, "-o", "o.png", "--steps", "0"], Self.model, "must be 1...10000"),
            ("decode steps -3", ["decode", path("x.npy"), "-o", "o.png", "--steps=-3"], Self.model, "must be 1...10000"),
            ("output folder missing", ["generate", "--class", "1", "-o", path("nope/o.png")] + gen, Self.model, "does not exist"),
            ("encode output folder missing", ["encode", cardJPEG, "-o", path("nope/o.npy")], Self.model, "does not exist"),
            ("unwritable output", ["generate", "--class", "1", "-o", "/proc/reptok-clitests.png"] + gen, Self.model, "cannot write"),
            ("output is a folder", ["reconstruct", cardJPEG, "-o", dir.path], Self.model, "is a folder"),
            ("token not .npy", ["decode", path("good.png"), "-o", "o.png"], Self.model, ".npy"),
            // Choice options are refused by the parser, naming the choices.
            ("unknown sampler", ["generate", "--class", "1", "-o", "o.png", "--sampler", "rk4"], Self.model, "'euler' and 'heun'"),
            ("unknown matrix mode", ["reconstruct", cardJPEG, "-o", "o.png", "--compute", "w4a4"], Self.model, "'w8a32' and 'w8a8'"),
            ("unknown interpolation", ["interpolate", cardJPEG, cardJPEG, "-o", "o.png", "--mode", "cubic"], Self.model, "'lerp' and 'slerp'"),
        ]
        for c in cases {
            TestSupport.assertRefused(try reptok(c.args, model: c.model), c.what, words: [c.expect])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), before, "\(c.what): files changed")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/proc/reptok-clitests.png"))
    }
}
