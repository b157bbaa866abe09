@testable import FXCore
import Testing

/// Expected scores computed once with sacreBLEU 2.6.0 (`sacrebleu.corpus_bleu(hyps, [refs])`, `corpus_chrf`),
/// its defaults: 13a tokenisation, exponential smoothing; character 6-grams, beta 2.
@Suite struct TextMetricsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var hypotheses: [String], references: [String], bleu: Double, chrF: Double, ratio: Double
        var testDescription: String { hypotheses.first ?? "empty" }
    }

    static let cases: [Case] = [
        Case(hypotheses: ["the cat sat on the mat"], references: ["the cat sat on the mat"], bleu: 100, chrF: 100, ratio: 1),
        Case(hypotheses: ["the cat is on the mat"], references: ["there is a cat on the mat"], bleu: 29.059254, chrF: 47.892408, ratio: 0.857143),
        Case(hypotheses: ["Hello, world! It costs $3.50 (or 3,000-4,000 yen).", #"a.. b,c 10-20 x-y "quoted" &amp; &lt;tag&gt;"#],
             references: ["Hello world, it costs $3.50 (or 3,000 - 4,000 yen).", "a. b, c 10 - 20 x-y 'quoted' & <tag>"],
             bleu: 64.066449, chrF: 70.410842, ratio: 1.137931),
        Case(hypotheses: ["Le chat est sur le tapis.", "Un éditeur de texte pour la console", "court"],
             references: ["Le chat est assis sur le tapis.", "Éditeur de texte pour la console", "un texte bien plus long que la prédiction"],
             bleu: 38.011297, chrF: 54.220231, ratio: 0.681818),
        Case(hypotheses: ["", "x"], references: ["a b c", "y"], bleu: 0, chrF: 0, ratio: 0.25),
    ]

    @Test("corpus BLEU, chrF and length ratio equal sacreBLEU's", arguments: cases)
    func sacreBLEU(_ c: Case) {
        var m = TextMetrics()
        for (h, r) in zip(c.hypotheses, c.references) { m.add(hypothesis: h, reference: r) }
        #expect(abs(m.bleu - c.bleu) < 1e-4, "BLEU \(m.bleu)")
        #expect(abs(m.chrF - c.chrF) < 1e-4, "chrF \(m.chrF)")
        #expect(abs(m.lengthRatio - c.ratio) < 1e-5)
    }

    @Test("13a tokenisation as sacreBLEU's, and a BLEU worked by hand")
    func tokens() {
        #expect(TextMetrics.tokenize13a("Hello, world! It costs $3.50 (or 3,000-4,000 yen).").joined(separator: " ")
                == "Hello , world ! It costs $ 3.50 ( or 3,000 - 4,000 yen ) .")
        #expect(TextMetrics.tokenize13a(#"a.. b,c 10-20 x-y "quoted" &amp; &lt;tag&gt;"#).joined(separator: " ")
                == #"a . . b , c 10 - 20 x-y " quoted " & < tag >"#)
        #expect(TextMetrics.tokenize13a(#"e.g. U.S.A., 1.5,2 {x}|~`^_[y]\/z"#).joined(separator: " ")
                == #"e . g . U . S . A . , 1.5,2 { x } | ~ ` ^ _ [ y ] \ / z"#)
        // "a b c d" against "a b c e": precisions 3/4, 2/3, 1/2, and no 4-gram match: exp smoothing gives the
        // 4-gram precision 1/(2 x 1); no brevity penalty. BLEU = 100 x (3/4 x 2/3 x 1/2 x 1/2)^(1/4).
        var m = TextMetrics()
        m.add(hypothesis: "a b c d", reference: "a b c e")
        #expect(abs(m.bleu - 100 * (0.75 * (2.0 / 3) * 0.5 * 0.5).squareRoot().squareRoot()) < 1e-9)
        #expect(m.exactMatches == 0 && m.records == 1)
    }
}
