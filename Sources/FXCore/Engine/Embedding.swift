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
    /// The fixed position rows, when positions are not learned.
    private let sinusoids: [Float]

    /// `learnedPositions`: a trainable table (BERT's); otherwise fixed sinusoids.
    public init(_ name: String, vocabulary: Int, width: Int, maxPositions: Int, learnedPositions: Bool, _ rng: inout SplitMix64) {
        self.width = width
        self.maxPositions = maxPositions
        tokens = Parameter(name + ".word_embeddings.weight", .uniform(rows: vocabulary, cols: width, bound: 1 / Float(width).squareRoot(), &rng))
        positions = learnedPositions
            ? Parameter(name + ".position_embeddings.weight", .uniform(rows: maxPositions, cols: width, bound: 0.02, &rng)) : nil
        sinusoids = learnedPositions ? [] : (0..<(maxPositions * width)).map { Self.sinusoid($0 / width, $0 % width, width) }
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
                value += positions?.value.values[position * width + c] ?? sinusoids[position * width + c]
                out.values[r * width + c] = value
            }
        }
        return out
    }

    /// The rows of `ids`, each at `position` (one decoding step).
    public func rows(_ ids: [Int32], position: Int) -> Matrix {
        var out = Matrix(rows: ids.count, cols: width)
        let p = min(position, maxPositions - 1)
        for (r, id) in ids.enumerated() {
            for c in 0..<width {
                out.values[r * width + c] = tokens.value.values[Int(id) * width + c] * scale
                    + (positions?.value.values[p * width + c] ?? sinusoids[p * width + c])
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
        // Two draws of 32 bits from each 64-bit number; a value is dropped when its draw is below rate · 2^32.
        let threshold = UInt64(Double(rate) * 4_294_967_296)
        var y = x
        keep = [Float](repeating: 0, count: x.values.count)
        keep.withUnsafeMutableBufferPointer { k in
            y.values.withUnsafeMutableBufferPointer { v in
                var bits: UInt64 = 0
                for i in 0..<v.count {
                    let draw: UInt64
                    if i & 1 == 0 { bits = rng.next(); draw = bits & 0xFFFF_FFFF } else { draw = bits >> 32 }
                    k[i] = draw < threshold ? 0 : scale
                    v[i] *= k[i]
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix) -> Matrix {
        guard !keep.isEmpty else { return dy }
        var dx = dy
        keep.withUnsafeBufferPointer { k in dx.values.withUnsafeMutableBufferPointer { v in for i in 0..<v.count { v[i] *= k[i] } } }
        return dx
    }
}
