import Testing
@testable import FXCore

@Suite struct MetricsTests {
    /// Hand-computed: gold a a b c, predicted a b b a.
    /// a: tp 1, fp 1, fn 1 -> p 1/2 r 1/2; b: tp 1, fp 1, fn 0 -> p 1/2 r 1; c: tp 0, fp 0, fn 1 -> p 0 r 0.
    /// micro p = r = 2/4; macro p = (0.5 + 0.5 + 0) / 3, macro r = (0.5 + 1 + 0) / 3.
    @Test("single-label precision, recall, F1, micro and macro, confusions")
    func singleLabel() throws {
        var m = ClassificationMetrics(k: 2)
        let cases: [(String, [String])] = [("a", ["a", "b"]), ("a", ["b", "a"]), ("b", ["b", "c"]), ("c", ["a", "c"])]
        for (gold, ranked) in cases { m.add(gold: [gold], predicted: [ranked[0]], ranked: ranked, known: { _ in true }) }
        let r = m.report
        #expect(r["records"] == JSONValue(4))
        #expect(r["accuracy"]?.doubleValue == 0.5)
        #expect(r["top_k_accuracy"]?.doubleValue == 1)
        #expect(r["precision_at_k"]?.doubleValue == 0.5)
        #expect(r["recall_at_k"]?.doubleValue == 1)
        #expect(r["micro"]?["precision"]?.doubleValue == 0.5)
        #expect(r["micro"]?["f1"]?.doubleValue == 0.5)
        #expect(r["macro"]?["precision"]?.doubleValue == rounded(1.0 / 3))
        #expect(r["macro"]?["recall"]?.doubleValue == 0.5)
        #expect(r["macro"]?["f1"]?.doubleValue == rounded((0.5 + 2.0 / 3 + 0) / 3))
        #expect(r["labels"]?["b"]?["recall"]?.doubleValue == 1)
        #expect(r["labels"]?["c"]?["support"] == JSONValue(1))
        let confusions = try #require(r["confusions"])
        #expect(confusions == .array([
            .object([JSONMember("target", .string("a")), JSONMember("prediction", .string("b")), JSONMember("count", JSONValue(1))]),
            .object([JSONMember("target", .string("c")), JSONMember("prediction", .string("a")), JSONMember("count", JSONValue(1))]),
        ]))
    }

    @Test("multi-label sets: tp, fp and fn per label")
    func multiLabel() {
        var m = ClassificationMetrics(k: 1)
        m.add(gold: ["x", "y"], predicted: ["x", "z"], ranked: ["x", "z", "y"], known: { $0 != "y" })
        let r = m.report
        #expect(r["micro"]?["precision"]?.doubleValue == 0.5)   // x right, z wrong
        #expect(r["micro"]?["recall"]?.doubleValue == 0.5)      // x found, y missed
        #expect(r["recall_at_k"]?.doubleValue == 0.5)
        #expect(r["unknown_targets"] == JSONValue(1))
    }
}
