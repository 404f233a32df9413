// Fixed-step flow-matching integrators for the decoder (t: 1 → 0) and the generator (t: 0 → 1).
import Foundation

/// Integrator choice of the decoder. `.euler` is the reference (docs/model.md, 'Decoder transformer'); `.heun` is an option
/// with two velocity evaluations per step.
public enum Sampler: String, CaseIterable, Codable, Sendable {
    case euler, heun
}

/// One velocity evaluation `v(x, t)` written to `out` (`out` never aliases `x`).
typealias VelocityField = (_ x: UnsafePointer<Float>, _ t: Float, _ out: UnsafeMutablePointer<Float>) throws -> Void

/// Buffers of one integrator, allocated once per state size.
final class SamplerScratch {
    let count: Int
    let v1: FloatBuffer                            // [count] velocity at the start of a step
    let v2: FloatBuffer                            // [count] velocity at the predicted end (Heun)
    let xPred: FloatBuffer                         // [count] Euler prediction (Heun)
    init(count: Int) {
        self.count = count
        v1 = FloatBuffer(count)
        v2 = FloatBuffer(count)
        xPred = FloatBuffer(count)
    }
}

/// A fixed-step integrator of dx/dt = v(x, t). Implementations say which reference they match.
protocol FlowScheduler {
    /// Velocity evaluations needed for `steps` steps (the progress total).
    func evaluations(steps: Int) -> Int
    /// Integrates `x` in place over `steps` ≥ 1 steps. `progress(k)` is called after the k-th
    /// evaluation (k = 1 … evaluations) and may throw to stop. Allocates nothing.
    func integrate(_ x: UnsafeMutablePointer<Float>, steps: Int, scratch: SamplerScratch,
                   velocity: VelocityField, progress: (Int) throws -> Void) throws
}

/// Decoder Euler, noise (t = 1) → data (t = 0). **Matches the reference** (docs/model.md, 'Decoder transformer'):
/// for i = N … 1: `t = i/N`, `z ← z − (1/N)·v(z, t)`.
struct DecoderEuler: FlowScheduler {
    func evaluations(steps: Int) -> Int { steps }

    func integrate(_ x: UnsafeMutablePointer<Float>, steps: Int, scratch: SamplerScratch,
                   velocity: VelocityField, progress: (Int) throws -> Void) throws {
        let h = 1 / Float(steps), n = scratch.count, v = scratch.v1.p
        for i in stride(from: steps, through: 1, by: -1) {
            // v = v(z, i/N)
            try velocity(x, Float(i) / Float(steps), v)
            // z ← z − h·v
            for j in 0 ..< n { x[j] -= h * v[j] }
            try progress(steps - i + 1)
        }
    }
}

/// Decoder Heun (explicit trapezoid), t = 1 → 0. **An option, not the reference**: for i = N … 1
/// with `t = i/N`, `t′ = (i−1)/N`: `v₁ = v(z, t)`, `ẑ = z − h·v₁`, `v₂ = v(ẑ, t′)`,
/// `z ← z − (h/2)(v₁ + v₂)`. The last step evaluates the velocity at t = 0 (defined for a flow
/// model). 2N evaluations; second-order accurate, so fewer steps reach the same error as Euler.
struct DecoderHeun: FlowScheduler {
    func evaluations(steps: Int) -> Int { 2 * steps }

    func integrate(_ x: UnsafeMutablePointer<Float>, steps: Int, scratch: SamplerScratch,
                   velocity: VelocityField, progress: (Int) throws -> Void) throws {
        let h = 1 / Float(steps), n = scratch.count
        let v1 = scratch.v1.p, v2 = scratch.v2.p, xp = scratch.xPred.p
        var done = 0
        for i in stride(from: steps, through: 1, by: -1) {
            // v₁ = v(z, t)
            try velocity(x, Float(i) / Float(steps), v1)
            done += 1
            try progress(done)
            // ẑ = z − h v₁
            for j in 0 ..< n { xp[j] = x[j] - h * v1[j] }
            // v₂ = v(ẑ, t − h)
            try velocity(xp, Float(i - 1) / Float(steps), v2)
            done += 1
            try progress(done)
            // z ← z − (h/2)(v₁ + v₂)
            for j in 0 ..< n { x[j] -= 0.5 * h * (v1[j] + v2[j]) }
        }
    }
}

/// Generator Euler, noise (t = 0) → data (t = 1). **Matches the reference** (docs/model.md, 'Generator'):
/// `t_k = k/N`, `x ← x + (t_{k+1} − t_k)·v(x, t_k)` for k = 0 … N−1. Classifier-free guidance is
/// part of the velocity field; it applies when `usesGuidance(t:interval:)` is true.
struct GeneratorEuler: FlowScheduler {
    func evaluations(steps: Int) -> Int { steps }

    /// Guidance applies while `t ∈ [lo, hi]`, inclusive. A slack of 1e-6 makes `15/50` count as
    /// 0.3 however either side was rounded (the reference compares float32 values).
    static func usesGuidance(t: Float, interval: ClosedRange<Float>) -> Bool {
        t >= interval.lowerBound - 1e-6 && t <= interval.upperBound + 1e-6
    }

    func integrate(_ x: UnsafeMutablePointer<Float>, steps: Int, scratch: SamplerScratch,
                   velocity: VelocityField, progress: (Int) throws -> Void) throws {
        let n = scratch.count, v = scratch.v1.p
        for k in 0 ..< steps {
            let t0 = Float(k) / Float(steps), t1 = Float(k + 1) / Float(steps)
            // v = v(x, t_k)
            try velocity(x, t0, v)
            // x ← x + (t_{k+1} − t_k) v
            let dt = t1 - t0
            for j in 0 ..< n { x[j] += dt * v[j] }
            try progress(k + 1)
        }
    }
}
