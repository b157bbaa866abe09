import Testing
@testable import FXCore

@Suite struct ClusterMetricsTests {
    func metrics(_ reference: [String], _ clusters: [String]) -> JSONValue {
        var m = ClusterMetrics()
        for (r, c) in zip(reference, clusters) { m.add(cluster: c, reference: r) }
        return m.report
    }

    /// Worked by hand (and equal to scikit-learn 1.9.1's functions): classes 0 0 1 1 2 2, clusters 0 0 1 2 2 2.
    /// H(classes) = ln 3, H(clusters) = 1.011404, MI = (1/3 + 1/6) ln 3 + 1/3 ln 2 = 0.780355.
    /// ARI: sum C(nij,2) = 2, clusters 4, classes 3, C(6,2) = 15: (2 - 0.8) / (3.5 - 0.8) = 4/9.
    @Test("a hand-computed case")
    func handComputed() {
        let r = metrics(["0", "0", "1", "1", "2", "2"], ["0", "0", "1", "2", "2", "2"])
        #expect(r["nmi"]?.doubleValue == 0.739667)
        #expect(r["ari"]?.doubleValue == 0.444444)
        #expect(r["homogeneity"]?.doubleValue == 0.71031)
        #expect(r["completeness"]?.doubleValue == 0.771556)
        #expect(r["v_measure"]?.doubleValue == 0.739667)
        #expect(r["purity"]?.doubleValue == 0.833333)
        #expect(r["clusters"] == JSONValue(3) && r["classes"] == JSONValue(3) && r["records"] == JSONValue(6))
    }

    @Test("one cluster for everything: nothing explained; identical groupings: everything")
    func extremes() {
        let one = metrics(["a", "a", "a", "b"], ["1", "1", "1", "1"])
        #expect(one["nmi"]?.doubleValue == 0 && one["ari"]?.doubleValue == 0)
        #expect(one["homogeneity"]?.doubleValue == 0 && one["completeness"]?.doubleValue == 1)
        let same = metrics(["a", "a", "b", "c"], ["x", "x", "y", "z"])
        #expect(same["nmi"]?.doubleValue == 1 && same["ari"]?.doubleValue == 1 && same["purity"]?.doubleValue == 1)
    }
}
