/// T5's span corruption (Raffel et al. 2019): about `rate` of the tokens, in spans of mean length `meanSpan`, are
/// each replaced by one sentinel in the input; the target lists each sentinel followed by the span it hides, and
/// a last sentinel closes it, as in the paper's example:
///
///     input:  Thank you <extra_id_0> me to your party <extra_id_1> week .
///     target: <extra_id_0> for inviting <extra_id_1> last <extra_id_2>
public enum SpanCorruption {
    /// A span: first token and length.
    public typealias Span = (start: Int, length: Int)

    /// How many tokens are noise and in how many spans, for `n` tokens: round(n × rate) tokens, at least 1 and at
    /// most n - 1, in round(noise / meanSpan) spans, at least 1 (T5's `random_spans_noise_mask` arithmetic).
    public static func counts(tokens n: Int, rate: Double, meanSpan: Double) -> (noise: Int, spans: Int)? {
        guard n >= 2 else { return nil }
        let noise = min(max(Int((Double(n) * rate).rounded()), 1), n - 1)
        var spans = max(Int((Double(noise) / meanSpan).rounded()), 1)
        spans = min(spans, noise, n - noise + 1)
        return (noise, spans)
    }

    /// Random spans: noise tokens cut into `spans` non-empty runs, the other tokens into the gaps around them
    /// (the gaps between spans non-empty, the ones before the first and after the last possibly empty).
    public static func layout<G: RandomNumberGenerator>(tokens n: Int, rate: Double, meanSpan: Double, using rng: inout G) -> [Span] {
        guard let (noise, spans) = counts(tokens: n, rate: rate, meanSpan: meanSpan) else { return [] }
        let noiseLengths = randomComposition(noise, parts: spans, minimum: 1, using: &rng)
        // Gaps: spans + 1 of them; the spans - 1 inner ones get one token first, the rest spread over all.
        var gaps = randomComposition(n - noise - (spans - 1), parts: spans + 1, minimum: 0, using: &rng)
        for k in 1..<spans { gaps[k] += 1 }
        var out: [Span] = []
        var at = gaps[0]
        for k in 0..<spans {
            out.append((at, noiseLengths[k]))
            at += noiseLengths[k] + gaps[k + 1]
        }
        return out
    }

    /// `total` split into `parts` numbers each at least `minimum`, uniformly over all such splits.
    static func randomComposition<G: RandomNumberGenerator>(_ total: Int, parts: Int, minimum: Int, using rng: inout G) -> [Int] {
        let free = total - parts * minimum
        // Stars and bars: choose parts - 1 bar positions among free + parts - 1 slots.
        let slots = free + parts - 1
        var bars = Array(0..<slots)
        for i in 0..<(parts - 1) {
            let j = i + Int.random(in: 0..<(slots - i), using: &rng)
            bars.swapAt(i, j)
        }
        let chosen = bars.prefix(parts - 1).sorted()
        var out: [Int] = []
        var previous = -1
        for bar in chosen {
            out.append(bar - previous - 1 + minimum)
            previous = bar
        }
        out.append(slots - previous - 1 + minimum)
        return out
    }

    public static func sentinel(_ k: Int) -> String { "<extra_id_\(k)>" }
}
