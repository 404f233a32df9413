import Foundation
import TestSupport
import XCTest

/// The digits model in int4, made from the committed f32 file by `reptok convert --weights int4`
/// (the converter's path from an f32 GGUF), judged by `reptok eval --digits --json` in both
/// matrix modes against the f32 file.
///
/// Targets: ≥ 45 of 50 generations labelled as the class asked for (the eval's 3-NN classifier
/// over the training digits), reconstruction PSNR against the input within 1 dB of f32's.
/// Measured on this model (Zen 5, 25 steps): 50/50 in both modes; PSNR against the input
/// 21.08 dB against f32's 21.03 dB; token cosine 0.99867 (W4A32) and 0.99865 (W4A8); decoder
/// velocity relative L2 0.054 at t = 0.7 and 0.11 at t = 0.1. The extra bounds below sit about
/// 1.5× outside those measurements, to catch a broken kernel or layout (a wrong nibble order
/// gives a cosine near 0.5 and velocity errors near 1) without flagging rounding changes.
final class DigitsInt4Tests: XCTestCase {
    static let root = TestSupport.repoRoot
    static let f32Model = root.appendingPathComponent("models/reptok-digits-f32.gguf").path

    func testInt4DigitsMeetTheTargetsInBothModes() throws {
        let dir = try TestSupport.makeTempDir("digits-int4", removedAfter: self).path
        let int4 = dir + "/digits-int4.gguf"
        let c = try TestSupport.run(TestSupport.reptok, ["convert", Self.f32Model, "-o", int4, "--weights", "int4", "--quiet"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let size = (try FileManager.default.attributesOfItem(atPath: int4)[.size] as? Int) ?? 0
        let f32Size = (try FileManager.default.attributesOfItem(atPath: Self.f32Model)[.size] as? Int) ?? 0
        XCTAssertLessThan(size, f32Size / 5, "int4 file \(size) bytes against f32 \(f32Size)")
        for mode in ["w8a32", "w8a8"] {
            let r = try TestSupport.run(TestSupport.reptok, ["eval", "--model", int4, "--reference", Self.f32Model, "--compute", mode,
                                                             "--digits", Self.root.appendingPathComponent("models/digits").path,
                                                             "--steps", "25", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
            print("digits int4 \(mode): class accuracy \(json["class_accuracy"] ?? "?"), psnr_vs_input \(json["psnr_vs_input"] ?? "?"), token_cosine \(json["token_cosine"] ?? "?"), velocity_rel_l2 \(json["velocity_rel_l2"] ?? "?")")
            XCTAssertEqual(json["model_weights"] as? String, "int4")
            let acc = try XCTUnwrap(json["class_accuracy"] as? [String: Int])
            XCTAssertEqual(acc["total"], 50)
            XCTAssertGreaterThanOrEqual(acc["model"] ?? 0, 45, "\(mode): generations labelled as asked")
            let psnr = try XCTUnwrap(json["psnr_vs_input"] as? [String: Double])
            let reference = try XCTUnwrap(psnr["reference"], "\(mode): no f32 PSNR against the input: \(psnr)")
            let model = try XCTUnwrap(psnr["model"], "\(mode): no int4 PSNR against the input: \(psnr)")
            XCTAssertLessThanOrEqual(reference - model, 1, "\(mode): PSNR against the input within 1 dB of f32")
            XCTAssertGreaterThanOrEqual(model, 20)
            XCTAssertGreaterThanOrEqual(json["token_cosine"] as? Double ?? 0, 0.998, mode)
            let vel = try XCTUnwrap(json["velocity_rel_l2"] as? [String: Double])
            XCTAssertEqual(vel.count, 5)
            XCTAssertLessThanOrEqual(vel["0.70"] ?? 1, 0.08, mode)
            XCTAssertLessThanOrEqual(vel["0.10"] ?? 1, 0.17, mode)
        }
    }
}
