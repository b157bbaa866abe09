import COpenBLAS
import Dispatch

/// A row-major matrix of Float32 in one contiguous buffer: the transformer engine's activations, weights and
/// gradients. Batches of token vectors are matrices of (tokens x width).
public struct Matrix: Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]? = nil) {
        precondition(values == nil || values!.count == rows * cols, "matrix of \(rows) x \(cols) given \(values!.count) values")
        self.rows = rows
        self.cols = cols
        self.values = values ?? [Float](repeating: 0, count: rows * cols)
    }

    public subscript(r: Int, c: Int) -> Float {
        get { values[r * cols + c] }
        set { values[r * cols + c] = newValue }
    }

    /// Random values uniform in ±bound, drawn from `rng`.
    public static func uniform(rows: Int, cols: Int, bound: Float, _ rng: inout SplitMix64) -> Matrix {
        Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Float.random(in: -bound...bound, using: &rng) })
    }
}

/// c = alpha · op(a) · op(b) + beta · c through OpenBLAS's sgemm, op transposing when asked. Every large product of
/// the engine goes through here.
public func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false,
                 into c: inout Matrix, alpha: Float = 1, beta: Float = 0) {
    let m = transposeA ? a.cols : a.rows, k = transposeA ? a.rows : a.cols
    let n = transposeB ? b.rows : b.cols
    precondition((transposeB ? b.cols : b.rows) == k, "inner dimensions \(k) and \(transposeB ? b.cols : b.rows) differ")
    if beta == 0 || c.rows != m || c.cols != n {
        precondition(beta == 0, "accumulating into a matrix of the wrong shape")
        if c.rows != m || c.cols != n { c = Matrix(rows: m, cols: n) }
    }
    guard m > 0 && n > 0 else { return }
    if k == 0 {
        if beta == 0 { for i in c.values.indices { c.values[i] = 0 } }
        return
    }
    a.values.withUnsafeBufferPointer { pa in
        b.values.withUnsafeBufferPointer { pb in
            c.values.withUnsafeMutableBufferPointer { pc in
                cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.cols), pb.baseAddress, Int32(b.cols),
                            beta, pc.baseAddress, Int32(c.cols))
            }
        }
    }
}

/// A trainable tensor and the gradient accumulated for it.
public final class Parameter {
    public let name: String
    public var value: Matrix
    public var gradient: Matrix

    public init(_ name: String, _ value: Matrix) {
        self.name = name
        self.value = value
        self.gradient = Matrix(rows: value.rows, cols: value.cols)
    }

    public func zeroGradient() {
        for i in gradient.values.indices { gradient.values[i] = 0 }
    }
}

/// c = alpha · op(a) · op(b) + beta · c on raw row-major storage with leading dimensions, so that a head's
/// columns of a wider matrix take part without being copied out.
func gemm(_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, transposeA: Bool = false,
          _ b: UnsafePointer<Float>, _ ldb: Int, transposeB: Bool = false,
          _ c: UnsafeMutablePointer<Float>, _ ldc: Int, alpha: Float = 1, beta: Float = 0) {
    guard m > 0 && n > 0 && k > 0 else { return }
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The indices of sequences of `lengths` in batches of similar length (shortest first) of at most `tokens`
/// tokens each; a longer sequence makes a batch alone.
func lengthBatches(_ lengths: [Int], tokens: Int) -> [[Int]] {
    var batches: [[Int]] = []
    var n = 0
    for i in lengths.indices.sorted(by: { lengths[$0] < lengths[$1] }) {
        if batches.isEmpty || (!batches[batches.count - 1].isEmpty && n + lengths[i] > tokens) { batches.append([]); n = 0 }
        batches[batches.count - 1].append(i)
        n += lengths[i]
    }
    return batches
}

/// `body(thread, batch)` for every batch, on `threads` threads taking batches in turn; OpenBLAS itself is kept
/// on one thread, as each of these runs its own products.
func forEachBatch(_ batches: [[Int]], threads: Int, _ body: (_ thread: Int, _ batch: [Int]) -> Void) {
    openblas_set_num_threads(1)
    let threads = max(1, min(threads, batches.count))
    concurrently(threads) { t in
        for b in stride(from: t, to: batches.count, by: threads) { body(t, batches[b]) }
    }
}
