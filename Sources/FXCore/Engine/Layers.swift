#if canImport(Glibc)
import Glibc
#endif

/// A layer with explicit passes: `forward` keeps what `backward` needs, and `backward` takes the gradient of the
/// loss with respect to the output, adds its parameters' gradients and returns the gradient for the input.
public protocol Layer: AnyObject {
    var parameters: [Parameter] { get }
    func forward(_ x: Matrix) -> Matrix
    func backward(_ dy: Matrix) -> Matrix
}

/// y = x Wᵀ + b, W of (outputs x inputs) as PyTorch and Hugging Face store it.
public final class Linear: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    private var input = Matrix(rows: 0, cols: 0)

    /// Weights uniform in ±1/sqrt(inputs), as PyTorch's default; the bias starts at zero.
    public init(_ name: String, inputs: Int, outputs: Int, bias: Bool = true, _ rng: inout SplitMix64) {
        weight = Parameter(name + ".weight", .uniform(rows: outputs, cols: inputs, bound: 1 / Float(inputs).squareRoot(), &rng))
        self.bias = bias ? Parameter(name + ".bias", Matrix(rows: 1, cols: outputs)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Matrix) -> Matrix {
        input = x
        return apply(x)
    }

    /// The output alone, keeping nothing for backward (inference).
    public func apply(_ x: Matrix) -> Matrix {
        var y: Matrix
        if let bias {
            // The bias in every row first, and the product added to it: one pass over the output fewer.
            let n = bias.value.cols
            y = Matrix(rows: x.rows, cols: n, values: [Float](unsafeUninitializedCapacity: x.rows * n) { out, count in
                bias.value.values.withUnsafeBufferPointer { b in
                    for r in 0..<x.rows { (out.baseAddress! + r * n).initialize(from: b.baseAddress!, count: n) }
                }
                count = x.rows * n
            })
            gemm(x, weight.value, transposeB: true, into: &y, beta: 1)
        } else {
            y = Matrix(rows: x.rows, cols: weight.value.rows)
            gemm(x, weight.value, transposeB: true, into: &y)
        }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        gemm(dy, transposeA: true, input, into: &weight.gradient, beta: 1)
        if let bias { addColumnSums(dy, to: &bias.gradient.values) }
        var dx = Matrix(rows: dy.rows, cols: weight.value.cols)
        gemm(dy, weight.value, into: &dx)
        return dx
    }
}

/// Layer normalisation over each row: (x - mean) / sqrt(var + eps) · gamma + beta (BERT: eps 1e-12).
public final class LayerNorm: Layer {
    public let gamma: Parameter
    public let beta: Parameter
    public let eps: Float
    private var normalized = Matrix(rows: 0, cols: 0)
    private var inverseStd: [Float] = []

    public init(_ name: String, width: Int, eps: Float = 1e-5) {
        gamma = Parameter(name + ".weight", Matrix(rows: 1, cols: width, values: [Float](repeating: 1, count: width)))
        beta = Parameter(name + ".bias", Matrix(rows: 1, cols: width))
        self.eps = eps
    }

    public var parameters: [Parameter] { [gamma, beta] }

    public func forward(_ x: Matrix) -> Matrix {
        normalized = Matrix(rows: x.rows, cols: x.cols)
        inverseStd = [Float](repeating: 0, count: x.rows)
        return normalize(x, keep: true)
    }

    /// The output alone, keeping nothing for backward (inference).
    public func apply(_ x: Matrix) -> Matrix { normalize(x, keep: false) }

