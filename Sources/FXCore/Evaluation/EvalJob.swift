/// fx-eval: score a model on labeled pairs, or annotate records with its predictions.
public struct EvalJob {
    public var modelPath = "model.fxm"
    public var k = 1
    /// Labels scoring at least this are predicted (multi-label); nil: the best label only (0.5 for a model
    /// trained on multi-label targets).
    public var threshold: Double?
    public var predict = false
    /// Score the `cluster` field against the target field instead of a model.
    public var clusters = false
    public var table = false
    public var inputField = "input"
    public var targetField = "target"

    public init() {}

    public func run(_ tool: ToolRun, files: [String]) throws {
        try tool.run {
            if clusters {
                try scoreClusters(tool, files: files)
                return
            }
            let model = try TextModel.load(modelPath)
            let threshold = self.threshold ?? (model.multiLabel ? 0.5 : nil)
            let k = max(self.k, 1)
            var metrics = ClassificationMetrics(k: k)
            var scratch: [UInt8] = []
            try tool.inputs.forEachRecord(files) { record, _ in
                guard let i = record.index(of: inputField) else { throw FXError.data("no field '\(inputField)'") }
                guard let text = record.withStringBytes(at: i, scratch: &scratch, { String(decoding: $0, as: UTF8.self) }) else {
                    throw FXError.data("field '\(inputField)' is \(record.value(at: i).typeName), not a string")
                }
                let want = max(k, threshold == nil ? 1 : model.labels.count)
                let ranked = model.predict(features: model.features(of: text), k: want)
                if predict {
                    var out = record
                    if let best = ranked.first {
                        out.set("prediction", .string(model.labels[best.label]))
                        out.set("score", JSONValue(Double(rounded(Double(best.score)))))
                    }
                    if k > 1 {
                        out.set("top", .array(ranked.prefix(k).map {
                            .object([JSONMember("label", .string(model.labels[$0.label])), JSONMember("score", JSONValue(rounded(Double($0.score))))])
                        }))
                    }
                    try tool.output.write(out)
                    return
                }
                guard let t = record.index(of: targetField) else { throw FXError.data("no field '\(targetField)' to score against (--predict annotates records without one)") }
                let gold: [String]
                switch record.value(at: t) {
                case .string(let s): gold = [s]
                case .number(let n): gold = [n]
                case .array(let items): gold = items.compactMap(\.stringValue)
                case let other: throw FXError.data("field '\(targetField)' is \(other.typeName), not a string or an array of strings")
                }
                let names = ranked.map { model.labels[$0.label] }
                var predicted: Set<String>
                if let threshold {
                    predicted = Set(ranked.filter { Double($0.score) >= threshold }.map { model.labels[$0.label] })
                } else {
                    predicted = names.first.map { [$0] } ?? []
                }
                if predicted.isEmpty, let first = names.first, !model.multiLabel { predicted = [first] }
                metrics.add(gold: gold, predicted: predicted, ranked: names, known: { model.labelIndex[$0] != nil })
            }
            if !predict { try writeReport(metrics.report, tool.output) }
        }
    }

    private func scoreClusters(_ tool: ToolRun, files: [String]) throws {
        var metrics = ClusterMetrics()
        try tool.inputs.forEachRecord(files) { record, _ in
            guard let c = record.index(of: "cluster") else { throw FXError.data("no field 'cluster' (fx-cluster writes it)") }
            guard let t = record.index(of: targetField) else { throw FXError.data("no field '\(targetField)' to compare the clusters with") }
            func label(_ v: JSONValue) -> String { v.stringValue ?? v.jsonText }
            metrics.add(cluster: label(record.value(at: c)), reference: label(record.value(at: t)))
        }
        try writeReport(metrics.report, tool.output)
    }

    /// One JSON object, or with `--format table` lines for people.
    private func writeReport(_ report: JSONValue, _ out: Output) throws {
        if table {
            try out.write(reportTable(report))
        } else {
            try out.append { report.encode(into: &$0); $0.append(0x0A) }
        }
    }
}
