@testable import FXCore
import Testing

@Suite struct AttentionTests {
    func worst(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / max(abs($0), abs($1), 1e-2) }.max() ?? 0
    }

    /// Σ forward ⊙ r.
    func loss(_ layer: MultiHeadAttention, _ x: Matrix, _ lengths: [Int], _ context: Matrix?, _ contextLengths: [Int]?, _ r: Matrix) -> Double {
        zip(layer.forward(x, lengths: lengths, context: context, contextLengths: contextLengths).values, r.values)
            .reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    func numeric(_ values: [Float], _ f: ([Float]) -> Double) -> [Float] {
        values.indices.map { i in
            var plus = values, minus = values
            plus[i] += 1e-2
            minus[i] -= 1e-2
            return Float((f(plus) - f(minus)) / 2e-2)
        }
    }

    @Test("self-attention over packed sequences, causal or not: dx and every projection's gradient", arguments: [false, true])
    func selfAttention(causal: Bool) {
        var rng = SplitMix64(seed: 7)
        let layer = MultiHeadAttention("a", width: 8, heads: 2, causal: causal, &rng)
        let x = Matrix.uniform(rows: 5, cols: 8, bound: 1, &rng), lengths = [3, 2]
        let r = Matrix.uniform(rows: 5, cols: 8, bound: 1, &rng)
        for p in layer.parameters { p.zeroGradient() }
        _ = layer.forward(x, lengths: lengths)
        let (dx, dContext) = layer.backward(r)
        #expect(dContext == nil)
        let nx = numeric(x.values) { loss(layer, Matrix(rows: 5, cols: 8, values: $0), lengths, nil, nil, r) }
        #expect(worst(dx.values, nx) < 2e-2)
        for p in layer.parameters {
            let analytic = p.gradient.values
            let n = numeric(p.value.values) { values in
                let keep = p.value.values
                p.value.values = values
                defer { p.value.values = keep }
                return loss(layer, x, lengths, nil, nil, r)
            }
            #expect(worst(analytic, n) < 2e-2, "\(p.name)")
        }
    }

    @Test("cross-attention: the gradients of the queries' input and of the context")
    func crossAttention() {
        var rng = SplitMix64(seed: 8)
        let layer = MultiHeadAttention("c", width: 6, heads: 3, &rng)
        let x = Matrix.uniform(rows: 3, cols: 6, bound: 1, &rng), context = Matrix.uniform(rows: 7, cols: 6, bound: 1, &rng)
        let r = Matrix.uniform(rows: 3, cols: 6, bound: 1, &rng)
        _ = layer.forward(x, lengths: [1, 2], context: context, contextLengths: [4, 3])
        let (dx, dContext) = layer.backward(r)
        let nx = numeric(x.values) { loss(layer, Matrix(rows: 3, cols: 6, values: $0), [1, 2], context, [4, 3], r) }
        let nc = numeric(context.values) { loss(layer, x, [1, 2], Matrix(rows: 7, cols: 6, values: $0), [4, 3], r) }
        #expect(worst(dx.values, nx) < 2e-2)
        #expect(worst(dContext!.values, nc) < 2e-2)
    }

    @Test("packing: sequences attended together equal each attended alone; causal ignores later tokens")
    func packing() {
        var rng = SplitMix64(seed: 9)
        let layer = MultiHeadAttention("p", width: 8, heads: 2, causal: true, &rng)
        let x = Matrix.uniform(rows: 5, cols: 8, bound: 1, &rng)
        let together = layer.forward(x, lengths: [3, 2])
        let first = layer.forward(slice(x, 0, 3, 0, 8), lengths: [3]), second = layer.forward(slice(x, 3, 2, 0, 8), lengths: [2])
        #expect(zip(together.values, first.values + second.values).allSatisfy { abs($0 - $1) < 1e-5 })
        // Changing the last token of a sequence changes no earlier output under the causal mask.
        var changed = x
        for c in 0..<8 { changed[2, c] += 1 }
        let after = layer.forward(changed, lengths: [3, 2])
        #expect(zip(after.values[0..<16], together.values[0..<16]).allSatisfy { $0 == $1 })
        #expect(after.values[16..<24] != together.values[16..<24])
    }
}
