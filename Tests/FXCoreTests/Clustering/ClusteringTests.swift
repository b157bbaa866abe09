import Testing
@testable import FXCore

@Suite struct ClusteringTests {
    @Test("TF-IDF: sublinear tf, smoothed idf, stop words and one-letter words left out, unit length")
    func tfidf() throws {
        var v = TfIdf()
        let docs = [v.words("The cat and the CAT sat"), v.words("a dog sat"), v.words("x y")]
        #expect(docs[0] == ["cat", "cat", "sat"])
        v.fit(docs, minDF: 1, maxDF: 1.0)
        #expect(v.terms == ["cat", "dog", "sat"])
        // idf(cat) = ln(4/2) + 1, idf(sat) = ln(4/3) + 1; tf(cat) = 1 + ln 2.
        let vector = v.vector(docs[0])
        let cat = (1 + logf(2)) * (logf(2) + 1), sat = logf(4.0 / 3) + 1
        let norm = (cat * cat + sat * sat).squareRoot()
        #expect(vector.ids == [0, 2])
        #expect(abs(vector.values[0] - cat / norm) < 1e-6 && abs(vector.values[1] - sat / norm) < 1e-6)
        var strict = TfIdf()
        strict.fit(docs, minDF: 2, maxDF: 1.0)
        #expect(strict.terms == ["sat"])
    }

