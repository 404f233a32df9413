// Typed errors of the Runtime module. Every case carries what was expected and what was found.
import Foundation

/// Errors raised by `Pipeline` and the model loaders.
///
/// Loading errors (`wrongArchitecture` … `inconsistentConfig`) are raised by `Pipeline.init`
/// before any computation starts. Reading errors of the GGUF container itself (truncated file,
/// bad magic, ...) come from `Quant.GGUFError` and are passed through unchanged.
public enum RuntimeError: Error, CustomStringConvertible, Equatable {
    /// `general.architecture` is not `reptok`.
    case wrongArchitecture(path: String, found: String)
    /// `reptok.format_version` is not one this runtime reads.
    case unsupportedFormatVersion(path: String, found: Int, supported: Int)
    /// A required metadata key is absent.
    case missingMetadata(path: String, key: String)
    /// A metadata value has the wrong type or an impossible value.
    case badMetadata(path: String, key: String, reason: String)
    /// Metadata values contradict each other (for example width ≠ heads × head size).
    case inconsistentConfig(path: String, reason: String)
    /// A tensor the model needs is absent.
    case missingTensor(path: String, name: String)
    /// A tensor has another shape than the metadata implies (PyTorch order).
    case tensorShape(path: String, name: String, expected: [Int], actual: [Int])
    /// A tensor has a storage type the runtime cannot use for that role.
    case tensorType(path: String, name: String, expected: String, actual: String)
    /// A class label outside `0 ..< numClasses`.
    case labelOutOfRange(label: Int, numClasses: Int)
    /// A step count below 1.
    case invalidSteps(Int)
    /// An input array of the wrong length.
    case badInputLength(what: String, expected: Int, actual: Int)
    /// Any other invalid argument (message says which).
    case invalidArgument(String)
    /// A `ProgressHandler` returned `false`.
    case cancelled

    public var description: String {
        switch self {
        case let .wrongArchitecture(path, found):
            return "\(path): general.architecture is \"\(found)\", expected \"reptok\" (convert the checkpoint with `reptok convert`)"
        case let .unsupportedFormatVersion(path, found, supported):
            return "\(path): reptok.format_version is \(found), this runtime reads version \(supported)"
        case let .missingMetadata(path, key):
            return "\(path): metadata key \(key) is missing"
        case let .badMetadata(path, key, reason):
            return "\(path): metadata \(key): \(reason)"
        case let .inconsistentConfig(path, reason):
            return "\(path): inconsistent model configuration: \(reason)"
        case let .missingTensor(path, name):
            return "\(path): tensor \(name) is missing"
        case let .tensorShape(path, name, expected, actual):
            return "\(path): tensor \(name) has shape \(actual), expected \(expected)"
        case let .tensorType(path, name, expected, actual):
            return "\(path): tensor \(name) has type \(actual), expected \(expected)"
        case let .labelOutOfRange(label, k):
            return "class label \(label) is outside 0...\(k - 1)"
        case let .invalidSteps(n):
            return "step count \(n) is invalid: need at least 1"
        case let .badInputLength(what, expected, actual):
            return "\(what) has \(actual) values, expected \(expected)"
        case let .invalidArgument(message):
            return message
        case .cancelled:
            return "cancelled"
        }
    }
}
