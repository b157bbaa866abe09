/// A document's vector for clustering: sparse (term ids in increasing order and their values) or, when `ids`
/// is empty, dense (`values` from dimension 0 on).
public struct DocVector: Sendable {
    public var ids: [Int32] = []
    public var values: [Float] = []
    public init() {}
    public init(ids: [Int32], values: [Float]) {
        self.ids = ids
        self.values = values
    }
    public init(dense values: [Float]) { self.values = values }

    /// Scales to unit length; an all-zero vector stays zero.
    mutating func normalize() {
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { for i in values.indices { values[i] /= norm } }
    }

    /// The dot product with a dense row.
    @inline(__always)
    func dot(_ row: UnsafePointer<Float>) -> Float {
        values.withUnsafeBufferPointer { v in
            if ids.isEmpty { return v.isEmpty ? 0 : FXCore.dot(row, v.baseAddress!, v.count) }
            var s: Float = 0
            for k in ids.indices { s += v[k] * row[Int(ids[k])] }
            return s
        }
    }

    /// The most similar of `k` centroids (rows of `d` floats) and the similarity. Dense vectors are compared
    /// with four centroids at a time.
    func nearest(_ centroids: UnsafePointer<Float>, _ k: Int, _ d: Int) -> (centroid: Int, similarity: Float) {
        var best = 0
        var bestSim = -Float.infinity
        var j = 0
        if ids.isEmpty && values.count == d {
            values.withUnsafeBytes { raw in
                let v = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                while j &+ 4 <= k {
                    let c0 = UnsafeRawPointer(centroids + j &* d), c1 = c0 + d &* 4, c2 = c1 + d &* 4, c3 = c2 + d &* 4
                    var s0 = SIMD4<Float>(), s1 = SIMD4<Float>(), s2 = SIMD4<Float>(), s3 = SIMD4<Float>()
                    var t = 0
                    while t &+ 4 <= d {
                        let o = t &* 4, x = raw.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                        s0 += x * c0.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                        s1 += x * c1.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                        s2 += x * c2.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                        s3 += x * c3.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                        t &+= 4
                    }
                    var sims = SIMD4<Float>(s0.sum(), s1.sum(), s2.sum(), s3.sum())
                    while t < d {
                        for m in 0..<4 { sims[m] += v[t] * centroids[(j &+ m) &* d &+ t] }
                        t &+= 1
                    }
                    for m in 0..<4 where sims[m] > bestSim { bestSim = sims[m]; best = j &+ m }
                    j &+= 4
                }
            }
        }
        while j < k {
            let sim = dot(centroids + j * d)
            if sim > bestSim { bestSim = sim; best = j }
            j += 1
        }
        return (best, bestSim)
    }

    /// Adds the vector, times `scale`, into a dense row.
    func add(into row: UnsafeMutablePointer<Float>, scaled scale: Float = 1) {
        if ids.isEmpty {
            for k in values.indices { row[k] += values[k] * scale }
        } else {
            for k in ids.indices { row[Int(ids[k])] += values[k] * scale }
        }
    }

    /// Zeroes the dimensions of a dense row that this vector uses.
    func clear(_ row: UnsafeMutablePointer<Float>) {
        if ids.isEmpty {
            row.update(repeating: 0, count: values.count)
        } else {
            for id in ids { row[Int(id)] = 0 }
        }
    }
}
