// Elementwise activations and sums, SIMD16 with the tail padded into a vector (so every
// element takes the same arithmetic).

/// Applies f to count floats from x into out (out may equal x).
@inline(__always)
private func map16(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int,
                   _ f: (SIMD16<Float>) -> SIMD16<Float>) {
    var i = 0
    while i + 16 <= count { store16(f(load16(x + i)), out + i); i += 16 }
    if i < count { storePartial(f(loadPartial(x + i, count - i)), out + i, count - i) }
}

/// In place exact GELU: x/2 · (1 + erf(x/√2)), within 1e-6·max(1, |gelu(x)|) of double.
public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) { map16(x, x, count, vgelu) }

/// In place SiLU: x · sigmoid(x).
public func silu(_ x: UnsafeMutablePointer<Float>, count: Int) { map16(x, x, count, vsilu) }

/// out[r, j] = a[r, j] * silu(g[r, j]) with a = in[r, 0..<h], g = in[r, h..<2h]
/// x: [rows, 2*hidden]; out: [rows, hidden]. out may equal x (rows are then processed in
/// order on the calling thread, and row r of the output only overwrites inputs already
/// consumed); otherwise out must not overlap x, and ctx splits the rows across its threads.
public func swiglu(_ x: UnsafePointer<Float>, rows: Int, hidden: Int, out: UnsafeMutablePointer<Float>,
                   ctx: ComputeContext? = nil) {
    forRows(rows, UnsafePointer(out) == x ? nil : ctx) { range in for r in range {
        let a = x + r * 2 * hidden, g = a + hidden, o = out + r * hidden
        var j = 0
        while j < hidden {
            let cnt = min(16, hidden - j)
            if cnt == 16 {
                store16(load16(a + j) * vsilu(load16(g + j)), o + j)
            } else {
                storePartial(loadPartial(a + j, cnt) * vsilu(loadPartial(g + j, cnt)), o + j, cnt)
            }
            j += 16
        }
    } }
}

/// out = a + b, elementwise over count floats (out may alias a or b).
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 16 <= count { store16(load16(a + i) + load16(b + i), out + i); i += 16 }
    while i < count { out[i] = a[i] + b[i]; i += 1 }
}
