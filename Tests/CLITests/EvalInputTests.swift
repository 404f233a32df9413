// `reptok eval --digits` on a hostile labelled set: labels that are not class indices (NaN, 1e30,
// fractions, from a float .npy) give one line and exit 2 (Int(NaN) trapped before).
import Foundation
import TestSupport
import XCTest

final class EvalInputTests: XCTestCase {
    func testLabelsThatAreNotClassIndicesAreRefused() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let model = root.appendingPathComponent("models/reptok-digits-int8.gguf").path
        let digits = root.appendingPathComponent("models/digits")
        for (name, bad) in [("nan", "np.nan"), ("huge", "1e30"), ("fraction", "2.5"), ("negative", "-1")] {
            let dir = try TestSupport.makeTempDir("eval-labels-\(name)", removedAfter: self).path
            for f in ["images.npy", "heldout.npy"] {
                try FileManager.default.copyItem(atPath: digits.appendingPathComponent(f).path, toPath: dir + "/" + f)
            }
            // The real labels as float32, one of them replaced.
            let script = "import numpy as np, sys; l = np.load(sys.argv[1]).astype(np.float32); l[3] = \(bad); np.save(sys.argv[2], l)"
            let py = try TestSupport.runPython(["-c", script, digits.appendingPathComponent("labels.npy").path, dir + "/labels.npy"])
            XCTAssertEqual(py.status, 0, py.stderr)
            let r = try TestSupport.run(TestSupport.reptok, ["eval", "--model", model, "--reference", model, "--digits", dir, "--steps", "1"])
            TestSupport.assertRefused(r, name, words: ["labels.npy", "not a class index"])
        }
    }
}
