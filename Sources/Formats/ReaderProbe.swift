// Reads everything a file offers through one reader, as the fuzz targets (Tests/Fuzz) and their
// regression tests do: every input must end in a value or a thrown error, never a trap.
import Foundation

/// The file readers of this module, driven over a whole input.
public enum ReaderProbe {
    /// Tensors with more elements than this are validated but not read (the fuzzer's inputs are
    /// small, and an expanded view may legitimately claim up to `TorchCheckpoint.maxExpandedElements`).
    public static let maxReadElements = 1 << 20

    /// Unpickles `bytes` and converts the result as hyper-parameters; returns the text of the tree.
    public static func pickle(_ bytes: UnsafeRawBufferPointer) throws -> String {
        try RestrictedUnpickler(source: "probe").load(bytes) { TorchCheckpoint.plainConfig($0).description }
    }

    /// Parses `bytes` as a config file twice, as the YAML subset (model.yaml) and as JSON
    /// (vae-config.json, presets); returns the length of the trees' text (0 for text neither reads).
    public static func config(_ bytes: UnsafeRawBufferPointer) -> Int {
        var n = 0
        if let y = try? MiniYAML.parse(String(decoding: bytes, as: UTF8.self), path: "probe") { n += y.description.count }
        if let j = try? JSONDecoder().decode(ConfigValue.self, from: Data(bytes)) { n += j.description.count }
        return n
    }

    /// Opens `path` as a zip archive (checking every member's CRC-32), then as a PyTorch checkpoint,
    /// reading every tensor that validates. Returns the number of tensors read.
    @discardableResult
    public static func zip(path: String) throws -> Int {
        let z = try ZipArchive(path: path)
        for e in z.entries where e.method == 0 { _ = try? z.verifiedData(e.name) }
        let ck = try TorchCheckpoint(path: path)
        _ = ck.hyperParameters?.description
        var read = 0
        for t in ck.tensors {
            guard (try? ck.validate(t.name)) != nil else { continue }
            if let n = shapeProducts(t.shape)?.count, n <= UInt64(maxReadElements) { _ = try ck.floats(t.name); read += 1 }
        }
        return read
    }

    /// Opens `path` as safetensors and reads every tensor. Returns the number read.
    @discardableResult
    public static func safetensors(path: String) throws -> Int {
        let st = try SafeTensorsFile(path: path)
        for n in st.names { _ = try st.floats(n) }
        return st.names.count
    }

    /// Opens `path` as GGUF and reads every tensor. Returns the number read.
    @discardableResult
    public static func gguf(path: String) throws -> Int {
        let g = try GGUFFile(path: path)
        for t in g.orderedTensorInfos { _ = try g.tensor(t.name).floats() }
        return g.orderedTensorInfos.count
    }
}
