/// Counts for scoring predictions against reference labels, and the report fx-eval prints.
public struct ClassificationMetrics {
    public let k: Int
    public private(set) var records = 0
    public private(set) var correct = 0
    public private(set) var topKCorrect = 0
    public private(set) var unknownTargets = 0
    private var precisionAtK = 0.0
    private var recallAtK = 0.0
    private var truePositives: [String: Int] = [:]
    private var falsePositives: [String: Int] = [:]
    private var falseNegatives: [String: Int] = [:]
    private var support: [String: Int] = [:]
    /// Records with one reference label: reference -> best prediction -> count (the confusion matrix).
    public private(set) var matrix: [String: [String: Int]] = [:]
    /// Kept for each confusion (reference, prediction): the first `examplesPerConfusion` inputs.
    public var examplesPerConfusion = 0
    public private(set) var examples: [Confusion: [String]] = [:]

    public struct Confusion: Hashable {
        public let target: String, prediction: String
    }

    public init(k: Int) { self.k = k }

    /// Adds one record: its reference labels, the predicted set, and the ranked top labels.
    public mutating func add(gold: [String], predicted: Set<String>, ranked: [String], known: (String) -> Bool, input: String? = nil) {
        records += 1
        let goldSet = Set(gold)
        if let best = ranked.first, goldSet.contains(best) { correct += 1 }
        let top = ranked.prefix(k)
        let hits = top.filter(goldSet.contains).count
        if hits > 0 { topKCorrect += 1 }
        precisionAtK += Double(hits) / Double(k)
        recallAtK += goldSet.isEmpty ? 0 : Double(hits) / Double(goldSet.count)
        for label in goldSet {
            support[label, default: 0] += 1
            if !known(label) { unknownTargets += 1 }
            if predicted.contains(label) { truePositives[label, default: 0] += 1 } else { falseNegatives[label, default: 0] += 1 }
        }
        for label in predicted where !goldSet.contains(label) { falsePositives[label, default: 0] += 1 }
        if goldSet.count == 1, let g = goldSet.first, let p = ranked.first {
            matrix[g, default: [:]][p, default: 0] += 1
            if p != g, examplesPerConfusion > 0, let input {
                let key = Confusion(target: g, prediction: p)
                if examples[key, default: []].count < examplesPerConfusion { examples[key, default: []].append(input) }
            }
        }
    }

