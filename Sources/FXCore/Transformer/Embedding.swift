#if canImport(Glibc)
import Glibc
#endif

/// Token embeddings plus positions: each id's row (scaled by sqrt(width) when the rows are shared with the output
/// projection, as the original Transformer does) plus the position's row, learned (BERT) or sinusoidal.
public final class Embedding {
    public let tokens: Parameter
    public let positions: Parameter?
    public let width: Int
    public let maxPositions: Int
    public var scale: Float = 1

    /// `learnedPositions`: a trainable table (BERT's); otherwise fixed sinusoids.
    public init(_ name: String, vocabulary: Int, width: Int, maxPositions: Int, learnedPositions: Bool, _ rng: inout SplitMix64) {
        self.width = width
        self.maxPositions = maxPositions
        tokens = Parameter(name + ".word_embeddings.weight", .uniform(rows: vocabulary, cols: width, bound: 1 / Float(width).squareRoot(), &rng))
        positions = learnedPositions
            ? Parameter(name + ".position_embeddings.weight", .uniform(rows: maxPositions, cols: width, bound: 0.02, &rng)) : nil
    }

    public var parameters: [Parameter] { [tokens] + (positions.map { [$0] } ?? []) }

    /// The rows for packed sequences of ids (`lengths` each), positions counted from 0 in each sequence.
    public func forward(_ ids: [Int32], lengths: [Int]) -> Matrix {
        precondition(lengths.reduce(0, +) == ids.count)
        let offsets = lengths.flatMap { 0..<$0 }
        var out = Matrix(rows: ids.count, cols: width)
        for (r, id) in ids.enumerated() {
            let position = min(offsets[r], maxPositions - 1)
            for c in 0..<width {
                var value = tokens.value.values[Int(id) * width + c] * scale
                if let positions {
                    value += positions.value.values[position * width + c]
                } else {
                    value += Self.sinusoid(position, c, width)
                }
                out.values[r * width + c] = value
            }
        }
        return out
    }

    /// Adds the gradient `dy` of the rows `forward(ids, lengths)` gave.
    public func backward(_ dy: Matrix, ids: [Int32], lengths: [Int]) {
        let offsets = lengths.flatMap { 0..<$0 }
        for (r, id) in ids.enumerated() {
            let position = min(offsets[r], maxPositions - 1)
            for c in 0..<width {
                tokens.gradient.values[Int(id) * width + c] += dy.values[r * width + c] * scale
                positions?.gradient.values[position * width + c] += dy.values[r * width + c]
            }
        }
    }

    /// sin(p / 10000^(2i/width)) in even columns, cos in odd ones.
    static func sinusoid(_ position: Int, _ column: Int, _ width: Int) -> Float {
        let angle = Double(position) / pow(10_000, Double(column / 2 * 2) / Double(width))
        return Float(column % 2 == 0 ? sin(angle) : cos(angle))
    }
}

/// Inverted dropout: in training each value is zeroed with probability `rate` and the rest scaled by 1/(1 - rate).
public final class Dropout: Layer {
    public var rate: Float
    public var training = true
    private var keep: [Float] = []
    private var rng: SplitMix64

    public init(rate: Float, seed: UInt64) {
        self.rate = rate
        rng = SplitMix64(seed: seed)
    }

    public var parameters: [Parameter] { [] }

    public func forward(_ x: Matrix) -> Matrix {
        guard training && rate > 0 else { keep = []; return x }
        let scale = 1 / (1 - rate)
        keep = x.values.map { _ in Float.random(in: 0..<1, using: &rng) < rate ? 0 : scale }
        var y = x
        for i in y.values.indices { y.values[i] *= keep[i] }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        guard !keep.isEmpty else { return dy }
        var dx = dy
        for i in dx.values.indices { dx.values[i] *= keep[i] }
        return dx
    }
}
