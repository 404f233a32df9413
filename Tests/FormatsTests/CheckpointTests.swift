// PyTorch zip checkpoints: zip (incl. zip64), restricted unpickler, storages, strides; plus the YAML reader.
import Formats
import Foundation
import TestSupport
import XCTest

final class CheckpointTests: XCTestCase {
    /// The tiny .ckpt (written by torch) and .safetensors hold the same tensors bit for bit, and the
    /// hyper-parameters come through the unpickler.
    func testTinyCkptMatchesSafetensors() throws {
        let ck = try TorchCheckpoint(path: Repo.tinyCkpt)
        let st = try SafeTensorsSource(path: Repo.tinySafetensors)
        XCTAssertEqual(Set(ck.tensors.map(\.name)), Set(st.tensors.map(\.name)))
        XCTAssertEqual(ck.tensors.count, 337)
        let shapes = Dictionary(uniqueKeysWithValues: st.tensors.map { ($0.name, $0.shape) })
        for t in ck.tensors {
            XCTAssertEqual(t.shape, shapes[t.name], t.name)
            XCTAssertEqual(try ck.floats(t.name).map(\.bitPattern), try st.floats(t.name).map(\.bitPattern), t.name)
        }
        let hp = try XCTUnwrap(ck.hyperParameters)
        XCTAssertEqual(hp[path: "flow_cfg.params.net_cfg.params.dim"], .int(96))
        XCTAssertEqual(hp[path: "first_stage_cfg.params.image_size"], .int(32))
        XCTAssertEqual(hp[path: "first_stage_cfg.params.scale_factor"], .double(1.0))
        XCTAssertEqual(hp[path: "sample_kwargs.t_interval"], .list([.double(0.3), .double(0.9)]))
        XCTAssertEqual(hp[path: "tokenizer_cfg"], .null)
    }

