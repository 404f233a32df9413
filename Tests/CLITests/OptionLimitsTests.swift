// Option values and input files that once crashed `reptok`, ran for hours or were silently
// ignored: each now ends in one line on stderr and exit status 2, before the work starts.
import Foundation
import TestSupport
import XCTest

final class OptionLimitsTests: XCTestCase {
    static let tiny = TestSupport.repoRoot.appendingPathComponent("models/reptok-tiny-int8.gguf").path
    static let digits = TestSupport.repoRoot.appendingPathComponent("models/reptok-digits-int8.gguf").path
    static let digitsF32 = TestSupport.repoRoot.appendingPathComponent("models/reptok-digits-f32.gguf").path

    /// Runs `reptok args` and checks exit status 2, one `reptok: ` line naming `words`, and that it
    /// ended at once (each case is refused before a model is loaded or a step is taken; 20 s
    /// bounds a loaded machine, against hours for the unbounded values).
    func assertRefused(_ args: [String], _ words: String..., file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TestSupport.run(TestSupport.reptok, args, timeout: 20)
        TestSupport.assertRefused(r, args.joined(separator: " "), words: words, file: file, line: line)
    }

    /// Counts that overflowed (Heun's 2 × steps, bench's retries + 1), allocated per thread, or ran
    /// without end.
    func testCountsOutsideTheirRangeAreRefused() throws {
        let dir = try TestSupport.makeTempDir("option-limits", removedAfter: self).path
        let gen = ["generate", "--model", Self.tiny, "--class", "1", "--seed", "1", "-o", dir + "/a.png"]
        try assertRefused(gen + ["--steps", "9223372036854775807", "--sampler", "heun"], "--steps must be 1...10000")
        try assertRefused(gen + ["--gen-steps", "1000000000"], "--gen-steps must be 1...10000")
        try assertRefused(gen + ["--threads", "1000000000000"], "--threads must be 1...1024")
        try assertRefused(["bench", "pipeline", "--preset", "tiny", "--cache", dir, "--retries", "9223372036854775807"], "--retries must be 0...10")
        try assertRefused(["bench", "pipeline", "--preset", "tiny", "--cache", dir, "--runs", "1000000000"], "--runs must be 1...1000")
        try assertRefused(["bench", "kernels", "--reps", "1000000000"], "--reps must be 1...10000")
        try assertRefused(["bench", "generate-once", "--model", Self.tiny, "--dec-steps", "1000000000"], "--dec-steps must be 1...10000")
        let eval = ["eval", "--model", Self.digits, "--reference", Self.digitsF32]
        try assertRefused(eval + ["--threads", "0"], "--threads must be 1...1024")
        try assertRefused(eval + ["--steps", "100000000"], "--steps must be 1...10000")
        try assertRefused(eval + ["--images", dir + "/none"], "no such folder")
        try assertRefused(["trace", "--model", Self.tiny, "--inputs", "x", "--out", "y", "--threads=-7"], "--threads must be 1...1024")
    }

    /// Outputs that cannot be written are refused before the work, not after it.
    func testUnwritableOutputsAreRefusedFirst() throws {
        let dir = try TestSupport.makeTempDir("option-outputs", removedAfter: self).path
        // The inputs do not exist either: the output is checked first.
        try assertRefused(["trace", "--model", Self.tiny, "--inputs", dir + "/none.safetensors", "--out", dir + "/nope/o.safetensors"],
                          "does not exist")
        try assertRefused(["bench", "pipeline", "--preset", "tiny", "--cache", dir, "--save", dir + "/nope/x.json"], "does not exist")
    }

    /// Options that only a checkpoint conversion reads are refused for a .gguf input (they were ignored).
    func testCheckpointOptionsOnAGGUFInputAreRefused() throws {
        let dir = try TestSupport.makeTempDir("option-convert", removedAfter: self).path
        let names = dir + "/classes.txt"
        try "zero\none\n".write(toFile: names, atomically: true, encoding: .utf8)
        for (option, value) in [("--classes", names), ("--config", dir + "/none.yaml"), ("--vae-config", dir + "/none.json")] {
            try assertRefused(["convert", Self.digitsF32, "-o", dir + "/x.gguf", "-q", option, value], "\(option) applies to checkpoints only")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.gguf"), option)
        }
    }

    /// A token of huge finite values decodes to NaN; that is an error, not a black image.
    func testNonFiniteDecodeIsAnError() throws {
        let dir = try TestSupport.makeTempDir("option-decode", removedAfter: self).path
        let py = try TestSupport.runPython(["-c", "import numpy as np, sys; np.save(sys.argv[1], np.full(128, 3e38, np.float32))", dir + "/big.npy"])
        XCTAssertEqual(py.status, 0, py.stderr)
        try assertRefused(["decode", dir + "/big.npy", "--model", Self.tiny, "--steps", "1", "--seed", "1", "-o", dir + "/d.png"],
                          "non-finite")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/d.png"))
    }

    /// Golden files with an empty label list or an empty image trapped `trace` (an index, a
    /// precondition); they are refused with the tensor named. The files are the tiny fixture's golden
    /// file with one tensor replaced, rewritten by Python (an independent safetensors writer).
    func testTraceRefusesEmptyInputs() throws {
        let dir = try TestSupport.makeTempDir("option-trace", removedAfter: self).path
        let script = """
        import json, struct, sys
        src, out, which = sys.argv[1], sys.argv[2], sys.argv[3]
        b = open(src, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); data = b[8 + n:]
        tensors = {k: (v['dtype'], v['shape'], data[v['data_offsets'][0]:v['data_offsets'][1]]) for k, v in h.items() if k != '__metadata__'}
        if which == 'labels':
            tensors['gen_labels'] = ('I64', [0], b''); tensors['gen_noise'] = ('F32', [0, 1, 128], b'')
        else:
            tensors['image_u8'] = ('U8', [3, 0, 0], b'')
        header, blob = {}, b''
        for k, (dt, shape, raw) in tensors.items():
            header[k] = {'dtype': dt, 'shape': shape, 'data_offsets': [len(blob), len(blob) + len(raw)]}; blob += raw
        hb = json.dumps(header).encode(); hb += b' ' * (-len(hb) % 8)
        open(out, 'wb').write(struct.pack('<Q', len(hb)) + hb + blob)
        """
        for (which, words) in [("labels", "gen_labels is empty"), ("image", "image_u8 has shape [3, 0, 0]")] {
            let input = dir + "/\(which).safetensors"
            let py = try TestSupport.runPython(["-c", script, Repo.tinyGolden, input, which])
            XCTAssertEqual(py.status, 0, py.stderr)
            try assertRefused(["trace", "--model", Self.tiny, "--inputs", input, "--out", dir + "/o.safetensors"], words)
        }
    }
}
