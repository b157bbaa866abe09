/// Scores a grouping against reference classes with scikit-learn's definitions: normalized mutual information
/// (arithmetic mean of the entropies), adjusted Rand index, homogeneity, completeness, V-measure, purity.
public struct ClusterMetrics {
    /// cluster -> reference class -> count.
    public private(set) var table: [String: [String: Int]] = [:]
    public private(set) var records = 0

    public init() {}

    public mutating func add(cluster: String, reference: String) {
        table[cluster, default: [:]][reference, default: 0] += 1
        records += 1
    }

    public var report: JSONValue {
        let n = Double(records)
        var clusterSizes: [Double] = [], classSizes: [String: Double] = [:]
        for (_, row) in table {
            clusterSizes.append(Double(row.values.reduce(0, +)))
            for (c, v) in row { classSizes[c, default: 0] += Double(v) }
        }
        func entropy(_ sizes: [Double]) -> Double {
            sizes.reduce(0) { $0 - ($1 > 0 ? $1 / n * log($1 / n) : 0) }
        }
        let hClusters = entropy(clusterSizes), hClasses = entropy(Array(classSizes.values))
        var mi = 0.0, purityHits = 0.0, pairsTogether = 0.0
        for (_, row) in table {
            let a = Double(row.values.reduce(0, +))
            purityHits += Double(row.values.max() ?? 0)
            for (c, v) in row where v > 0 {
                let nij = Double(v)
                mi += nij / n * log(n * nij / (a * classSizes[c]!))
                pairsTogether += nij * (nij - 1) / 2
            }
        }
        mi = max(mi, 0)
        let homogeneity = hClasses == 0 ? 1 : mi / hClasses
        let completeness = hClusters == 0 ? 1 : mi / hClusters
        let vMeasure = homogeneity + completeness == 0 ? 0 : 2 * homogeneity * completeness / (homogeneity + completeness)
        let nmi: Double
        if hClasses == 0 && hClusters == 0 { nmi = 1 } else { nmi = mi / max((hClasses + hClusters) / 2, 1e-15) }
        let pairs = n * (n - 1) / 2
        let sumClusters = clusterSizes.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
        let sumClasses = classSizes.values.reduce(0) { $0 + $1 * ($1 - 1) / 2 }
        let expected = pairs == 0 ? 0 : sumClusters * sumClasses / pairs
        let maxIndex = (sumClusters + sumClasses) / 2
        let ari = maxIndex == expected ? 1 : (pairsTogether - expected) / (maxIndex - expected)
        return .object([
            JSONMember("records", JSONValue(records)),
            JSONMember("clusters", JSONValue(table.count)),
            JSONMember("classes", JSONValue(classSizes.count)),
            JSONMember("nmi", JSONValue(rounded(nmi))),
            JSONMember("ari", JSONValue(rounded(ari))),
            JSONMember("homogeneity", JSONValue(rounded(homogeneity))),
            JSONMember("completeness", JSONValue(rounded(completeness))),
            JSONMember("v_measure", JSONValue(rounded(vMeasure))),
            JSONMember("purity", JSONValue(rounded(n == 0 ? 0 : purityHits / n))),
        ])
    }
}

#if canImport(Glibc)
import Glibc
#endif
