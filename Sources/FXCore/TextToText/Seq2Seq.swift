/// An encoder-decoder transformer (pre-norm) whose source embedding, target embedding and output projection
/// share one matrix, trained with label-smoothed cross-entropy that ignores padding.
public final class Seq2SeqTransformer {
    public struct Settings: Sendable {
        public var vocabulary = 8000
        public var width = 256
        public var heads = 4
        public var ff = 1024
        public var layers = 3
        public var dropout: Float = 0.1
        public var maxPositions = 256
        public var labelSmoothing: Float = 0.1
        public var activation = Activation.Kind.relu
        public var pad: Int32 = 0
        public init() {}
    }

    public let settings: Settings
    public let embedding: Embedding
    public let encoder: [TransformerLayer]
    public let encoderNorm: LayerNorm
    public let decoder: [TransformerLayer]
    public let decoderNorm: LayerNorm
    /// The decoder's last output, which the shared output projection's gradient needs.
    private var lastHidden = Matrix(rows: 0, cols: 0)

    public init(_ settings: Settings, seed: UInt64) {
        self.settings = settings
        var rng = SplitMix64(seed: seed)
        embedding = Embedding("embeddings", vocabulary: settings.vocabulary, width: settings.width,
                              maxPositions: settings.maxPositions, learnedPositions: false, &rng)
        embedding.scale = Float(settings.width).squareRoot()
        var layers: [TransformerLayer] = []
        for i in 0..<settings.layers {
            layers.append(TransformerLayer("encoder.layer.\(i)", width: settings.width, heads: settings.heads, ff: settings.ff,
                                           activation: settings.activation, causal: false, cross: false, preNorm: true,
                                           dropout: settings.dropout, &rng))
        }
        encoder = layers
        layers = []
        for i in 0..<settings.layers {
            layers.append(TransformerLayer("decoder.layer.\(i)", width: settings.width, heads: settings.heads, ff: settings.ff,
                                           activation: settings.activation, causal: true, cross: true, preNorm: true,
                                           dropout: settings.dropout, &rng))
        }
        decoder = layers
        encoderNorm = LayerNorm("encoder.norm", width: settings.width)
        decoderNorm = LayerNorm("decoder.norm", width: settings.width)
    }

    public var parameters: [Parameter] {
        embedding.parameters + encoder.flatMap(\.parameters) + encoderNorm.parameters + decoder.flatMap(\.parameters) + decoderNorm.parameters
    }

    /// A network of the same settings and values (another thread's), its dropout drawn from `seed`.
    public func copy(seed: UInt64 = 0) -> Seq2SeqTransformer {
        let other = Seq2SeqTransformer(settings, seed: seed)
        for (p, q) in zip(other.parameters, parameters) { p.value = q.value }
        return other
    }

    /// Dropout on (training) or off (evaluation, decoding).
    public func setTraining(_ on: Bool) { for layer in encoder + decoder { layer.setTraining(on) } }

    /// A batch of pairs, packed: source ids, the decoder's input (start token + target) and the ids it must
    /// predict (target + end token), one length per pair for each side.
    public struct Batch {
        public var source: [Int32], sourceLengths: [Int]
        public var targetIn: [Int32], targetOut: [Int32], targetLengths: [Int]
        public init(source: [Int32], sourceLengths: [Int], targetIn: [Int32], targetOut: [Int32], targetLengths: [Int]) {
            self.source = source
            self.sourceLengths = sourceLengths
            self.targetIn = targetIn
            self.targetOut = targetOut
            self.targetLengths = targetLengths
        }
    }

    /// The encoder's output for packed source ids.
    public func encode(_ source: [Int32], lengths: [Int]) -> Matrix {
        var x = embedding.forward(source, lengths: lengths)
        for layer in encoder { x = layer.forward(x, lengths: lengths) }
        return encoderNorm.forward(x)
    }

    /// The encoder's output, keeping nothing and without dropout: safe to call from several threads.
    public func applyEncoder(_ source: [Int32], lengths: [Int]) -> Matrix {
        var x = embedding.forward(source, lengths: lengths)
        for layer in encoder { x = layer.apply(x, lengths: lengths) }
        return encoderNorm.apply(x)
    }

    /// The scores of every vocabulary id after each decoder input token.
    public func decode(_ targetIn: [Int32], lengths: [Int], memory: Matrix, memoryLengths: [Int]) -> Matrix {
        var y = embedding.forward(targetIn, lengths: lengths)
        for layer in decoder { y = layer.forward(y, lengths: lengths, memory: memory, memoryLengths: memoryLengths) }
        let h = decoderNorm.forward(y)
        lastHidden = h
        var logits = Matrix(rows: h.rows, cols: settings.vocabulary)
        gemm(h, embedding.tokens.value, transposeB: true, into: &logits)
        return logits
    }

    /// The mean loss over a batch's target tokens and how many there were, without gradients.
    public func loss(_ batch: Batch) -> (loss: Float, tokens: Int) {
        let memory = encode(batch.source, lengths: batch.sourceLengths)
        let logits = decode(batch.targetIn, lengths: batch.targetLengths, memory: memory, memoryLengths: batch.sourceLengths)
        let (loss, _, count) = SoftmaxCrossEntropy(smoothing: settings.labelSmoothing, ignore: settings.pad)(logits, targets: batch.targetOut)
        return (loss, count)
    }

    /// Forward and backward over one batch: adds every parameter's gradient and returns the mean loss over the
    /// target tokens and how many there were.
    public func lossAndGradients(_ batch: Batch) -> (loss: Float, tokens: Int) {
        let memory = encode(batch.source, lengths: batch.sourceLengths)
        let logits = decode(batch.targetIn, lengths: batch.targetLengths, memory: memory, memoryLengths: batch.sourceLengths)
        let (loss, dLogits, count) = SoftmaxCrossEntropy(smoothing: settings.labelSmoothing, ignore: settings.pad)(logits, targets: batch.targetOut)
        // The output projection shares the embedding matrix.
        gemm(dLogits, transposeA: true, lastHidden, into: &embedding.tokens.gradient, beta: 1)
        var dh = Matrix(rows: dLogits.rows, cols: settings.width)
        gemm(dLogits, embedding.tokens.value, into: &dh)
        var dy = decoderNorm.backward(dh)
        var dMemory = Matrix(rows: memory.rows, cols: memory.cols)
        for layer in decoder.reversed() {
            let (dx, dm) = layer.backward(dy)
            dy = dx
            if let dm { dMemory = add(dMemory, dm) }
        }
        embedding.backward(dy, ids: batch.targetIn, lengths: batch.targetLengths)
        var dx = encoderNorm.backward(dMemory)
        for layer in encoder.reversed() { dx = layer.backward(dx).input }
        embedding.backward(dx, ids: batch.source, lengths: batch.sourceLengths)
        return (loss, count)
    }
}
