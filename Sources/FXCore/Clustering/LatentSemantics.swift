import Dispatch

/// Latent semantic analysis: documents' TF-IDF vectors projected onto the corpus' top right singular vectors
/// (a truncated SVD), so that clustering compares topics rather than single words.
///
/// The singular vectors come from randomized subspace iteration on XᵀX followed by a Rayleigh-Ritz step
/// (Halko, Martinsson and Tropp, 2011): a random block of `dimensions + oversampling` term-space vectors is
/// multiplied by XᵀX `iterations` times, orthonormalised after each (Cholesky QR), and the exact eigenvectors
/// of XᵀX within that block are kept.
public struct LatentSemantics: Sendable {
    public let terms: Int
    public let dimensions: Int
    /// Term-major: row t holds term t's coordinate on each of the `dimensions` directions.
    public let components: [Float]

    public init(components: [Float], terms: Int, dimensions: Int) {
        precondition(components.count == terms * dimensions)
        self.components = components
        self.terms = terms
        self.dimensions = dimensions
    }

    /// The top `dimensions` directions of the documents (sparse rows over `terms` columns); fewer when there
    /// are fewer documents or terms.
    public static func fit(_ docs: [DocVector], terms: Int, dimensions: Int, iterations: Int = 2, oversampling: Int = 10,
                           seed: UInt64, threads: Int) -> LatentSemantics {
        let d = max(1, min(dimensions, terms, docs.count))
        let l = min(d + oversampling, terms)
        var rng = SplitMix64(seed: StableHash.mix(seed ^ 0x4C53_4100))
        var z = (0..<(terms * l)).map { _ in Float.random(in: -1..<1, using: &rng) }
        let steps = max(iterations, 1)
        for step in 1...steps {
            z = transposedProduct(docs, product(docs, z, l, threads), terms, l, threads)
            orthonormalize(&z, rows: terms, columns: l, threads: threads, passes: step == steps ? 2 : 1)
        }
        // Rayleigh-Ritz: the eigenvectors of Zᵀ XᵀX Z = (XZ)ᵀ(XZ), mapped back through Z.
        let y = product(docs, z, l, threads)
        let (_, vectors) = symmetricEigen(gram(y, rows: docs.count, columns: l, threads: threads), l)
        let w = (0..<(l * d)).map { Float(vectors[($0 / d) * l + $0 % d]) }
        var components = [Float](repeating: 0, count: terms * d)
        components.withUnsafeMutableBufferPointer { out in
            z.withUnsafeBufferPointer { zp in
                w.withUnsafeBufferPointer { wp in
                    let out = out
                    inParallel(terms, threads) { _, range in
                        for t in range {
                            for i in 0..<l where zp[t * l + i] != 0 {
                                axpy(zp[t * l + i], wp.baseAddress! + i * d, out.baseAddress! + t * d, d)
                            }
                        }
                    }
                }
            }
        }
        return LatentSemantics(components: components, terms: terms, dimensions: d)
    }

    /// A TF-IDF vector's coordinates in the latent space, scaled to unit length.
    public func project(_ v: DocVector) -> DocVector {
        var out = [Float](repeating: 0, count: dimensions)
        components.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { o in
                for (k, id) in v.ids.enumerated() { axpy(v.values[k], c.baseAddress! + Int(id) * dimensions, o.baseAddress!, dimensions) }
            }
        }
        var projected = DocVector(dense: out)
        projected.normalize()
        return projected
    }

    /// Each term's weight in a latent-space vector (the vector mapped back to the terms).
    public func termWeights(_ v: ArraySlice<Float>) -> [Float] {
        let v = Array(v)
        return components.withUnsafeBufferPointer { c in
            (0..<terms).map { dot(c.baseAddress! + $0 * dimensions, v) }
        }
    }
}

/// X·M for sparse rows X (n × terms) and a dense term-major M (terms × m): n × m, rows in parallel.
private func product(_ docs: [DocVector], _ m: [Float], _ columns: Int, _ threads: Int) -> [Float] {
    var out = [Float](repeating: 0, count: docs.count * columns)
    out.withUnsafeMutableBufferPointer { o in
        m.withUnsafeBufferPointer { mp in
            let o = o
            inParallel(docs.count, threads) { _, range in
                for i in range {
                    for (k, id) in docs[i].ids.enumerated() {
                        axpy(docs[i].values[k], mp.baseAddress! + Int(id) * columns, o.baseAddress! + i * columns, columns)
                    }
                }
            }
        }
    }
    return out
}

/// Xᵀ·Y for sparse rows X (n × terms) and a dense Y (n × m): terms × m, term ranges in parallel.
private func transposedProduct(_ docs: [DocVector], _ y: [Float], _ terms: Int, _ columns: Int, _ threads: Int) -> [Float] {
    var out = [Float](repeating: 0, count: terms * columns)
    out.withUnsafeMutableBufferPointer { o in
        y.withUnsafeBufferPointer { yp in
            let o = o
            inParallel(terms, threads) { _, range in
                for (i, doc) in docs.enumerated() {
                    let src = yp.baseAddress! + i * columns
                    for (k, id) in doc.ids.enumerated() where range.contains(Int(id)) {
                        axpy(doc.values[k], src, o.baseAddress! + Int(id) * columns, columns)
                    }
                }
            }
        }
    }
    return out
}

