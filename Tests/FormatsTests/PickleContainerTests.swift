// Containers and scalars that training runs pickle, against Python's own pickles of them: dict and
// list subclasses rebuilt without a call (their items recorded), numpy scalars read from dtype
// and raw bytes, and a dict's BUILD state kept out of its items.
import Formats
import Foundation
import TestSupport
import XCTest

final class PickleContainerTests: XCTestCase {
    /// Pickles (protocols 2–5) written by Python with numpy, and the values Python prints for them.
    func testSubclassesAndNumpyScalarsMatchPython() throws {
        let script = """
        import collections, json, pickle
        import numpy as np
        class Attr(dict):
            pass
        class Ordered(collections.OrderedDict):
            pass
        class Items(list):
            pass
        od = Ordered(k=1)
        od.extra_attribute = 'not an item'
        obj = {'f8': np.float64(1.75), 'f4': np.float32(0.1), 'f2': np.float16(3.5), 'i8': np.int64(-5), 'i2': np.int16(-300),
               'u1': np.uint8(200), 'u8': np.uint64(2**40), 'b': np.bool_(True), 'be': np.array([2.5], dtype='>f8')[0],
               'dd': collections.defaultdict(list, {'a': [1, 2]}), 'attr': Attr(x=3, y={'z': 4}), 'od': od,
               'items': Items([1, 'two'])}
        plain = {'f8': 1.75, 'f4': float(np.float32(0.1)), 'f2': 3.5, 'i8': -5, 'i2': -300, 'u1': 200, 'u8': 2**40, 'b': True,
                 'be': 2.5, 'dd': {'a': [1, 2]}, 'attr': {'x': 3, 'y': {'z': 4}}, 'od': {'k': 1}, 'items': [1, 'two']}
        print(json.dumps({'pickles': {str(p): pickle.dumps(obj, protocol=p).hex() for p in range(2, 6)}, 'value': plain}))
        """
        let (expected, read) = try unpicklePythonPickles(script)
        XCTAssertEqual(read.count, 4)
        for (proto, v) in read {
            XCTAssertEqual(v, expected, "protocol \(proto)")
            // Exact types: numpy ints stay integers, numpy floats are doubles.
            XCTAssertEqual(v[path: "i8"], .int(-5), "protocol \(proto)")
            XCTAssertEqual(v[path: "f4"], .double(Double(Float(0.1))), "protocol \(proto)")
        }
    }

    /// A dict-subclass object and a set-like object record SETITEMS/APPENDS; BUILD on a plain dict
    /// (a state dict's `_metadata` attribute) does not become an item.
    func testItemsRecordedOnOpaqueObjects() throws {
        var p = PickleBytes()
        p.op("}"); p.op("(")
        p.str("dd"); p.global("collections", "defaultdict"); p.global("builtins", "list"); p.b.append(0x85); p.op("R")   // TUPLE1, REDUCE
        p.op("("); p.str("a"); p.int(1); p.str("b"); p.int(2); p.op("u")
        p.str("sd"); p.op("}"); p.op("("); p.str("w"); p.int(5); p.op("u")
        p.op("}"); p.op("("); p.str("_metadata"); p.op("}"); p.op("u"); p.op("b")   // BUILD with {'_metadata': {}}
        p.str("s"); p.global("mymodule", "TagSet"); p.op(")"); p.b.append(0x81)   // NEWOBJ
        p.op("("); p.int(7); p.int(8); p.op("e")                                       // APPENDS
        p.op("u"); p.op(".")
        let v = try p.b.withUnsafeBytes { try RestrictedUnpickler(source: "t").load($0) { TorchCheckpoint.plainConfig($0) } }
        XCTAssertEqual(v, .map(["dd": .map(["a": .int(1), "b": .int(2)]), "sd": .map(["w": .int(5)]), "s": .list([.int(7), .int(8)])]))
    }
    /// Memo references make unpickled data a shared graph: 25 levels of `L(k) = [L(k-1), L(k-1)]`
    /// take 200 bytes of pickle but would be 2^25 values as a copied tree. The reader stops at its
    /// budget of a million values and marks the rest as not read; before that budget it spent tens
    /// of seconds here (and at 40 levels would never have finished).
    func testSharedGraphIsNotCopiedOut() throws {
        var p = PickleBytes()
        p.op("]"); p.b += [0x71, 0]                                    // EMPTY_LIST, BINPUT 0
        for k in 1...25 {
            p.op("]"); p.op("("); p.b += [0x68, UInt8(k - 1), 0x68, UInt8(k - 1)]   // BINGET twice
            p.op("e"); p.b += [0x71, UInt8(k)]                         // APPENDS, BINPUT k
        }
        p.op(".")
        let bytes = p.b
        // Under a second with the budget; 10 s for a loaded machine (the unbounded copy took 15 s).
        let v = try TestSupport.runBounded("a 25-level shared graph", within: 10) {
            try bytes.withUnsafeBytes { try RestrictedUnpickler(source: "t").load($0) { TorchCheckpoint.plainConfig($0) } }
        }
        var values = 0, unread = 0
        func walk(_ c: ConfigValue) {
            values += 1
            if c.notReadReason?.hasPrefix("more than") == true { unread += 1 }
            if case let .list(l) = c { l.forEach(walk) }
        }
        walk(v)
        XCTAssertGreaterThan(unread, 0, "the budget must have cut the copy short")
        XCTAssertLessThan(values, 3_000_000, "at most the budget's million values, plus one placeholder per cut branch")
    }
}
