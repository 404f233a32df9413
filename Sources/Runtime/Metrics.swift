// Accuracy metrics shared by `reptok eval`, `reptok trace` checks and the tests.
import Foundation

/// Comparison metrics, accumulated in Double.
public enum Metrics {
    /// Relative L2 error ‖a − b‖ / ‖b‖ (b is the reference). 0 when both are zero.
    public static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "relativeL2: \(a.count) vs \(b.count)")
        var num = 0.0, den = 0.0
        for i in a.indices {
            let d = Double(a[i]) - Double(b[i])
            num += d * d
            den += Double(b[i]) * Double(b[i])
        }
        if den == 0 { return num == 0 ? 0 : .infinity }
        return (num / den).squareRoot()
    }

    /// Cosine similarity a·b / (‖a‖‖b‖).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "cosine: \(a.count) vs \(b.count)")
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * Double(b[i])
            na += Double(a[i]) * Double(a[i])
            nb += Double(b[i]) * Double(b[i])
        }
        return na > 0 && nb > 0 ? dot / (na * nb).squareRoot() : (na == nb ? 1 : 0)
    }

    /// PSNR in dB of two images given in the model's [-1, 1] range, measured on [0, 1]
    /// (`u = (x + 1)/2`, peak 1, no clamping): `10 log10(1 / MSE)`. +∞ when identical.
    public static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "psnr: \(a.count) vs \(b.count)")
        var mse = 0.0
        for i in a.indices {
            let d = (Double(a[i]) - Double(b[i])) / 2
            mse += d * d
        }
        mse /= Double(max(a.count, 1))
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }

    /// SSIM (Wang et al. 2004) of two planar `[channels, height, width]` images in [-1, 1],
    /// measured on [0, 1] (`u = (x+1)/2`, L = 1): 11×11 Gaussian window, σ = 1.5, C1 = 0.01²,
    /// C2 = 0.03², valid positions only (no padding), mean over positions and channels.
    /// Images smaller than 11 pixels use a window of their size.
    public static func ssim(_ a: [Float], _ b: [Float], channels: Int, height: Int, width: Int) -> Double {
        precondition(a.count == b.count && a.count == channels * height * width, "ssim: shapes")
        let win = min(11, height, width)
        let half = Double(win - 1) / 2
        var g = (0 ..< win).map { exp(-pow(Double($0) - half, 2) / (2 * 1.5 * 1.5)) }
        let gs = g.reduce(0, +)
        g = g.map { $0 / gs }
        let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
        var total = 0.0, count = 0
        for ch in 0 ..< channels {
            let base = ch * height * width
            @inline(__always) func u(_ x: [Float], _ i: Int) -> Double { (Double(x[base + i]) + 1) / 2 }
            for y in 0 ... height - win {
                for x in 0 ... width - win {
                    var ma = 0.0, mb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
                    for dy in 0 ..< win {
                        for dx in 0 ..< win {
                            let wgt = g[dy] * g[dx]
                            let i = (y + dy) * width + x + dx
                            let va = u(a, i), vb = u(b, i)
                            ma += wgt * va
                            mb += wgt * vb
                            saa += wgt * va * va
                            sbb += wgt * vb * vb
                            sab += wgt * va * vb
                        }
                    }
                    let va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb
                    total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
                    count += 1
                }
            }
        }
        return total / Double(max(count, 1))
    }
}
