import Testing
@testable import FXCore

@Suite struct SpanCorruptionTests {
    @Test("noise and span counts follow T5's arithmetic", arguments: [
        (11, 0.15, 3.0, 2, 1), (100, 0.15, 3.0, 15, 5), (2, 0.5, 3.0, 1, 1), (10, 0.9, 1.0, 9, 2), (40, 0.15, 1.0, 6, 6),
    ])
    func counts(n: Int, rate: Double, mean: Double, noise: Int, spans: Int) throws {
        let c = try #require(SpanCorruption.counts(tokens: n, rate: rate, meanSpan: mean))
        #expect(c.noise == noise && c.spans == spans)
    }

    @Test("layouts: spans in order, apart, inside the text, covering exactly the noise tokens")
    func layouts() throws {
        var rng = SplitMix64(seed: 9)
        for n in [2, 3, 5, 11, 50, 400] {
            for _ in 0..<200 {
                let spans = SpanCorruption.layout(tokens: n, rate: 0.3, meanSpan: 3, using: &rng)
                let c = try #require(SpanCorruption.counts(tokens: n, rate: 0.3, meanSpan: 3))
                #expect(spans.count == c.spans)
                #expect(spans.reduce(0) { $0 + $1.length } == c.noise)
                var end = -1
                for s in spans {
                    #expect(s.length >= 1 && s.start > end && s.start + s.length <= n)
                    end = s.start + s.length
                }
            }
        }
    }

    @Test("compositions sum to the total and respect the minimum")
    func compositions() {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<500 {
            let parts = SpanCorruption.randomComposition(20, parts: 4, minimum: 1, using: &rng)
            #expect(parts.count == 4 && parts.reduce(0, +) == 20 && parts.allSatisfy { $0 >= 1 })
        }
        #expect(SpanCorruption.randomComposition(0, parts: 3, minimum: 0, using: &rng) == [0, 0, 0])
    }

    @Test("every span start is reachable, the first and last tokens too")
    func coverage() {
        var rng = SplitMix64(seed: 3)
        var first = false, last = false
        for _ in 0..<2000 {
            let spans = SpanCorruption.layout(tokens: 10, rate: 0.2, meanSpan: 2, using: &rng)
            if spans.first!.start == 0 { first = true }
            if spans.last!.start + spans.last!.length == 10 { last = true }
        }
        #expect(first && last)
    }
}