    /// zip64 records, bfloat16 storages and transposed (non-contiguous) strides: values equal what
    /// numpy computed for the same rounding and transposition.
    func testZip64BFloat16Transposed() throws {
        let dir = try TestSupport.makeTempDir("ck64", removedAfter: self).path
        for (dtype, zip64) in [("bf16", true), ("f16", false), ("f64", true)] {
            let out = dir + "/\(dtype).ckpt", exp = dir + "/\(dtype).exp.safetensors"
            var args = [Repo.path("Tests/python/make_ckpt.py"), Repo.tinySafetensors, out, "--dtype", dtype, "--transpose",
                        "--lightning", "--hparams", Repo.tiny + "/hparams.json", "--expected", exp]
            if zip64 { args.append("--zip64") }
            let r = try TestSupport.runPython(args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let ck = try TorchCheckpoint(path: out)
            let ex = try SafeTensorsFile(path: exp)
            XCTAssertEqual(ck.tensors.count, ex.names.count)
            XCTAssertTrue(ck.tensors.allSatisfy { $0.dtype == SourceDType(rawValue: dtype) }, dtype)
            for t in ck.tensors {
                XCTAssertEqual(t.shape, try ex.info(t.name).shape, t.name)
                XCTAssertEqual(try ck.floats(t.name).map(\.bitPattern), try ex.floats(t.name).map(\.bitPattern), "\(dtype) \(t.name)")
            }
            XCTAssertEqual(ck.hyperParameters?[path: "flow_cfg.params.net_cfg.params.depth"], .int(2))
        }
    }

    /// A zip64 archive with a sparse 4.5 GiB hole: storage offsets above 4 GiB read correctly.
    func testOffsetsBeyond4GiB() throws {
        let dir = try TestSupport.makeTempDir("ck4g", removedAfter: self).path
        let out = dir + "/big.ckpt", exp = dir + "/big.exp.safetensors"
        let r = try TestSupport.runPython([Repo.path("Tests/python/make_ckpt.py"), Repo.tinySafetensors, out, "--hole-gib", "4.5", "--expected", exp])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ck = try TorchCheckpoint(path: out)
        XCTAssertGreaterThan(ck.archive.entries.map(\.dataOffset).max()!, 1 << 32)
        let ex = try SafeTensorsFile(path: exp)
        for t in ck.tensors {
            XCTAssertEqual(try ck.floats(t.name).map(\.bitPattern), try ex.floats(t.name).map(\.bitPattern), t.name)
        }
    }

    /// A state-dict entry built by a disallowed global is refused by name and byte offset;
    /// the same global inside hyper_parameters stays an opaque value and the tensors still load.
    func testDisallowedGlobal() throws {
        let dir = try TestSupport.makeTempDir("ckevil", removedAfter: self).path
        let storage = (0 ..< 6).flatMap { i -> [UInt8] in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }

        var p = PickleBytes()
        p.op("}"); p.op("(")
        p.str("state_dict"); p.op("}"); p.op("(")
        p.str("w"); p.tensor(key: "0", numel: 6, shape: [2, 3], stride: [3, 1])
        p.str("evil")
        p.global("posix", "system"); p.op("("); p.str("echo pwned > /tmp/reptok-pwned"); p.op("t")
        let evilAt = p.b.count   // the REDUCE that would call it
        p.op("R")
        p.op("u")
        p.op("u"); p.op(".")
        let bad = dir + "/evil.ckpt"
        try writeZip(bad, members: [("a/data.pkl", p.b), ("a/data/0", storage)])
        // Listing works (the entry is not a tensor); reading the entry is refused by name and offset.
        let evil = try TorchCheckpoint(path: bad)
        XCTAssertEqual(evil.tensors.map(\.name), ["w"])
        XCTAssertEqual(evil.unreadableEntries.map(\.name), ["evil"])
        XCTAssertThrowsError(try evil.floats("evil")) { e in
            XCTAssertEqual(e as? CheckpointError, .refusedEntry(path: bad, key: "evil", global: "posix.system", offset: evilAt), "\(e)")
            XCTAssertTrue("\(e)".contains("posix.system"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/reptok-pwned"))

        var q = PickleBytes()
        q.op("}"); q.op("(")
        q.str("state_dict"); q.op("}"); q.op("(")
        q.str("w"); q.tensor(key: "0", numel: 6, shape: [3, 2], stride: [1, 3])   // transposed view
        q.op("u")
        q.str("hyper_parameters"); q.op("}"); q.op("(")
        q.str("cfg"); q.global("omegaconf.dictconfig", "DictConfig"); q.op(")"); q.op("R")
        q.str("cmd"); q.global("os", "system"); q.op("("); q.str("true"); q.op("t")
        let cmdAt = q.b.count
        q.op("R")
        q.str("n"); q.int(7)
        q.op("u")
        q.op("u"); q.op(".")
        let ok = dir + "/ok.ckpt"
        try writeZip(ok, members: [("a/data.pkl", q.b), ("a/data/0", storage)])
        let ck = try TorchCheckpoint(path: ok)
        XCTAssertEqual(ck.tensors, [SourceTensor(name: "w", dtype: .f32, shape: [3, 2])])
        XCTAssertEqual(try ck.floats("w"), [0, 3, 1, 4, 2, 5], "gathered transpose of [[0,1,2],[3,4,5]]")
        XCTAssertEqual(ck.hyperParameters?[path: "n"], .int(7))
        XCTAssertEqual(ck.hyperParameters?[path: "cmd"], .string("<not read: object built by os.system (pickle byte \(cmdAt))>"))

        // A pickle whose root itself is a call is refused too.
        var r = PickleBytes()
        r.global("builtins", "eval"); r.op("("); r.str("1"); r.op("t")
        let rootAt = r.b.count
        r.op("R"); r.op(".")
        let root = dir + "/root.ckpt"
        try writeZip(root, members: [("a/data.pkl", r.b)])
        XCTAssertThrowsError(try TorchCheckpoint(path: root)) { e in
            XCTAssertEqual(e as? CheckpointError, .refusedEntry(path: root, key: "<root>", global: "builtins.eval", offset: rootAt))
        }
    }

    /// Lying storages and strides are refused before any read past the data (when the tensor is
    /// read or validated: listing the checkpoint does not check layouts); expanded (stride-0) views
    /// are valid torch layouts and read as their repeated rows.
    func testBadStoragesAndStrides() throws {
        let dir = try TestSupport.makeTempDir("ckbad", removedAfter: self).path
        let storage = (0 ..< 6).flatMap { i -> [UInt8] in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }
        func ckpt(_ name: String, numel: Int, shape: [Int], stride: [Int], offset: Int = 0, listed: Bool = true) throws -> TorchCheckpoint {
            var p = PickleBytes()
            p.op("}"); p.op("("); p.str("t"); p.tensor(key: "0", numel: numel, shape: shape, stride: stride, offset: offset); p.op("u"); p.op(".")
            let path = dir + "/\(name).ckpt"
            try writeZip(path, members: [("a/data.pkl", p.b), ("a/data/0", storage)])
            let ck = try TorchCheckpoint(path: path)
            // Listed without a layout check, unless the shape alone is absurd (then it is unreadable).
            XCTAssertEqual(ck.tensors.map(\.name), listed ? ["t"] : [], name)
            XCTAssertEqual(ck.unreadableEntries.map(\.name), listed ? [] : ["t"], name)
            return ck
        }
        let big = try ckpt("numel", numel: 1000, shape: [6], stride: [1])
        for read in [{ try big.validate("t") }, { _ = try big.floats("t") }] {
            XCTAssertThrowsError(try read()) { e in
                XCTAssertEqual(e as? CheckpointError, .storageTooSmall(path: big.path, key: "t", storage: "0", needBytes: 4000, haveBytes: 24))
            }
        }
        let past = try ckpt("past", numel: 6, shape: [2, 3], stride: [4, 1])
        XCTAssertThrowsError(try past.floats("t")) { e in
            guard case .badStrides(_, "t", [2, 3], [4, 1], 0, 6)? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
        let expanded = try ckpt("expanded", numel: 6, shape: [100, 6], stride: [0, 1])
        XCTAssertEqual(try expanded.floats("t"), (0 ..< 100).flatMap { _ in [0, 1, 2, 3, 4, 5] as [Float] })
        let columns = try ckpt("columns", numel: 6, shape: [2, 3, 2], stride: [0, 2, 1])
        XCTAssertEqual(try columns.floats("t"), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
        // An expanded view may not claim an absurd element count (its row-major copy is allocated).
        let absurd = try ckpt("absurd", numel: 6, shape: [1 << 20, 1 << 20, 6], stride: [0, 0, 1], listed: false)
        XCTAssertThrowsError(try absurd.floats("t")) { e in
            guard case .badStrides? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
        let huge = try ckpt("huge", numel: 6, shape: [1 << 40, 1 << 40], stride: [1, 1], listed: false)
        XCTAssertThrowsError(try huge.floats("t")) { e in
            guard case .badStrides? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
        // A zero dimension makes the count 0, but the other dimensions may not multiply past Int.
        let zero = try ckpt("zero", numel: 6, shape: [0, 1 << 40, 1 << 40], stride: [1, 1, 1], listed: false)
        XCTAssertThrowsError(try zero.validate("t")) { e in
            guard case .badStrides? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
        let empty = try ckpt("empty", numel: 6, shape: [0, 3], stride: [3, 1])
        XCTAssertEqual(try empty.floats("t"), [])
        // An empty view sits at most just past its storage's end; an offset of 2^61 would
        // overflow offset × 4 when its (empty) bytes are sliced.
        let endView = try ckpt("endview", numel: 6, shape: [0], stride: [1], offset: 6)
        XCTAssertEqual(try endView.floats("t"), [])
        let farView = try ckpt("farview", numel: 0, shape: [0], stride: [1], offset: 1 << 61)
        for read in [{ try farView.validate("t") }, { _ = try farView.floats("t") }] {
            XCTAssertThrowsError(try read()) { e in
                guard case .badStrides(_, "t", [0], [1], 1 << 61, 0)? = e as? CheckpointError else { return XCTFail("\(e)") }
            }
        }
    }

    /// Truncated archives, compressed members, missing storages and garbage give typed errors.
    func testBadArchives() throws {
        let dir = try TestSupport.makeTempDir("ckzip", removedAfter: self).path
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.tinyCkpt)))
        for cut in [full.count / 2, full.count - 10, 100] {
            let p = dir + "/cut\(cut).ckpt"
            try Data(full.prefix(cut)).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try TorchCheckpoint(path: p)) { e in XCTAssertEqual(e as? ZipError, .notZip(path: p), "\(e)") }
        }
        // The central directory survives but the data it points to is cut away.
        var holed = full
        let cd = try ZipArchive(path: Repo.tinyCkpt)
        let last = cd.entries.max { $0.dataOffset < $1.dataOffset }!
        holed.removeSubrange(last.dataOffset ..< last.dataOffset + last.size)
        let hp = dir + "/holed.ckpt"
        try Data(holed).write(to: URL(fileURLWithPath: hp))
        XCTAssertThrowsError(try TorchCheckpoint(path: hp)) { e in
            switch e as? ZipError { case .truncated?, .badSignature?, .entryOutOfBounds?: break; default: XCTFail("\(e)") }
        }

        var p = PickleBytes()
        p.op("}"); p.op("("); p.str("t"); p.tensor(key: "0", numel: 1, shape: [1], stride: [1]); p.op("u"); p.op(".")
        let deflated = dir + "/deflated.ckpt"
        try writeZip(deflated, members: [("a/data.pkl", p.b), ("a/data/0", [0, 0, 0, 0])], deflate: ["a/data/0"])
        XCTAssertThrowsError(try TorchCheckpoint(path: deflated).floats("t")) { e in
            XCTAssertEqual(e as? ZipError, .compressed(path: deflated, entry: "a/data/0", method: 8))
            XCTAssertTrue("\(e)".contains("compressed"))
        }
        let missing = dir + "/missing.ckpt"
        try writeZip(missing, members: [("a/data.pkl", p.b)])
        XCTAssertThrowsError(try TorchCheckpoint(path: missing).validate("t")) { e in XCTAssertEqual(e as? ZipError, .missingEntry(path: missing, entry: "a/data/0")) }

        var t = p.b; t.removeLast(20)
        let trunc = dir + "/truncpkl.ckpt"
        try writeZip(trunc, members: [("a/data.pkl", t), ("a/data/0", [0, 0, 0, 0])])
        XCTAssertThrowsError(try TorchCheckpoint(path: trunc)) { e in
            guard case .truncated? = e as? PickleError else { return XCTFail("\(e)") }
        }
        let garbage = dir + "/garbage.bin"
        try Data("hello world, not a checkpoint".utf8).write(to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try openTensorSource(path: garbage)) { e in
            guard case .unknownFormat? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
    }

    /// The unpickler decodes every protocol Python writes (0–5) to the values Python's json prints.
    func testUnpicklerAgainstPython() throws {
        let script = """
        import pickle, json, sys, collections
        obj = {'a': 1, 'b': [1, 2.5, -3, 'x', None, True, False], 'c': {'d': (1, 2), 'e': 'é✓'}, 'big': 2**40,
               'neg': -2**40, 'f': 1e-6, 'od': collections.OrderedDict([('k', 1)]), 'nested': [[1], {'z': []}],
               'i1': 255, 'i2': 65535, 'i4': -70000, 'long': 2**62, 'shared': None}
        shared = [1, 2]
        obj['shared'] = [shared, shared]
        out = {}
        for p in range(0, 6):
            out[str(p)] = pickle.dumps(obj, protocol=p).hex()
        j = json.loads(json.dumps(obj))
        print(json.dumps({'pickles': out, 'value': j}))
        """
        let (expected, read) = try unpicklePythonPickles(script)
        XCTAssertEqual(read.count, 6)
        for (proto, v) in read { XCTAssertEqual(v, expected, "protocol \(proto)") }
    }

    /// Nesting just under the unpickler's limit loads and is released without recursion (a recursive
    /// release of thousands of levels would risk the stack); nesting beyond it, or millions of values
    /// stacked up to be nested, is refused early with a typed error instead of building them all.
    func testDeepNestingIsBoundedAndDoesNotOverflowTheStack() throws {
        func nested(_ depth: Int) -> [UInt8] {
            var b: [UInt8] = [0x80, 2, UInt8(ascii: "N")]
            b += [UInt8](repeating: 0x85, count: depth - 1)             // TUPLE1 × depth: ((((None,),),),)
            b += [UInt8](repeating: UInt8(ascii: "]"), count: depth)    // EMPTY_LIST × depth
            b += [UInt8](repeating: UInt8(ascii: "a"), count: depth - 1) // APPEND each list into the one below
            b += [0x86, UInt8(ascii: ".")]                              // TUPLE2, STOP
            return b
        }
        let ok = nested(9_000)
        let kinds = try ok.withUnsafeBytes { try RestrictedUnpickler(source: "deep").load($0) { v -> [String] in (v.sequence ?? []).map(\.kind) } }
        XCTAssertEqual(kinds, ["tuple", "list"])
        var cfg: ConfigValue = .null
        try ok.withUnsafeBytes { cfg = try RestrictedUnpickler(source: "deep").load($0) { TorchCheckpoint.plainConfig($0) } }
        XCTAssertEqual(cfg.list?.count, 2, "converted down to the depth limit, then a placeholder")

        let stacked = [0x80, 2] + [UInt8](repeating: UInt8(ascii: "]"), count: 2_000_000) + [UInt8(ascii: ".")]
        for (bytes, words) in [(nested(10_001), "nested deeper than 10000 levels"), (nested(2_000_000), "nested deeper than 10000 levels"),
                               (stacked, "values on the stack")] {
            // The limit must fail fast: refusing 2,000,000 levels takes milliseconds when the depth is
            // counted, and hours if anything walked the stack per level (quadratic). 10 s separates
            // the two even on a 2-core machine loaded by other jobs (1.04 s was seen there with 1 s);
            // scaled by `TestSupport.slowdown` under emulation. The load runs on its own thread, so
            // one that does not end fails here (with a timeout error) instead of hanging the suite.
            XCTAssertThrowsError(try TestSupport.runBounded("loading \(bytes.count) bytes (\(words))", within: 10) {
                try bytes.withUnsafeBytes { try RestrictedUnpickler(source: "deep").load($0) { _ in 0 } }
            }) { e in
                guard case let .malformed(_, what, _)? = e as? PickleError else { return XCTFail("\(e)") }
                XCTAssertTrue(what.contains(words), what)
            }
        }
    }

    /// MiniYAML reads both fixture model.yaml files exactly as PyYAML's safe_load does.
    func testMiniYAMLMatchesPyYAML() throws {
        let extra = """
        top:
          list_same_indent:
          - 1
          - name: x
            v: [1, 2, {}]
          quoted: "a: b # not a comment"   # a comment
          empty: {}
          nothing:
          f: 1.0e-06
          neg: -3
          s: ${mul:${.width},3}
        """
        let dir = try TestSupport.makeTempDir("yaml", removedAfter: self).path
        let extraPath = dir + "/extra.yaml"
        try extra.write(toFile: extraPath, atomically: true, encoding: .utf8)
        for path in [Repo.tinyYAML, extraPath] {
            let r = try TestSupport.runPython(["-c", "import yaml,json,sys; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let expected = try JSONDecoder().decode(ConfigValue.self, from: Data(r.stdout.utf8))
            XCTAssertEqual(try MiniYAML.load(path: path), expected, path)
        }
        XCTAssertThrowsError(try MiniYAML.parse("a: 1\n  b: 2\n")) { e in
            guard case .syntax(_, 2, _)? = e as? ConfigError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try MiniYAML.parse("a: &x 1\n")) { e in
            guard case .syntax(_, 1, _)? = e as? ConfigError else { return XCTFail("\(e)") }
        }
    }
    /// Hostile configs: flow and block nesting beyond 64 levels is a syntax error found at once (it
    /// recursed without a limit before, rescanning the line per level), and config files must be
    /// regular files of at most 1 MiB (/dev/zero has no end).
    func testConfigNestingAndSizeAreBounded() throws {
        let flow = "k: " + String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000) + "\n"
        let block = (0 ..< 200).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n"
        for (name, text) in [("flow", flow), ("block", block)] {
            // Milliseconds once bounded (the unbounded flow case took 43 s); 5 s leaves room for a
            // loaded 2-core machine.
            let error = try TestSupport.runBounded("\(name) nesting", within: 5) { () -> Error? in
                do { _ = try MiniYAML.parse(text); return nil } catch { return error }
            }
            guard case let .syntax(_, _, reason)? = error as? ConfigError else { XCTFail("\(name): \(String(describing: error))"); continue }
            XCTAssertTrue(reason.contains("nested deeper than 64"), "\(name): \(reason)")
        }
        // 64 levels are still read.
        let ok = "k: " + String(repeating: "[", count: 63) + "1" + String(repeating: "]", count: 63) + "\n"
        var v = try MiniYAML.parse(ok)[path: "k"]
        var depth = 0
        while let l = v?.list { depth += 1; v = l.first }
        XCTAssertEqual(depth, 63)
        XCTAssertEqual(v, .int(1))

        let dir = try TestSupport.makeTempDir("yaml-big", removedAfter: self).path
        let big = dir + "/big.json"
        try Data(repeating: UInt8(ascii: " "), count: ConfigValue.maxFileBytes + 1).write(to: URL(fileURLWithPath: big))
        for path in ["/dev/zero", big] {
            XCTAssertThrowsError(try ConfigValue.loadJSON(path: path), path) { e in
                guard case .cannotRead(path, _)? = e as? ConfigError else { return XCTFail("\(path): \(e)") }
            }
            XCTAssertThrowsError(try MiniYAML.load(path: path), path) { e in
                guard case .cannotRead(path, _)? = e as? ConfigError else { return XCTFail("\(path): \(e)") }
            }
        }
    }
}