    /// The most frequent confusions, most first (ties by name).
    public func topConfusions(_ n: Int) -> [(confusion: Confusion, count: Int)] {
        matrix.flatMap { g, row in row.filter { $0.key != g }.map { (Confusion(target: g, prediction: $0.key), $0.value) } }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : ($0.0.target, $0.0.prediction) < ($1.0.target, $1.0.prediction) }
            .prefix(n).map { (confusion: $0.0, count: $0.1) }
    }

    /// Precision, recall, F1 and support of one label.
    public struct LabelScores {
        public let label: String
        public let precision, recall, f1: Double
        public let support: Int
    }

    /// Every label seen (as a reference or a prediction), by name.
    public var labelScores: [LabelScores] {
        Set(support.keys).union(falsePositives.keys).sorted().map { label in
            let t = truePositives[label] ?? 0, p = falsePositives[label] ?? 0, n = falseNegatives[label] ?? 0
            let precision = Self.ratio(t, t + p), recall = Self.ratio(t, t + n)
            return LabelScores(label: label, precision: precision, recall: recall, f1: Self.f1(precision, recall), support: support[label] ?? 0)
        }
    }

    private static func f1(_ p: Double, _ r: Double) -> Double { p + r == 0 ? 0 : 2 * p * r / (p + r) }

    private static func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

    public var accuracy: Double { Self.ratio(correct, records) }

    /// The mean F1 over the labels.
    public var macroF1: Double {
        let scores = labelScores
        return scores.isEmpty ? 0 : scores.reduce(0) { $0 + $1.f1 } / Double(scores.count)
    }

    /// The report: one JSON object.
    public var report: JSONValue {
        let scores = labelScores
        var perLabel: [JSONMember] = []
        for l in scores {
            perLabel.append(JSONMember(l.label, .object([
                JSONMember("precision", JSONValue(rounded(l.precision))), JSONMember("recall", JSONValue(rounded(l.recall))),
                JSONMember("f1", JSONValue(rounded(l.f1))), JSONMember("support", JSONValue(l.support)),
            ])))
        }
        let m = Double(max(scores.count, 1))
        let (macroP, macroR, macroF) = (scores.reduce(0) { $0 + $1.precision }, scores.reduce(0) { $0 + $1.recall }, scores.reduce(0) { $0 + $1.f1 })
        let tp = truePositives.values.reduce(0, +), fp = falsePositives.values.reduce(0, +), fn = falseNegatives.values.reduce(0, +)
        let microP = Self.ratio(tp, tp + fp), microR = Self.ratio(tp, tp + fn)
        let top = topConfusions(10).map { entry -> JSONValue in
            .object([JSONMember("target", .string(entry.confusion.target)), JSONMember("prediction", .string(entry.confusion.prediction)),
                     JSONMember("count", JSONValue(entry.count))])
        }
        return .object([
            JSONMember("records", JSONValue(records)),
            JSONMember("accuracy", JSONValue(rounded(Self.ratio(correct, records)))),
            JSONMember("top_k_accuracy", JSONValue(rounded(Self.ratio(topKCorrect, records)))),
            JSONMember("k", JSONValue(k)),
            JSONMember("precision_at_k", JSONValue(rounded(records == 0 ? 0 : precisionAtK / Double(records)))),
            JSONMember("recall_at_k", JSONValue(rounded(records == 0 ? 0 : recallAtK / Double(records)))),
            JSONMember("micro", .object([JSONMember("precision", JSONValue(rounded(microP))), JSONMember("recall", JSONValue(rounded(microR))),
                                         JSONMember("f1", JSONValue(rounded(Self.f1(microP, microR))))])),
            JSONMember("macro", .object([JSONMember("precision", JSONValue(rounded(macroP / m))), JSONMember("recall", JSONValue(rounded(macroR / m))),
                                         JSONMember("f1", JSONValue(rounded(macroF / m)))])),
            JSONMember("unknown_targets", JSONValue(unknownTargets)),
            JSONMember("labels", .object(perLabel)),
            JSONMember("confusions", .array(top)),
        ])
    }
}

/// Six significant decimals, so reports are stable and readable.
func rounded(_ x: Double) -> Double { (x * 1_000_000).rounded() / 1_000_000 }

/// A report as a plain-text table for people: the summary figures, then one line per label.
public func reportTable(_ report: JSONValue) -> String {
    guard case .object(let members) = report else { return report.jsonText }
    var lines: [String] = []
    var labelLines: [String] = []
    func text(_ v: JSONValue) -> String {
        if case .number(let n) = v { return n }
        return v.jsonText
    }
    for m in members {
        switch m.value {
        case .object(let inner) where m.key == "labels":
            labelLines.append(pad("label", 28) + pad("precision", 11, left: false) + pad("recall", 9, left: false) + pad("f1", 9, left: false) + pad("support", 9, left: false))
            for l in inner {
                let v = l.value
                labelLines.append(pad(l.key, 28) + [("precision", 11), ("recall", 9), ("f1", 9), ("support", 9)].map { pad(text(v[$0.0] ?? .null), $0.1, left: false) }.joined())
            }
        case .object(let inner):
            lines.append(pad(m.key, 28) + inner.map { "\($0.key) \(text($0.value))" }.joined(separator: "  "))
        case .array(let items) where m.key == "confusions":
            for item in items {
                lines.append(pad("confusion", 28) + "\(item["target"]?.stringValue ?? "") -> \(item["prediction"]?.stringValue ?? ""): \(text(item["count"] ?? .null))")
            }
        default:
            lines.append(pad(m.key, 28) + text(m.value))
        }
    }
    return (lines + [""] + labelLines).joined(separator: "\n") + "\n"
}

func pad(_ s: String, _ n: Int, left: Bool = true) -> String {
    let fill = String(repeating: " ", count: max(0, n - s.count))
    return left ? s + fill : fill + s
}
