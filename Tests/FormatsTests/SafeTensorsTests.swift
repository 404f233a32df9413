// safetensors reader/writer and SHA-256, against Python's numpy/json and hashlib.
import Formats
import Foundation
import TestSupport
import XCTest

final class SafeTensorsTests: XCTestCase {
    /// The golden file (written by the official implementation's side) reads with the right dtypes,
    /// shapes and values; values are compared with numpy's reading of the same file.
    func testReadsGoldenLikeNumpy() throws {
        let st = try SafeTensorsFile(path: Repo.tinyGolden)
        XCTAssertEqual(try st.info("image_u8").dtype, .u8)
        XCTAssertEqual(try st.info("image_u8").shape, [3, 32, 32])
        XCTAssertEqual(try st.info("dec_steps").dtype, .i64)
        XCTAssertEqual(try st.int64s("dec_steps"), [4])
        XCTAssertEqual(try st.int64s("gen_steps"), [8])
        let script = """
        import json,struct,sys,numpy as np
        f=open(sys.argv[1],'rb'); n=struct.unpack('<Q',f.read(8))[0]; h=json.loads(f.read(n)); d=f.read()
        t=h['token']; a=np.frombuffer(d[t['data_offsets'][0]:t['data_offsets'][1]],dtype=np.float32)
        u=h['image_u8']; b=np.frombuffer(d[u['data_offsets'][0]:u['data_offsets'][1]],dtype=np.uint8)
        print(json.dumps({'token':[float(x) for x in a],'u8sum':int(b.astype(np.int64).sum()),'names':sorted(k for k in h if k!='__metadata__')}))
        """
        let r = try TestSupport.runPython(["-c", script, Repo.tinyGolden])
        XCTAssertEqual(r.status, 0, r.stderr)
        struct Out: Decodable { let token: [Float]; let u8sum: Int; let names: [String] }
        let o = try JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(try st.floats("token"), o.token)
        XCTAssertEqual(try st.uint8s("image_u8").reduce(0) { $0 + Int($1) }, o.u8sum)
        XCTAssertEqual(st.names.sorted(), o.names)
    }

    /// The writer's output reads back exactly, and numpy reads the same values.
    func testWriterRoundTrip() throws {
        let dir = try TestSupport.makeTempDir("st", removedAfter: self).path
        let p = dir + "/w.safetensors"
        let a: [Float] = [1, -2, 3.5, 0.1, 0, -0.0]
        try SafeTensorsWriter.write(path: p, tensors: [("x", [2, 3], a), ("y\"q", [1], [7])])
        let st = try SafeTensorsFile(path: p)
        XCTAssertEqual(try st.floats("x").map(\.bitPattern), a.map(\.bitPattern))
        XCTAssertEqual(try st.info("x").shape, [2, 3])
        XCTAssertEqual(try st.floats("y\"q"), [7])
        let r = try TestSupport.runPython(["-c", "import json,struct,sys,numpy as np\nf=open(sys.argv[1],'rb');n=struct.unpack('<Q',f.read(8))[0];h=json.loads(f.read(n));d=f.read();x=h['x'];print(np.frombuffer(d[x['data_offsets'][0]:x['data_offsets'][1]],dtype=np.float32).tolist(), x['shape'], (8+n)%8)", p])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[1.0, -2.0, 3.5, 0.10000000149011612, 0.0, -0.0] [2, 3] 0")
        XCTAssertThrowsError(try SafeTensorsWriter.write(path: dir + "/bad.safetensors", tensors: [("x", [4], [1])]))
        XCTAssertEqual(filesIn(dir), ["w.safetensors"])
    }

    /// Lying headers give typed errors.
    func testBadHeaders() throws {
        let dir = try TestSupport.makeTempDir("st-bad", removedAfter: self).path
        func file(_ header: String, data: Int, lenOverride: UInt64? = nil) throws -> String {
            let h = Array(header.utf8)
            var b: [UInt8] = []
            withUnsafeBytes(of: (lenOverride ?? UInt64(h.count)).littleEndian) { b += $0 }
            b += h + [UInt8](repeating: 0, count: data)
            let p = dir + "/f\(UInt32.random(in: 0 ... .max)).safetensors"
            try Data(b).write(to: URL(fileURLWithPath: p))
            return p
        }
        let past = try file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: 8)
        XCTAssertThrowsError(try SafeTensorsFile(path: past)) { e in
            guard case .outOfBounds(_, "a", 0, 16, 8)? = e as? SafeTensorsError else { return XCTFail("\(e)") }
        }
        let size = try file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, data: 16)
        XCTAssertThrowsError(try SafeTensorsFile(path: size)) { e in
            guard case .sizeMismatch(_, "a", 12, 16)? = e as? SafeTensorsError else { return XCTFail("\(e)") }
        }
        let long = try file("{}", data: 0, lenOverride: 1 << 50)
        XCTAssertThrowsError(try SafeTensorsFile(path: long)) { e in
            guard case .headerTooLarge? = e as? SafeTensorsError else { return XCTFail("\(e)") }
        }
        let dtype = try file(#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: 8)
        XCTAssertThrowsError(try SafeTensorsFile(path: dtype)) { e in
            guard case .unsupportedDType(_, "a", "C64")? = e as? SafeTensorsError else { return XCTFail("\(e)") }
        }
        let notJSON = try file("{nope", data: 0)
        XCTAssertThrowsError(try SafeTensorsFile(path: notJSON)) { e in
            guard case .badHeader? = e as? SafeTensorsError else { return XCTFail("\(e)") }
        }
    }

    /// SHA-256 against FIPS 180-4 vectors and Python's hashlib on the tiny checkpoint.
    func testSHA256() throws {
        XCTAssertEqual(SHA256.hash([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Split updates at awkward boundaries give the same digest as one update.
        let msg = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var s = SHA256()
        for r in [0 ..< 1, 1 ..< 63, 63 ..< 64, 64 ..< 200, 200 ..< 1000] { s.update(msg[r]) }
        XCTAssertEqual(SHA256.hex(s.finalize()), SHA256.hash(msg))
        let r = try TestSupport.runPython(["-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest()); print(hashlib.sha256(bytes((i*31)%256 for i in range(1000))).hexdigest())", Repo.tinyCkpt])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(try SHA256.hashFile(path: Repo.tinyCkpt), lines[0])
        XCTAssertEqual(SHA256.hash(msg), lines[1])
    }
}
