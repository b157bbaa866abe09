import Foundation
@testable import FXCore
import Testing

/// Each layer's backward pass against central finite differences of loss = Σ forward(x) ⊙ r, r fixed and random.
@Suite struct LayerGradientTests {
    /// The largest difference between an analytic and a numeric gradient, relative to the larger of the two
    /// (at least 1e-2, so that tiny entries compare absolutely).
    func worst(_ analytic: [Float], _ numeric: [Float]) -> Float {
        zip(analytic, numeric).map { abs($0 - $1) / max(abs($0), abs($1), 1e-2) }.max() ?? 0
    }

    func loss(_ layer: Layer, _ x: Matrix, _ r: Matrix) -> Double {
        zip(layer.forward(x).values, r.values).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Checks dx and every parameter's gradient.
    func check(_ layer: Layer, _ x: Matrix, _ rng: inout SplitMix64) {
        let y = layer.forward(x)
        let r = Matrix.uniform(rows: y.rows, cols: y.cols, bound: 1, &rng)
        for p in layer.parameters { p.zeroGradient() }
        _ = layer.forward(x)
        let dx = layer.backward(r)
        var numeric: [Float] = []
        for i in x.values.indices {
            var plus = x, minus = x
            plus.values[i] += 1e-2
            minus.values[i] -= 1e-2
            numeric.append(Float((loss(layer, plus, r) - loss(layer, minus, r)) / 2e-2))
        }
        #expect(worst(dx.values, numeric) < 2e-2, "\(type(of: layer)) dx")
        for p in layer.parameters {
            let analytic = p.gradient.values
            var numericP: [Float] = []
            for i in p.value.values.indices {
                let keep = p.value.values[i]
                p.value.values[i] = keep + 1e-2
                let plus = loss(layer, x, r)
                p.value.values[i] = keep - 1e-2
                let minus = loss(layer, x, r)
                p.value.values[i] = keep
                numericP.append(Float((plus - minus) / 2e-2))
            }
            #expect(worst(analytic, numericP) < 2e-2, "\(p.name)")
        }
    }

    @Test("sgemm with every transposition equals the plain triple loop")
    func products() {
        var rng = SplitMix64(seed: 1)
        let a = Matrix.uniform(rows: 5, cols: 7, bound: 1, &rng), b = Matrix.uniform(rows: 7, cols: 3, bound: 1, &rng)
        var plain = Matrix(rows: 5, cols: 3)
        for i in 0..<5 { for j in 0..<3 { for k in 0..<7 { plain[i, j] += a[i, k] * b[k, j] } } }
        func transposed(_ m: Matrix) -> Matrix {
            var t = Matrix(rows: m.cols, cols: m.rows)
            for i in 0..<m.rows { for j in 0..<m.cols { t[j, i] = m[i, j] } }
            return t
        }
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            var c = Matrix(rows: 0, cols: 0)
            gemm(ta ? transposed(a) : a, transposeA: ta, tb ? transposed(b) : b, transposeB: tb, into: &c)
            #expect(c.rows == 5 && c.cols == 3)
            #expect(zip(c.values, plain.values).allSatisfy { abs($0 - $1) < 1e-5 })
        }
        var acc = plain
        gemm(a, b, into: &acc, beta: 1)
        #expect(zip(acc.values, plain.values).allSatisfy { abs($0 - 2 * $1) < 1e-5 })
    }

    @Test("linear: dx, dW and db")
    func linear() {
        var rng = SplitMix64(seed: 2)
        let layer = Linear("l", inputs: 6, outputs: 4, &rng)
        layer.bias!.value = .uniform(rows: 1, cols: 4, bound: 1, &rng)
        check(layer, .uniform(rows: 3, cols: 6, bound: 1, &rng), &rng)
    }

    @Test("layer norm: dx, dgamma and dbeta", arguments: [Float(1e-5), 1e-12])
    func layerNorm(eps: Float) {
        var rng = SplitMix64(seed: 3)
        let layer = LayerNorm("n", width: 8, eps: eps)
        layer.gamma.value = .uniform(rows: 1, cols: 8, bound: 2, &rng)
        layer.beta.value = .uniform(rows: 1, cols: 8, bound: 1, &rng)
        check(layer, .uniform(rows: 4, cols: 8, bound: 3, &rng), &rng)
        // Each output row has mean beta-weighted zero and unit variance before the affine part.
        let plain = LayerNorm("p", width: 8, eps: eps)
        let y = plain.forward(.uniform(rows: 2, cols: 8, bound: 5, &rng))
        for r in 0..<2 {
            let row = y.values[(r * 8)..<(r * 8 + 8)]
            let mean = row.reduce(0, +) / 8
            #expect(abs(mean) < 1e-5 && abs(row.reduce(0) { $0 + $1 * $1 } / 8 - 1) < 1e-3)
        }
    }

    @Test("ReLU and exact GELU", arguments: [Activation.Kind.relu, .gelu])
    func activations(kind: Activation.Kind) {
        var rng = SplitMix64(seed: 4)
        // Away from ReLU's kink at 0.
        var x = Matrix.uniform(rows: 3, cols: 5, bound: 2, &rng)
        for i in x.values.indices where abs(x.values[i]) < 0.1 { x.values[i] = 0.5 }
        check(Activation(kind), x, &rng)
        let gelu = Activation(.gelu).forward(Matrix(rows: 1, cols: 3, values: [-1, 0, 1]))
        #expect(abs(gelu.values[0] + 0.158655) < 1e-5 && gelu.values[1] == 0 && abs(gelu.values[2] - 0.841345) < 1e-5)
    }

    @Test("softmax cross-entropy: the value by hand, the gradient by differences, smoothing and padding")
    func crossEntropy() {
        // Two classes, scores 0 and log 3: p = (1/4, 3/4); target 1 -> -log(3/4).
        let ce = SoftmaxCrossEntropy()
        let one = ce(Matrix(rows: 1, cols: 2, values: [0, logf(3)]), targets: [1])
        #expect(abs(one.loss + logf(0.75)) < 1e-6 && abs(one.gradient.values[0] - 0.25) < 1e-6 && abs(one.gradient.values[1] + 0.25) < 1e-6)
        var rng = SplitMix64(seed: 5)
        let scores = Matrix.uniform(rows: 4, cols: 6, bound: 3, &rng)
        let targets: [Int32] = [2, 0, 0, 5]
        let smoothed = SoftmaxCrossEntropy(smoothing: 0.1, ignore: 0)
        let result = smoothed(scores, targets: targets)
        #expect(result.count == 2)
        #expect(result.gradient.values[(6)..<(18)].allSatisfy { $0 == 0 })  // padded rows 1 and 2
        var numeric: [Float] = []
        for i in scores.values.indices {
            var plus = scores, minus = scores
            plus.values[i] += 1e-2
            minus.values[i] -= 1e-2
            numeric.append((smoothed(plus, targets: targets).loss - smoothed(minus, targets: targets).loss) / 2e-2)
        }
        #expect(worst(result.gradient.values, numeric) < 2e-2)
        // With smoothing, a perfectly confident right answer still costs something.
        let confident = smoothed(Matrix(rows: 1, cols: 6, values: [0, 0, 50, 0, 0, 0]), targets: [2])
        #expect(confident.loss > 1)
    }
}
