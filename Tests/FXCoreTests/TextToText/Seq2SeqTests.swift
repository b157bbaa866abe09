@testable import FXCore
import Testing

@Suite struct Seq2SeqTests {
    /// One layer each side, a vocabulary of 9 ids, no dropout.
    func settings(width: Int, heads: Int, ff: Int, labelSmoothing: Float) -> Seq2SeqTransformer.Settings {
        var s = Seq2SeqTransformer.Settings()
        s.vocabulary = 9
        s.width = width
        s.heads = heads
        s.ff = ff
        s.layers = 1
        s.dropout = 0
        s.maxPositions = 16
        s.labelSmoothing = labelSmoothing
        return s
    }

    func tiny() -> Seq2SeqTransformer { Seq2SeqTransformer(settings(width: 8, heads: 2, ff: 16, labelSmoothing: 0.1), seed: 1) }

    let batch = Seq2SeqTransformer.Batch(source: [3, 4, 5, 6, 7], sourceLengths: [3, 2],
                                         targetIn: [1, 5, 4, 1, 7, 6, 0], targetOut: [5, 4, 2, 7, 6, 2, 0], targetLengths: [3, 4])

    @Test("the whole encoder-decoder's gradient (shared embedding, padding ignored) against finite differences")
    func wholeModelGradient() {
        let model = tiny()
        _ = model.lossAndGradients(batch)
        // Every later call adds gradients again: keep the first ones.
        let gradients = model.parameters.map(\.gradient.values)
        var rng = SplitMix64(seed: 3)
        var checked = 0, worst: Float = 0
        for (p, analytic) in zip(model.parameters, gradients) {
            for _ in 0..<6 {
                let i = Int.random(in: 0..<p.value.values.count, using: &rng)
                let keep = p.value.values[i]
                p.value.values[i] = keep + 1e-2
                let plus = model.lossAndGradients(batch).loss
                p.value.values[i] = keep - 1e-2
                let minus = model.lossAndGradients(batch).loss
                p.value.values[i] = keep
                let numeric = (plus - minus) / 2e-2
                worst = max(worst, abs(numeric - analytic[i]) / max(abs(numeric), abs(analytic[i]), 1e-2))
                checked += 1
            }
        }
        #expect(checked > 100)
        #expect(worst < 5e-2, "worst relative difference \(worst)")
    }

    @Test("a post-norm layer (BERT's) with GELU: gradient of the input against finite differences")
    func postNorm() {
        var rng = SplitMix64(seed: 4)
        let layer = TransformerLayer("l", width: 8, heads: 2, ff: 12, activation: .gelu, causal: false, cross: false,
                                     preNorm: false, dropout: 0, eps: 1e-12, &rng)
        let x = Matrix.uniform(rows: 4, cols: 8, bound: 1, &rng), r = Matrix.uniform(rows: 4, cols: 8, bound: 1, &rng)
        func loss(_ x: Matrix) -> Double {
            zip(layer.forward(x, lengths: [4]).values, r.values).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = layer.forward(x, lengths: [4])
        let dx = layer.backward(r).input
        var worst: Float = 0
        for i in x.values.indices {
            var plus = x, minus = x
            plus.values[i] += 1e-2
            minus.values[i] -= 1e-2
            let numeric = Float((loss(plus) - loss(minus)) / 2e-2)
            worst = max(worst, abs(numeric - dx.values[i]) / max(abs(numeric), abs(dx.values[i]), 1e-2))
        }
        #expect(worst < 5e-2)
    }

    /// Trains a small model on random sequences of symbols 3...8 mapped by `task`, then decodes unseen ones.
    func learns(_ task: ([Int32]) -> [Int32]) -> Double {
        let model = Seq2SeqTransformer(settings(width: 32, heads: 4, ff: 64, labelSmoothing: 0), seed: 5)
        let optimizer = AdamW(model.parameters, lr: 3e-3, warmup: 30)
        var rng = SplitMix64(seed: 6)
        func sample() -> [Int32] { (0..<Int.random(in: 2...5, using: &rng)).map { _ in Int32.random(in: 3...8, using: &rng) } }
        for _ in 0..<500 {
            var b = Seq2SeqTransformer.Batch(source: [], sourceLengths: [], targetIn: [], targetOut: [], targetLengths: [])
            for _ in 0..<16 {
                let src = sample(), tgt = task(src)
                b.source += src
                b.sourceLengths.append(src.count)
                b.targetIn += [1] + tgt
                b.targetOut += tgt + [2]
                b.targetLengths.append(tgt.count + 1)
            }
            _ = model.lossAndGradients(b)
            optimizer.update()
        }
        let sources = (0..<50).map { _ in sample() }
        let outputs = model.generate(sources, beam: 1, start: 1, end: 2, maxLength: { _ in 10 })
        return Double(zip(sources, outputs).filter { task($0) == $1 }.count) / 50
    }

    /// Greedy decoding the slow way: the whole prefix through the decoder at every step.
    func greedy(_ model: Seq2SeqTransformer, _ source: [Int32], maxLength: Int) -> [Int32] {
        let memory = model.encode(source, lengths: [source.count])
        var out: [Int32] = [1]
        while out.count <= maxLength {
            let logits = model.decode(out, lengths: [out.count], memory: memory, memoryLengths: [source.count])
            let last = logits.rows - 1
            var best = 0
            for c in 1..<logits.cols where logits[last, c] > logits[last, best] { best = c }
            if best == 2 { break }
            out.append(Int32(best))
        }
        return Array(out.dropFirst())
    }

    @Test("batched decoding with cached keys and values gives what decoding each prefix whole gives")
    func cachedDecoding() {
        let model = Seq2SeqTransformer(settings(width: 32, heads: 4, ff: 64, labelSmoothing: 0), seed: 9)
        model.setTraining(false)
        var rng = SplitMix64(seed: 3)
        let sources = (0..<12).map { _ in (0..<Int.random(in: 1...7, using: &rng)).map { _ in Int32.random(in: 3...8, using: &rng) } }
        let batched = model.generate(sources, beam: 1, start: 1, end: 2, maxLength: { $0 + 3 })
        let oneByOne = sources.map { greedy(model, $0, maxLength: $0.count + 3) }
        #expect(batched == oneByOne)
        let beams = model.generate(sources, beam: 4, start: 1, end: 2, maxLength: { $0 + 3 })
        #expect(beams.count == sources.count && zip(beams, sources).allSatisfy { $0.count <= $1.count + 3 })
    }

    @Test("a small model learns to copy and to reverse short sequences")
    func copyAndReverse() {
        #expect(learns { $0 } >= 0.96)
        #expect(learns { Array($0.reversed()) } >= 0.96)
    }

    @Test("AdamW: warm-up then inverse square root; clipping by the global norm")
    func optimizer() {
        let p = Parameter("w", Matrix(rows: 2, cols: 2, values: [1, 1, 1, 1]))
        let adam = AdamW([p], lr: 1, warmup: 4)
        #expect(adam.rate(at: 2) == 0.5 && adam.rate(at: 4) == 1 && adam.rate(at: 16) == 0.5)
        p.gradient.values = [3, 4, 0, 0]
        #expect(adam.update() == 5)
        #expect(p.gradient.values == [0, 0, 0, 0])
        // The first step moves each weight by about the rate, against its gradient's sign; zero gradients only decay.
        #expect(abs(p.value.values[0] - (1 - 0.25 * 0.01 - 0.25)) < 1e-3 && abs(p.value.values[2] - (1 - 0.25 * 0.01)) < 1e-6)
    }
}