/// AᵀA for a dense row-major A (rows × columns), summed in single precision per thread, returned in double.
private func gram(_ a: [Float], rows: Int, columns l: Int, threads: Int) -> [Double] {
    let parts = max(1, min(threads, rows / 64))
    var partial = [Float](repeating: 0, count: parts * l * l)
    a.withUnsafeBufferPointer { ap in
        partial.withUnsafeMutableBufferPointer { pp in
            let pp = pp
            inParallel(rows, parts) { part, range in
                let g = pp.baseAddress! + part * l * l
                for r in range {
                    let row = ap.baseAddress! + r * l
                    for i in 0..<l where row[i] != 0 { axpy(row[i], row + i, g + i * l + i, l - i) }
                }
            }
        }
    }
    var g = [Double](repeating: 0, count: l * l)
    for p in 0..<parts {
        for i in 0..<l { for j in i..<l { g[i * l + j] += Double(partial[p * l * l + i * l + j]) } }
    }
    for i in 0..<l { for j in 0..<i { g[i * l + j] = g[j * l + i] } }
    return g
}

/// Makes the columns of a dense row-major A (rows × columns) orthonormal by Cholesky QR, `passes` times:
/// AᵀA = RᵀR, A ← A R⁻¹. A column that depends on the ones before it becomes zero.
private func orthonormalize(_ a: inout [Float], rows: Int, columns l: Int, threads: Int, passes: Int) {
    for _ in 0..<passes {
        var r = gram(a, rows: rows, columns: l, threads: threads)
        let largest = (0..<l).map { r[$0 * l + $0] }.max() ?? 0
        // Cholesky in place, upper triangle: r[j][j..] becomes row j of R.
        for j in 0..<l {
            var pivot = r[j * l + j]
            for k in 0..<j { pivot -= r[k * l + j] * r[k * l + j] }
            guard pivot > largest * 1e-10 else {
                for i in j..<l { r[j * l + i] = 0 }
                continue
            }
            let root = pivot.squareRoot()
            r[j * l + j] = root
            for i in (j + 1)..<l {
                var s = r[j * l + i]
                for k in 0..<j { s -= r[k * l + j] * r[k * l + i] }
                r[j * l + i] = s / root
            }
        }
        // Each row x of A solves x R = a, in place: x_i = (a_i - sum over j < i of x_j R_ji) / R_ii.
        let negated = r.map { Float(-$0) }
        let inverseDiagonal = (0..<l).map { r[$0 * l + $0] > 0 ? Float(1 / r[$0 * l + $0]) : 0 }
        a.withUnsafeMutableBufferPointer { ap in
            let ap = ap
            negated.withUnsafeBufferPointer { rp in
                inParallel(rows, threads) { _, range in
                    for row in range {
                        let x = ap.baseAddress! + row * l
                        for i in 0..<l {
                            x[i] *= inverseDiagonal[i]
                            if x[i] != 0 && i + 1 < l { axpy(x[i], rp.baseAddress! + i * l + i + 1, x + i + 1, l - i - 1) }
                        }
                    }
                }
            }
        }
    }
}

/// The eigenvalues and eigenvectors of a symmetric n × n matrix by cyclic Jacobi rotations: eigenvalues in
/// decreasing order, eigenvectors as the columns of a row-major n × n matrix in the same order.
func symmetricEigen(_ matrix: [Double], _ n: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    let scale = a.reduce(0) { $0 + $1 * $1 }
    for _ in 0..<60 {
        var off = 0.0
        for p in 0..<n { for q in (p + 1)..<n { off += a[p * n + q] * a[p * n + q] } }
        if off <= scale * 1e-24 || off == 0 { break }
        for p in 0..<n {
            for q in (p + 1)..<n {
                let apq = a[p * n + q]
                if apq == 0 { continue }
                let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<n {
                    let kp = a[k * n + p], kq = a[k * n + q]
                    a[k * n + p] = c * kp - s * kq
                    a[k * n + q] = s * kp + c * kq
                }
                for k in 0..<n {
                    let pk = a[p * n + k], qk = a[q * n + k]
                    a[p * n + k] = c * pk - s * qk
                    a[q * n + k] = s * pk + c * qk
                }
                for k in 0..<n {
                    let kp = v[k * n + p], kq = v[k * n + q]
                    v[k * n + p] = c * kp - s * kq
                    v[k * n + q] = s * kp + c * kq
                }
            }
        }
    }
    let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
    var vectors = [Double](repeating: 0, count: n * n)
    for (column, source) in order.enumerated() { for k in 0..<n { vectors[k * n + column] = v[k * n + source] } }
    return (order.map { a[$0 * n + $0] }, vectors)
}

/// Runs `body` over `count` items split into `parts` contiguous ranges, concurrently.
func inParallel(_ count: Int, _ parts: Int, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
    let parts = max(1, min(parts, count))
    if parts == 1 { body(0, 0..<count); return }
    concurrently(parts) { p in
        body(p, (p * count / parts)..<((p + 1) * count / parts))
    }
}

/// y += a·x over n floats.
@inline(__always)
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    for j in 0..<n { y[j] += a * x[j] }
}
