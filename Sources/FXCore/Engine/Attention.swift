#if canImport(Glibc)
import Glibc
#endif

/// Multi-head attention over packed sequences: the rows of the query matrix are the tokens of several sequences
/// one after another (no padding), `queryLengths` says how many belong to each, and the keys and values come
/// from `context` cut the same way by `keyLengths` (self-attention: the queries' own rows). The projections are
/// single products over every token; the scores are products per sequence and head. `causal` lets a query see
/// only keys at or before its own position (a decoder's self-attention).
public final class MultiHeadAttention {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    public let heads: Int
    public let causal: Bool
    private let width: Int

    // What backward needs.
    private var q = Matrix(rows: 0, cols: 0), k = Matrix(rows: 0, cols: 0), v = Matrix(rows: 0, cols: 0)
    private var probabilities: [Matrix] = []  // per sequence and head, (query length x key length)
    private var queryLengths: [Int] = [], keyLengths: [Int] = []
    private var selfAttention = true

    public init(_ name: String, width: Int, heads: Int, causal: Bool = false, _ rng: inout SplitMix64) {
        precondition(width % heads == 0, "width \(width) is not a multiple of \(heads) heads")
        self.width = width
        self.heads = heads
        self.causal = causal
        query = Linear(name + ".query", inputs: width, outputs: width, &rng)
        key = Linear(name + ".key", inputs: width, outputs: width, &rng)
        value = Linear(name + ".value", inputs: width, outputs: width, &rng)
        output = Linear(name + ".output", inputs: width, outputs: width, &rng)
    }

    public var parameters: [Parameter] { [query, key, value, output].flatMap(\.parameters) }

    /// Self-attention (`context` nil) or cross-attention over `context`.
    public func forward(_ x: Matrix, lengths: [Int], context: Matrix? = nil, contextLengths: [Int]? = nil) -> Matrix {
        selfAttention = context == nil
        queryLengths = lengths
        keyLengths = contextLengths ?? lengths
        q = query.forward(x)
        k = key.forward(context ?? x)
        v = value.forward(context ?? x)
        return output.forward(attend(q, k, v, lengths, keyLengths, keep: true))
    }

    /// Self-attention's output alone, keeping nothing for backward (inference).
    public func apply(_ x: Matrix, lengths: [Int]) -> Matrix {
        output.apply(attend(query.apply(x), key.apply(x), value.apply(x), lengths, lengths, keep: false))
    }

    /// Every head's softmax(q kᵀ / sqrt(dh)) v, sequence by sequence, each head's columns read and written in
    /// place; `keep` stores the probabilities for backward.
    private func attend(_ q: Matrix, _ k: Matrix, _ v: Matrix, _ lengths: [Int], _ keyLengths: [Int], keep: Bool) -> Matrix {
        precondition(lengths.reduce(0, +) == q.rows && keyLengths.count == lengths.count)
        let dh = width / heads, w = width
        let scale = 1 / Float(dh).squareRoot()
        var mixed = Matrix(rows: q.rows, cols: width)
        if keep { probabilities = [] }
        var scores = Matrix(rows: 0, cols: 0)
        var qStart = 0, kStart = 0
        q.values.withUnsafeBufferPointer { qv in
            k.values.withUnsafeBufferPointer { kv in
                v.values.withUnsafeBufferPointer { vv in
                    for (s, tq) in lengths.enumerated() {
                        let tk = keyLengths[s]
                        for h in 0..<heads {
                            if scores.values.count != tq * tk || keep { scores = Matrix(rows: tq, cols: tk) }
                            scores.values.withUnsafeMutableBufferPointer { sv in
                                gemm(tq, tk, dh, qv.baseAddress! + qStart * w + h * dh, w, kv.baseAddress! + kStart * w + h * dh, w,
                                     transposeB: true, sv.baseAddress!, tk, alpha: scale)
                                softmaxRows(sv.baseAddress!, rows: tq, cols: tk, causalOffset: causal ? 0 : nil)
                                mixed.values.withUnsafeMutableBufferPointer { mv in
                                    gemm(tq, dh, tk, sv.baseAddress!, tk, vv.baseAddress! + kStart * w + h * dh, w,
                                         mv.baseAddress! + qStart * w + h * dh, w)
                                }
                            }
                            if keep { probabilities.append(scores) }
                        }
                        qStart += tq
                        kStart += tk
                    }
                }
            }
        }
        return mixed
    }

