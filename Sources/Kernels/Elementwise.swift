// Elementwise activations and sums.

/// In place exact GELU: x/2 · (1 + erf(x/√2)).
public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) { Reference.gelu(x, count: count) }

/// In place SiLU: x · sigmoid(x).
public func silu(_ x: UnsafeMutablePointer<Float>, count: Int) { Reference.silu(x, count: count) }

/// out[r, j] = a[r, j] * silu(g[r, j]) with a = in[r, 0..<h], g = in[r, h..<2h]
/// x: [rows, 2*hidden]; out: [rows, hidden]. out may equal x (rows are processed in order,
/// and row r of the output only overwrites inputs already consumed).
public func swiglu(_ x: UnsafePointer<Float>, rows: Int, hidden: Int, out: UnsafeMutablePointer<Float>) {
    Reference.swiglu(x, rows: rows, hidden: hidden, out: out)
}

/// out = a + b, elementwise over count floats (out may alias a or b).
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>) {
    Reference.add(a, b, count: count, out: out)
}