    private func normalize(_ x: Matrix, keep: Bool) -> Matrix {
        let n = x.cols
        var y = Matrix(rows: x.rows, cols: n)
        x.values.withUnsafeBufferPointer { xv in
            y.values.withUnsafeMutableBufferPointer { yv in
                gamma.value.values.withUnsafeBufferPointer { g in
                    beta.value.values.withUnsafeBufferPointer { b in
                        for r in 0..<x.rows {
                            var mean: Float = 0
                            for c in 0..<n { mean += xv[r * n + c] }
                            mean /= Float(n)
                            var variance: Float = 0
                            for c in 0..<n { let d = xv[r * n + c] - mean; variance += d * d }
                            let inv = 1 / (variance / Float(n) + eps).squareRoot()
                            if keep { inverseStd[r] = inv }
                            for c in 0..<n {
                                let z = (xv[r * n + c] - mean) * inv
                                if keep { normalized.values[r * n + c] = z }
                                yv[r * n + c] = z * g[c] + b[c]
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        let n = dy.cols
        var dx = Matrix(rows: dy.rows, cols: n)
        dy.values.withUnsafeBufferPointer { d in
            normalized.values.withUnsafeBufferPointer { z in
                gamma.value.values.withUnsafeBufferPointer { gain in
                    gamma.gradient.values.withUnsafeMutableBufferPointer { dGain in
                        beta.gradient.values.withUnsafeMutableBufferPointer { dBias in
                            dx.values.withUnsafeMutableBufferPointer { out in
                                for r in 0..<dy.rows {
                                    var sumG: Float = 0, sumGZ: Float = 0
                                    for c in 0..<n {
                                        let g = d[r * n + c] * gain[c]
                                        sumG += g
                                        sumGZ += g * z[r * n + c]
                                        dGain[c] += d[r * n + c] * z[r * n + c]
                                        dBias[c] += d[r * n + c]
                                    }
                                    let inv = inverseStd[r] / Float(n)
                                    for c in 0..<n {
                                        out[r * n + c] = inv * (Float(n) * d[r * n + c] * gain[c] - sumG - z[r * n + c] * sumGZ)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }
}

/// Element-wise activations of the feed-forward blocks.
public final class Activation: Layer {
    public enum Kind: String, Sendable {
        case relu
        /// The exact GELU, x · Φ(x) with the error function (BERT's "gelu").
        case gelu
    }
    public let kind: Kind
    private var input = Matrix(rows: 0, cols: 0)

    public init(_ kind: Kind) { self.kind = kind }

    public var parameters: [Parameter] { [] }

    public func forward(_ x: Matrix) -> Matrix {
        input = x
        return apply(x)
    }

    /// The output alone, keeping nothing for backward (inference).
    public func apply(_ x: Matrix) -> Matrix {
        var y = x
        applyInPlace(&y)
        return y
    }

    /// Replaces every value by its activation.
    public func applyInPlace(_ y: inout Matrix) {
        switch kind {
        case .relu: for i in y.values.indices { y.values[i] = max(0, y.values[i]) }
        case .gelu: y.values.withUnsafeMutableBufferPointer { map8($0.baseAddress!, $0.count) { v in 0.5 * v * (1 + erf8(v * 0.707_106_78)) } }
        }
    }

    public func backward(_ dy: Matrix) -> Matrix {
        var dx = dy
        dx.values.withUnsafeMutableBufferPointer { d in
            input.values.withUnsafeBufferPointer { x in
                switch kind {
                case .relu:
                    for i in 0..<d.count where x[i] <= 0 { d[i] = 0 }
                case .gelu:
                    // d/dv v·Φ(v) = Φ(v) + v·φ(v).
                    zip8(d.baseAddress!, x.baseAddress!, d.count) { g, v in
                        let cdf = 0.5 * (1 + erf8(v * 0.707_106_78))
                        return g * (cdf + v * exp8(-0.5 * v * v) * 0.398_942_28)
                    }
                }
            }
        }
        return dx
    }
}

/// Softmax cross-entropy of each row's scores against a target id, with label smoothing (the target gets 1 - s,
/// every id s / classes) and rows whose target is `ignore` (padding) left out. The loss is the mean over the
/// rows that count.
public struct SoftmaxCrossEntropy {
    public var smoothing: Float = 0
    public var ignore: Int32 = -1

    public init(smoothing: Float = 0, ignore: Int32 = -1) {
        self.smoothing = smoothing
        self.ignore = ignore
    }

    /// The mean loss, the gradient with respect to the scores, and how many rows counted.
    public func callAsFunction(_ scores: Matrix, targets: [Int32]) -> (loss: Float, gradient: Matrix, count: Int) {
        precondition(targets.count == scores.rows)
        let n = scores.cols
        var gradient = Matrix(rows: scores.rows, cols: n)
        let counted = targets.filter { $0 != ignore }.count
        guard counted > 0 else { return (0, gradient, 0) }
        var total: Double = 0
        let share = smoothing / Float(n), inverse = 1 / Float(counted)
        scores.values.withUnsafeBufferPointer { s in
            gradient.values.withUnsafeMutableBufferPointer { g in
                for r in 0..<scores.rows where targets[r] != ignore {
                    let row = r * n
                    var top = -Float.infinity
                    for c in 0..<n { top = max(top, s[row + c]) }
                    var sum: Float = 0, sumLogits: Float = 0
                    for c in 0..<n {
                        let e = expf(s[row + c] - top)
                        g[row + c] = e
                        sum += e
                        sumLogits += s[row + c]
                    }
                    let logSum = logf(sum) + top, t = Int(targets[r])
                    // -Σ want·logp, with want = share everywhere plus (1 - smoothing) at the target.
                    total -= Double(share * (sumLogits - Float(n) * logSum) + (1 - smoothing) * (s[row + t] - logSum))
                    let scale = inverse / sum
                    for c in 0..<n { g[row + c] = g[row + c] * scale - share * inverse }
                    g[row + t] -= (1 - smoothing) * inverse
                }
            }
        }
        return (Float(total / Double(counted)), gradient, counted)
    }
}

/// Adds `v` to every row of `m`.
func addRowVector(_ v: [Float], to m: inout Matrix) {
    let n = m.cols
    v.withUnsafeBufferPointer { v in
        m.values.withUnsafeMutableBufferPointer { out in
            for r in 0..<m.rows { for c in 0..<n { out[r * n + c] += v[c] } }
        }
    }
}

/// Adds each column's sum of `m` to `sums`.
func addColumnSums(_ m: Matrix, to sums: inout [Float]) {
    let n = m.cols
    m.values.withUnsafeBufferPointer { v in
        sums.withUnsafeMutableBufferPointer { out in
            for r in 0..<m.rows { for c in 0..<n { out[c] += v[r * n + c] } }
        }
    }
}