    /// The gradient for the queries' input, and for the context (nil for self-attention, where it is included
    /// in the first).
    public func backward(_ dy: Matrix) -> (input: Matrix, context: Matrix?) {
        let dMixed = output.backward(dy)
        let dh = width / heads
        let scale = 1 / Float(dh).squareRoot()
        var dq = Matrix(rows: q.rows, cols: width), dk = Matrix(rows: k.rows, cols: width), dv = Matrix(rows: v.rows, cols: width)
        var qStart = 0, kStart = 0, index = 0
        for (s, tq) in queryLengths.enumerated() {
            let tk = keyLengths[s]
            for h in 0..<heads {
                let p = probabilities[index]
                index += 1
                let qh = slice(q, qStart, tq, h * dh, dh), kh = slice(k, kStart, tk, h * dh, dh), vh = slice(v, kStart, tk, h * dh, dh)
                let doh = slice(dMixed, qStart, tq, h * dh, dh)
                var dvh = Matrix(rows: tk, cols: dh)
                gemm(p, transposeA: true, doh, into: &dvh)
                var dp = Matrix(rows: tq, cols: tk)
                gemm(doh, vh, transposeB: true, into: &dp)
                // Through the softmax: dS = P ⊙ (dP - Σ_j dP P), then the 1/sqrt(dh) scale.
                for r in 0..<tq {
                    var dot: Float = 0
                    for c in 0..<tk { dot += dp[r, c] * p[r, c] }
                    for c in 0..<tk { dp[r, c] = p[r, c] * (dp[r, c] - dot) * scale }
                }
                var dqh = Matrix(rows: tq, cols: dh), dkh = Matrix(rows: tk, cols: dh)
                gemm(dp, kh, into: &dqh)
                gemm(dp, transposeA: true, qh, into: &dkh)
                place(dqh, into: &dq, qStart, h * dh)
                place(dkh, into: &dk, kStart, h * dh)
                place(dvh, into: &dv, kStart, h * dh)
            }
            qStart += tq
            kStart += tk
        }
        var dx = query.backward(dq)
        let dContext = add(key.backward(dk), value.backward(dv))
        if selfAttention {
            dx = add(dx, dContext)
            return (dx, nil)
        }
        return (dx, dContext)
    }
}

/// Rows `start..<start+count`, columns `column..<column+width` of `m`, as a matrix of their own.
func slice(_ m: Matrix, _ start: Int, _ count: Int, _ column: Int, _ width: Int) -> Matrix {
    var out = Matrix(rows: count, cols: width)
    for r in 0..<count {
        for c in 0..<width { out.values[r * width + c] = m.values[(start + r) * m.cols + column + c] }
    }
    return out
}

/// Writes `part` into `m` at row `start`, column `column`.
func place(_ part: Matrix, into m: inout Matrix, _ start: Int, _ column: Int) {
    for r in 0..<part.rows {
        for c in 0..<part.cols { m.values[(start + r) * m.cols + column + c] = part.values[r * part.cols + c] }
    }
}

/// The element-wise sum of two matrices of one shape.
func add(_ a: Matrix, _ b: Matrix) -> Matrix {
    var out = a
    addInPlace(b, to: &out)
    return out
}

/// out += b, element-wise.
func addInPlace(_ b: Matrix, to out: inout Matrix) {
    precondition(b.values.count == out.values.count)
    b.values.withUnsafeBufferPointer { b in out.values.withUnsafeMutableBufferPointer { o in for i in 0..<o.count { o[i] += b[i] } } }
}

/// A softmax along each row; with `causalOffset`, row i sees only columns up to i + offset (the rest get 0).
func softmaxRows(_ m: UnsafeMutablePointer<Float>, rows: Int, cols: Int, causalOffset: Int?) {
    for r in 0..<rows {
        let row = m + r * cols
        let visible = causalOffset.map { min(cols, r + $0 + 1) } ?? cols
        let top = maximum(row, visible)
        map8(row, visible) { exp8($0 - top) }
        let inverse = 1 / sum(row, visible)
        map8(row, visible) { $0 * inverse }
        if visible < cols { (row + visible).update(repeating: 0, count: cols - visible) }
    }
}
