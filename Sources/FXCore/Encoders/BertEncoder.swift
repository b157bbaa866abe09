/// A BERT-family encoder (post-norm layers, learned positions, token types, GELU) whose parameters carry
/// Hugging Face's key names, so a pretrained checkpoint loads into it and a fine-tuned one saves back readable
/// by their tools. Sequences are packed, without padding; every token attends to its whole sequence.
public final class BertEncoder {
    public struct Settings: Sendable, Equatable {
        public var vocabulary = 30522
        public var width = 384
        public var heads = 12
        public var ff = 1536
        public var layers = 6
        public var maxPositions = 512
        public var typeVocabulary = 2
        public var eps: Float = 1e-12
        public var activation = Activation.Kind.gelu
        public var dropout: Float = 0.1
        public init() {}
    }

    public let settings: Settings
    public let embedding: Embedding
    public let tokenTypes: Parameter
    public let embeddingNorm: LayerNorm
    let embeddingDropout: Dropout
    public let layers: [TransformerLayer]
    /// Every parameter under its Hugging Face name (without the `bert.` prefix).
    public let named: [(name: String, parameter: Parameter)]

    public init(_ settings: Settings, seed: UInt64) {
        self.settings = settings
        var rng = SplitMix64(seed: seed)
        embedding = Embedding("embeddings", vocabulary: settings.vocabulary, width: settings.width,
                              maxPositions: settings.maxPositions, learnedPositions: true, &rng)
        tokenTypes = Parameter("embeddings.token_type_embeddings.weight",
                               .uniform(rows: max(settings.typeVocabulary, 1), cols: settings.width, bound: 0.02, &rng))
        embeddingNorm = LayerNorm("embeddings.LayerNorm", width: settings.width, eps: settings.eps)
        embeddingDropout = Dropout(rate: settings.dropout, seed: rng.next())
        var layers: [TransformerLayer] = []
        var named: [(String, Parameter)] = [
            ("embeddings.word_embeddings.weight", embedding.tokens), ("embeddings.position_embeddings.weight", embedding.positions!),
            ("embeddings.token_type_embeddings.weight", tokenTypes),
            ("embeddings.LayerNorm.weight", embeddingNorm.gamma), ("embeddings.LayerNorm.bias", embeddingNorm.beta),
        ]
        func linear(_ name: String, _ l: Linear) { named += [(name + ".weight", l.weight), (name + ".bias", l.bias!)] }
        func norm(_ name: String, _ n: LayerNorm) { named += [(name + ".weight", n.gamma), (name + ".bias", n.beta)] }
        for i in 0..<settings.layers {
            let layer = TransformerLayer("encoder.layer.\(i)", width: settings.width, heads: settings.heads, ff: settings.ff,
                                         activation: settings.activation, causal: false, cross: false, preNorm: false,
                                         dropout: settings.dropout, eps: settings.eps, &rng)
            let p = "encoder.layer.\(i)."
            linear(p + "attention.self.query", layer.selfAttention.query)
            linear(p + "attention.self.key", layer.selfAttention.key)
            linear(p + "attention.self.value", layer.selfAttention.value)
            linear(p + "attention.output.dense", layer.selfAttention.output)
            norm(p + "attention.output.LayerNorm", layer.norms[0])
            linear(p + "intermediate.dense", layer.feedForward.up)
            linear(p + "output.dense", layer.feedForward.down)
            norm(p + "output.LayerNorm", layer.norms[1])
            layers.append(layer)
        }
        self.layers = layers
        self.named = named
    }

    public var parameters: [Parameter] { named.map(\.parameter) }

    /// A network of the same settings and values (another thread's), its dropout drawn from `seed`.
    public func copy(seed: UInt64 = 0) -> BertEncoder {
        let other = BertEncoder(settings, seed: seed)
        for (p, q) in zip(other.parameters, parameters) { p.value = q.value }
        return other
    }

    /// Dropout on (training) or off.
    public func setTraining(_ on: Bool) {
        embeddingDropout.training = on
        for layer in layers { layer.setTraining(on) }
    }

    /// Token, position and (first) token-type rows, normalised.
    private func embed(_ ids: [Int32], lengths: [Int], keep: Bool) -> Matrix {
        var x = embedding.forward(ids, lengths: lengths)
        addRowVector(Array(tokenTypes.value.values[0..<settings.width]), to: &x)
        return keep ? embeddingDropout.forward(embeddingNorm.forward(x)) : embeddingNorm.apply(x)
    }

    /// Every token's last hidden state, for packed sequences (training: keeps what backward needs).
    public func forward(_ ids: [Int32], lengths: [Int]) -> Matrix {
        var x = embed(ids, lengths: lengths, keep: true)
        for layer in layers { x = layer.forward(x, lengths: lengths) }
        return x
    }

    /// Adds every parameter's gradient, given the gradient of the last hidden states `forward` returned.
    public func backward(_ dy: Matrix, ids: [Int32], lengths: [Int]) {
        var d = dy
        for layer in layers.reversed() { d = layer.backward(d).input }
        d = embeddingNorm.backward(embeddingDropout.backward(d))
        tokenTypes.gradient.values.withUnsafeMutableBufferPointer { g in
            var first = Array(g[0..<settings.width])
            addColumnSums(d, to: &first)
            for c in 0..<settings.width { g[c] = first[c] }
        }
        embedding.backward(d, ids: ids, lengths: lengths)
    }

    /// Every token's last hidden state, keeping nothing and without dropout: safe to call from several threads.
    public func apply(_ ids: [Int32], lengths: [Int]) -> Matrix {
        var x = embed(ids, lengths: lengths, keep: false)
        for layer in layers { x = layer.apply(x, lengths: lengths) }
        return x
    }
}

/// How token states become one vector per sequence: their mean (sentence-transformers' usual choice) or the
/// first token's ([CLS]).
public enum Pooling: String, Sendable {
    case mean
    case cls

    /// One row per sequence of the packed `states`.
    public func callAsFunction(_ states: Matrix, lengths: [Int]) -> Matrix {
        let w = states.cols
        var out = Matrix(rows: lengths.count, cols: w)
        var start = 0
        for (s, n) in lengths.enumerated() {
            switch self {
            case .cls:
                for c in 0..<w { out.values[s * w + c] = states.values[start * w + c] }
            case .mean:
                for r in start..<(start + n) { for c in 0..<w { out.values[s * w + c] += states.values[r * w + c] } }
                let inverse = 1 / Float(max(n, 1))
                for c in 0..<w { out.values[s * w + c] *= inverse }
            }
            start += n
        }
        return out
    }

    /// The gradient for the packed states, given the gradient of the pooled rows.
    public func backward(_ dy: Matrix, lengths: [Int]) -> Matrix {
        let w = dy.cols
        var out = Matrix(rows: lengths.reduce(0, +), cols: w)
        var start = 0
        for (s, n) in lengths.enumerated() {
            let share: Float = self == .mean ? 1 / Float(max(n, 1)) : 1
            for r in start..<(self == .mean ? start + n : min(start + 1, start + n)) {
                for c in 0..<w { out.values[r * w + c] = dy.values[s * w + c] * share }
            }
            start += n
        }
        return out
    }
}
