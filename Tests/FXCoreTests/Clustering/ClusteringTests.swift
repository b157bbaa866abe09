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
        func doc(_ ids: [Int32]) -> SparseVector {
            var v = SparseVector(ids: ids, values: ids.map { _ in 1 })
            v.normalize()
            return v
        }
        var docs: [SparseVector] = []
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
    }
}

#if canImport(Glibc)
import Glibc
#endif
