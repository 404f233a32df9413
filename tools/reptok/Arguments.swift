// The command line's choice options as types ArgumentParser parses itself: a bad value is refused
// with ArgumentParser's message (which `Main.main` turns into one line and exit status 2), and
// `--help` lists the choices. The enums are Runtime's and Quant's own; conforming them here keeps
// ArgumentParser out of the libraries (the types are this package's, so the conformances are not
// retroactive).
import ArgumentParser
import Quant
import Runtime

extension MatrixMode: ExpressibleByArgument {}
extension Sampler: ExpressibleByArgument {}
extension NoiseRNG: ExpressibleByArgument {}
extension InterpolationMode: ExpressibleByArgument {}
extension WeightFormat: ExpressibleByArgument {}
extension Stage: ExpressibleByArgument {}

/// The weights a synthetic bench model can be written with (`bench pipeline --weights`).
enum SyntheticWeights: String, CaseIterable, ExpressibleByArgument {
    case int8, int4
    var format: WeightFormat {
        switch self {
        case .int8: .int8
        case .int4: .int4
        }
    }
}

/// A comma-separated list of choices (`--modes w8a8,w8a32`), each item parsed as `Element`.
struct CommaList<Element: ExpressibleByArgument & CaseIterable & RawRepresentable>: ExpressibleByArgument
where Element.RawValue == String {
    var items: [Element]

    init(_ items: [Element]) { self.items = items }

    init?(argument: String) {
        var items: [Element] = []
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let item = Element(argument: String(part)) else { return nil }
            items.append(item)
        }
        self.items = items
    }

    var defaultValueDescription: String { items.map(\.rawValue).joined(separator: ",") }

    static var allValueStrings: [String] { Element.allCases.map(\.rawValue) }
}
