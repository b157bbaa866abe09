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
    private var confusions: [String: Int] = [:]

    public init(k: Int) { self.k = k }

    /// Adds one record: its reference labels, the predicted set, and the ranked top labels.
    public mutating func add(gold: [String], predicted: Set<String>, ranked: [String], known: (String) -> Bool) {
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
        if goldSet.count == 1, let g = goldSet.first, let p = ranked.first, p != g {
            confusions[g + "\u{0}" + p, default: 0] += 1
        }
    }

    private static func f1(_ p: Double, _ r: Double) -> Double { p + r == 0 ? 0 : 2 * p * r / (p + r) }

    private static func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

    /// The report: one JSON object.
    public var report: JSONValue {
        let labels = Set(support.keys).union(falsePositives.keys).sorted()
        var perLabel: [JSONMember] = []
        var macroP = 0.0, macroR = 0.0, macroF = 0.0
        var tp = 0, fp = 0, fn = 0
        for label in labels {
            let t = truePositives[label] ?? 0, p = falsePositives[label] ?? 0, n = falseNegatives[label] ?? 0
            tp += t; fp += p; fn += n
            let precision = Self.ratio(t, t + p), recall = Self.ratio(t, t + n), f = Self.f1(precision, recall)
            macroP += precision; macroR += recall; macroF += f
            perLabel.append(JSONMember(label, .object([
                JSONMember("precision", JSONValue(rounded(precision))), JSONMember("recall", JSONValue(rounded(recall))),
                JSONMember("f1", JSONValue(rounded(f))), JSONMember("support", JSONValue(support[label] ?? 0)),
            ])))
        }
        let m = Double(max(labels.count, 1))
        let microP = Self.ratio(tp, tp + fp), microR = Self.ratio(tp, tp + fn)
        let top = confusions.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10).map { entry -> JSONValue in
            let parts = entry.key.split(separator: "\u{0}", omittingEmptySubsequences: false)
            return .object([JSONMember("target", .string(String(parts[0]))), JSONMember("prediction", .string(String(parts[1]))),
                            JSONMember("count", JSONValue(entry.value))])
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