    @Test("spherical k-means separates obvious groups, the same way for the same seed")
    func kmeans() {
        func doc(_ ids: [Int32]) -> DocVector {
            var v = DocVector(ids: ids, values: ids.map { _ in 1 })
            v.normalize()
            return v
        }
        var docs: [DocVector] = []
        for i in 0..<30 {
            let extra = Int32(6 + i % 2)
            let ids: [Int32] = i % 3 == 0 ? [0, 1, extra] : (i % 3 == 1 ? [2, 3, extra] : [4, 5])
            docs.append(doc(ids))
        }
        var km = SphericalKMeans(k: 3)
        km.seed = 7
        let a = km.fit(docs, dimensions: 8), b = km.fit(docs, dimensions: 8)
        #expect(a.assignments == b.assignments)
        for i in 0..<30 { #expect(a.assignments[i] == a.assignments[i % 3]) }
        #expect(Set(a.assignments).count == 3)
        var distance: [Float] = []
        for i in 0..<30 {
            for j in 0..<30 {
                var similarity: Float = 0
                for (k, id) in docs[i].ids.enumerated() {
                    if let m = docs[j].ids.firstIndex(of: id) { similarity += docs[i].values[k] * docs[j].values[m] }
                }
                distance.append(max(0, 1 - similarity))
            }
        }
        #expect(ClusterJob.silhouette(distance, a.assignments, 30, 3) > 0.5)
        // The same documents as dense vectors: the same grouping, and each vector's nearest centroid found with
        // four centroids at a time agrees with one at a time.
        let dense = docs.map { v in
            var row = [Float](repeating: 0, count: 8)
            row.withUnsafeMutableBufferPointer { v.add(into: $0.baseAddress!) }
            return DocVector(dense: row)
        }
        let c = km.fit(dense, dimensions: 8)
        for i in 0..<30 { #expect(c.assignments[i] == c.assignments[i % 3]) }
        var rng = SplitMix64(seed: 3)
        let centroids = (0..<(9 * 8)).map { _ in Float.random(in: -1..<1, using: &rng) }
        centroids.withUnsafeBufferPointer { p in
            for v in dense {
                let (best, similarity) = v.nearest(p.baseAddress!, 9, 8)
                let sims = (0..<9).map { v.dot(p.baseAddress! + $0 * 8) }
                #expect(best == sims.indices.max { sims[$0] < sims[$1] }!)
                #expect(abs(similarity - sims[best]) < 1e-5)
            }
        }
    }

    @Test("Jacobi eigenvectors: A v = λ v, orthonormal, in decreasing order")
    func eigen() {
        let (values2, vectors2) = symmetricEigen([2, 1, 1, 2], 2)
        #expect(abs(values2[0] - 3) < 1e-12 && abs(values2[1] - 1) < 1e-12)
        #expect(abs(abs(vectors2[0]) - 0.5.squareRoot()) < 1e-12 && abs(vectors2[0] - vectors2[2]) < 1e-12)
        let n = 12
        var rng = SplitMix64(seed: 11)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { a[i * n + j] = Double.random(in: -1..<1, using: &rng); a[j * n + i] = a[i * n + j] } }
        let (values, vectors) = symmetricEigen(a, n)
        #expect(values == values.sorted(by: >))
        for c in 0..<n {
            for r in 0..<n {
                let av = (0..<n).reduce(0.0) { $0 + a[r * n + $1] * vectors[$1 * n + c] }
                #expect(abs(av - values[c] * vectors[r * n + c]) < 1e-9)
            }
            for c2 in 0..<n {
                let product = (0..<n).reduce(0.0) { $0 + vectors[$1 * n + c] * vectors[$1 * n + c2] }
                #expect(abs(product - (c == c2 ? 1 : 0)) < 1e-9)
            }
        }
    }

    @Test("latent semantics: the randomized SVD finds XᵀX's top eigenvectors, orthonormal, as an exact solver does")
    func latentSemantics() {
        let terms = 30, n = 60, d = 4
        var rng = SplitMix64(seed: 5)
        // Documents over three topics of ten terms each, with noise, so that the spectrum has a clear top.
        let docs: [DocVector] = (0..<n).map { i in
            let topic = Int32(i % 3) * 10
            let ids = Set((0..<4).map { _ in topic + Int32.random(in: 0..<10, using: &rng) } + [Int32.random(in: 0..<30, using: &rng)]).sorted()
            var v = DocVector(ids: ids, values: ids.map { _ in Float.random(in: 0.5..<1.5, using: &rng) })
            v.normalize()
            return v
        }
        var xtx = [Double](repeating: 0, count: terms * terms)
        for v in docs {
            for (a, i) in v.ids.enumerated() { for (b, j) in v.ids.enumerated() { xtx[Int(i) * terms + Int(j)] += Double(v.values[a] * v.values[b]) } }
        }
        let exact = symmetricEigen(xtx, terms).values
        // |X c_j|² is the j-th eigenvalue when c_j is the j-th unit eigenvector: within 2% after the default two
        // power steps (eigenvalues 4 and 5 differ by 1% here), within 0.1% of the largest after eight.
        for (iterations, tolerance) in [(2, 0.02), (8, 0.001)] {
            let lsa = LatentSemantics.fit(docs, terms: terms, dimensions: d, iterations: iterations, seed: 1, threads: 2)
            #expect(lsa.dimensions == d && lsa.components.count == terms * d)
            for j in 0..<d {
                let c = (0..<terms).map { lsa.components[$0 * d + j] }
                let energy = docs.reduce(0.0) { sum, v in
                    let x = zip(v.ids, v.values).reduce(Float(0)) { $0 + $1.1 * c[Int($1.0)] }
                    return sum + Double(x * x)
                }
                #expect(abs(energy - exact[j]) < tolerance * exact[iterations == 2 ? j : 0], "direction \(j): \(energy) against \(exact[j])")
                for j2 in 0..<d {
                    let product = (0..<terms).reduce(Float(0)) { $0 + c[$1] * lsa.components[$1 * d + j2] }
                    #expect(abs(product - (j == j2 ? 1 : 0)) < 1e-4)
                }
            }
        }
        let lsa = LatentSemantics.fit(docs, terms: terms, dimensions: d, seed: 1, threads: 2)
        // Projections are unit vectors; documents of one topic land close together.
        let p = docs.map(lsa.project)
        #expect(p.allSatisfy { abs($0.values.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4 && $0.ids.isEmpty })
        func cosine(_ a: DocVector, _ b: DocVector) -> Float { zip(a.values, b.values).reduce(0) { $0 + $1.0 * $1.1 } }
        let within = (0..<19).map { cosine(p[3 * $0], p[3 * $0 + 3]) }.reduce(0, +) / 19
        let across = (0..<19).map { cosine(p[3 * $0], p[3 * $0 + 1]) }.reduce(0, +) / 19
        #expect(within > 0.8 && across < 0.3, "within \(within), across \(across)")
        // Asking for more directions than documents or terms gives what there is.
        #expect(LatentSemantics.fit(Array(docs.prefix(3)), terms: terms, dimensions: 10, seed: 1, threads: 1).dimensions == 3)
    }
}

#if canImport(Glibc)
import Glibc
#endif
