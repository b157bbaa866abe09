/// The feed-forward block: Linear(width -> ff), ReLU or GELU, Linear(ff -> width).
public final class FeedForward: Layer {
    public let up: Linear, activation: Activation, down: Linear

    public init(_ name: String, width: Int, ff: Int, activation: Activation.Kind, _ rng: inout SplitMix64) {
        up = Linear(name + ".intermediate.dense", inputs: width, outputs: ff, &rng)
        self.activation = Activation(activation)
        down = Linear(name + ".output.dense", inputs: ff, outputs: width, &rng)
    }

    public var parameters: [Parameter] { up.parameters + down.parameters }
    public func forward(_ x: Matrix) -> Matrix { down.forward(activation.forward(up.forward(x))) }
    public func backward(_ dy: Matrix) -> Matrix { up.backward(activation.backward(down.backward(dy))) }
    /// The output alone, keeping nothing for backward (inference).
    public func apply(_ x: Matrix) -> Matrix {
        var h = up.apply(x)
        activation.applyInPlace(&h)
        return down.apply(h)
    }
}

/// One transformer layer: self-attention, optional cross-attention over an encoder's output, feed-forward, each
/// in a residual connection with layer normalisation before it (pre-norm, for models trained here) or after the
/// sum (post-norm, BERT's), and dropout on each sub-layer's output.
public final class TransformerLayer {
    public let selfAttention: MultiHeadAttention
    public let crossAttention: MultiHeadAttention?
    public let feedForward: FeedForward
    public let norms: [LayerNorm]
    public let preNorm: Bool
    let dropouts: [Dropout]

    public init(_ name: String, width: Int, heads: Int, ff: Int, activation: Activation.Kind, causal: Bool, cross: Bool,
                preNorm: Bool, dropout: Float, eps: Float = 1e-5, _ rng: inout SplitMix64) {
        selfAttention = MultiHeadAttention(name + ".attention", width: width, heads: heads, causal: causal, &rng)
        crossAttention = cross ? MultiHeadAttention(name + ".crossattention", width: width, heads: heads, &rng) : nil
        feedForward = FeedForward(name, width: width, ff: ff, activation: activation, &rng)
        let count = cross ? 3 : 2
        norms = (0..<count).map { LayerNorm(name + ".norm\($0)", width: width, eps: eps) }
        self.preNorm = preNorm
        var seeds: [UInt64] = []
        for _ in 0..<count { seeds.append(rng.next()) }
        dropouts = seeds.map { Dropout(rate: dropout, seed: $0) }
    }

    public var parameters: [Parameter] {
        selfAttention.parameters + (crossAttention?.parameters ?? []) + feedForward.parameters + norms.flatMap(\.parameters)
    }

    func setTraining(_ on: Bool) { for d in dropouts { d.training = on } }

    /// One residual sub-layer: pre-norm x + f(norm(x)), post-norm norm(x + f(x)).
    private func residual(_ x: Matrix, _ k: Int, _ f: (Matrix) -> Matrix) -> Matrix {
        if preNorm { return add(x, dropouts[k].forward(f(norms[k].forward(x)))) }
        return norms[k].forward(add(x, dropouts[k].forward(f(x))))
    }

    /// The gradient through one residual sub-layer, given the sub-layer's own backward.
    private func residualBackward(_ dy: Matrix, _ k: Int, _ b: (Matrix) -> Matrix) -> Matrix {
        if preNorm { return add(dy, norms[k].backward(b(dropouts[k].backward(dy)))) }
        let ds = norms[k].backward(dy)
        return add(ds, b(dropouts[k].backward(ds)))
    }

    public func forward(_ x: Matrix, lengths: [Int], memory: Matrix? = nil, memoryLengths: [Int]? = nil) -> Matrix {
        var h = residual(x, 0) { selfAttention.forward($0, lengths: lengths) }
        if let crossAttention, let memory {
            h = residual(h, 1) { crossAttention.forward($0, lengths: lengths, context: memory, contextLengths: memoryLengths) }
        }
        return residual(h, norms.count - 1) { feedForward.forward($0) }
    }

    /// An encoder layer's output alone, keeping nothing for backward and without dropout (inference).
    public func apply(_ x: Matrix, lengths: [Int]) -> Matrix {
        precondition(crossAttention == nil)
        func residual(_ x: Matrix, _ k: Int, _ f: (Matrix) -> Matrix) -> Matrix {
            var y = f(preNorm ? norms[k].apply(x) : x)
            addInPlace(x, to: &y)
            return preNorm ? y : norms[k].apply(y)
        }
        let h = residual(x, 0) { selfAttention.apply($0, lengths: lengths) }
        return residual(h, 1) { feedForward.apply($0) }
    }

    /// The gradient for the input, and the gradient for the memory (cross-attention layers).
    public func backward(_ dy: Matrix) -> (input: Matrix, memory: Matrix?) {
        var d = residualBackward(dy, norms.count - 1) { feedForward.backward($0) }
        var dMemory: Matrix?
        if let crossAttention {
            d = residualBackward(d, 1) { g in
                let (dx, dc) = crossAttention.backward(g)
                dMemory = dc
                return dx
            }
        }
        d = residualBackward(d, 0) { selfAttention.backward($0).input }
        return (d, dMemory)
    }
}
