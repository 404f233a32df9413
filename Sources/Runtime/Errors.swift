// Typed errors of the Runtime module. Every case carries what was expected and what was found.
import Formats
import Foundation
import ModelFile

/// Errors raised by `Pipeline` and the model loaders.
///
/// Loading errors (`config` … `tensorType`) are raised by `Pipeline.init` before any computation
/// starts. Reading errors of the GGUF container itself (truncated file, bad magic, ...) come from
/// `GGUFError` (Formats) and are passed through unchanged.
public enum RuntimeError: Error, CustomStringConvertible, Equatable {
    /// The file's metadata does not describe a model this runtime can run (wrong architecture or
    /// format version, a missing, malformed or inconsistent `reptok.*` key).
    case config(ModelConfigError)
    /// A tensor the model needs is absent.
    case missingTensor(path: String, name: String)
    /// A tensor has another shape than the metadata implies (PyTorch order).
    case tensorShape(path: String, name: String, expected: [Int], actual: [Int])
    /// A tensor has a storage type the runtime cannot use for that role.
    case tensorType(path: String, name: String, expected: String, actual: String)
    /// A class label outside `0 ..< numClasses`.
    case labelOutOfRange(label: Int, numClasses: Int)
    /// A step count outside 1...`Pipeline.maxSteps`.
    case invalidSteps(Int)
    /// An input array of the wrong length.
    case badInputLength(what: String, expected: Int, actual: Int)
    /// Any other invalid argument (message says which).
    case invalidArgument(String)
    /// A `ProgressHandler` returned `false`.
    case cancelled

    public var description: String {
        switch self {
        case let .config(e):
            return e.description
        case let .missingTensor(path, name):
            return "\(path): tensor \(name) is missing"
        case let .tensorShape(path, name, expected, actual):
            return "\(path): tensor \(name) has shape \(actual), expected \(expected)"
        case let .tensorType(path, name, expected, actual):
            return "\(path): tensor \(name) has type \(actual), expected \(expected)"
        case let .labelOutOfRange(label, k):
            return "class label \(label) is outside 0...\(k - 1)"
        case let .invalidSteps(n):
            return "step count \(n) is invalid: need 1...\(Pipeline.maxSteps)"
        case let .badInputLength(what, expected, actual):
            return "\(what) has \(actual) values, expected \(expected)"
        case let .invalidArgument(message):
            return message
        case .cancelled:
            return "cancelled"
        }
    }
}

extension ModelConfig {
    /// Reads and checks the metadata of a converted file (`init(metadata:path:)`); its errors come
    /// wrapped as `RuntimeError.config`.
    static func load(metadata md: [String: GGUFValue], path: String) throws -> ModelConfig {
        do {
            return try ModelConfig(metadata: md, path: path)
        } catch let e as ModelConfigError {
            throw RuntimeError.config(e)
        }
    }
}
