import Testing
@testable import FXCore

@Suite struct HTMLReportTests {
    @Test("seriation puts labels that are confused with each other side by side")
    func seriation() {
        // a<->d and b<->e are confused; c is never confused.
        let matrix: [String: [String: Int]] = [
            "a": ["a": 8, "d": 4], "b": ["b": 9, "e": 3], "c": ["c": 10],
            "d": ["d": 7, "a": 5], "e": ["e": 6, "b": 2],
        ]
        let order = HTMLReport(title: "t").seriate(["a", "b", "c", "d", "e"], matrix)
        #expect(Set(order) == ["a", "b", "c", "d", "e"] && order.count == 5)
        func adjacent(_ x: String, _ y: String) -> Bool { abs(order.firstIndex(of: x)! - order.firstIndex(of: y)!) == 1 }
        #expect(adjacent("a", "d") && adjacent("b", "e"), "\(order)")
        #expect(order.last == "c", "a label never confused goes last: \(order)")
    }

    @Test("a classification page: one cell per label pair, one bar per label and series, escaped text")
    func classificationPage() {
        var m = ClassificationMetrics(k: 1)
        m.examplesPerConfusion = 2
        let data: [(String, String, String)] = [("x", "x", "1"), ("x", "y", "2 <b>"), ("y", "y", "3"), ("z", "x", "4 & 5"), ("x", "y", "6"), ("x", "y", "7")]
        for (g, p, input) in data { m.add(gold: [g], predicted: [p], ranked: [p], known: { _ in true }, input: input) }
        var page = HTMLReport(title: "a <model>")
        page.addClassification(m)
        let html = page.html
        func count(_ s: String) -> Int { html.components(separatedBy: s).count - 1 }
        #expect(count("class=\"cell\"") == 9)
        #expect(count("bar bar-f1") == 3 && count("bar bar-precision") == 3)
        #expect(html.contains("a &lt;model&gt;") && html.contains("2 &lt;b&gt;") && html.contains("4 &amp; 5"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("x → y: 3 of 4 (75.0%)"), "a cell's title: count, row total, share")
        #expect(!html.contains("“7”"), "two examples per confusion")
    }

    @Test("the principal plane of points on a tilted line is that line")
    func principalPlane() {
        // Points along (3, 4)/5 with a little spread along (-4, 3)/5: the first axis is +-(0.6, 0.8).
        let docs = (0..<50).map { i -> DocVector in
            let t = Float(i) - 25, u = Float(i % 5) * 0.1
            return DocVector(dense: [0.6 * t - 0.8 * u + 10, 0.8 * t + 0.6 * u - 3])
        }
        let plane = PrincipalPlane(docs, dimensions: 2)
        #expect(abs(abs(plane.axes[0][0]) - 0.6) < 1e-3 && abs(abs(plane.axes[0][1]) - 0.8) < 1e-3, "\(plane.axes)")
        #expect(abs(plane.axes[0][0] * plane.axes[1][0] + plane.axes[0][1] * plane.axes[1][1]) < 1e-3, "orthogonal")
        let (x, _) = plane.project(docs[25])
        #expect(abs(x) < 0.5, "the middle point projects near the mean")
        // Sparse vectors give the same plane as their dense form.
        let sparse = docs.map { d in DocVector(ids: [0, 1], values: d.values) }
        #expect(PrincipalPlane(sparse, dimensions: 2).axes.flatMap { $0.map(abs) }.elementsEqual(plane.axes.flatMap { $0.map(abs) }, by: { abs($0 - $1) < 1e-4 }))
    }

    @Test("palettes: viridis ends, eight categorical colours")
    func palettes() {
        #expect(Palette.sequential(0) == "#440154" && Palette.sequential(1) == "#fde725")
        #expect(Set(Palette.categories).count == 8 && Palette.category(8) == Palette.category(0))
        #expect(SVG.ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
    }
}
