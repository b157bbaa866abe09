/// fx-eval --report FILE.html: one self-contained page, inline SVG and CSS, nothing fetched (readable offline,
/// printable). Sections are added by kind: classification, text to text, clusters, the training log.
public struct HTMLReport {
    public var title: String
    private var figures: [(name: String, value: String)] = []
    private var sections: [String] = []

    public init(title: String) { self.title = title }

    public var html: String {
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
        s += "<title>\(SVG.escape(title))</title><style>\(Self.style)</style></head><body>\n<h1>\(SVG.escape(title))</h1>\n"
        if !figures.isEmpty {
            s += "<div class=\"figures\">" + figures.map { "<div class=\"figure\"><div class=\"value\">\(SVG.escape($0.value))</div><div class=\"name\">\(SVG.escape($0.name))</div></div>" }.joined() + "</div>\n"
        }
        s += sections.joined(separator: "\n")
        return s + "\n<footer>Written by fx-eval --report.</footer></body></html>\n"
    }

    public func write(_ path: String) throws { try AtomicFile.write(path) { try $0.write(html) } }

    mutating func figure(_ name: String, _ value: String) { figures.append((name, value)) }

    mutating func section(_ heading: String, note: String = "", _ body: String) {
        sections.append("<section><h2>\(SVG.escape(heading))</h2>" + (note.isEmpty ? "" : "<p class=\"note\">\(SVG.escape(note))</p>") + body + "</section>")
    }

    static func percent(_ x: Double) -> String { String(format1: x * 100) + "%" }

    static func table(_ header: [String], _ rows: [[String]], classes: [String] = []) -> String {
        "<table><thead><tr>" + header.map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
            + rows.map { row in "<tr>" + row.enumerated().map { "<td\(classes.count > $0.offset && !classes[$0.offset].isEmpty ? " class=\"\(classes[$0.offset])\"" : "")>\(SVG.escape($0.element))</td>" }.joined() + "</tr>" }.joined()
            + "</tbody></table>"
    }

    static func excerpt(_ s: String, _ limit: Int = 220) -> String {
        let flat = s.split(whereSeparator: { $0 == "\n" || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
        return SVG.short(flat, limit)
    }

    private static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#222;margin:24px auto;max-width:1220px;padding:0 16px}
        h1{font-size:24px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
        .figures{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 4px}.figure{border:1px solid #ccc;border-radius:6px;padding:8px 16px;min-width:110px}
        .figure .value{font-size:26px;font-weight:600}.figure .name{font-size:12px;color:#555}
        .note{color:#555;font-size:13px;margin:4px 0 10px;max-width:900px}svg{display:block;max-width:100%;height:auto;font-family:inherit}
        table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border-bottom:1px solid #e2e2e2;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap}td.text{max-width:520px}footer{margin-top:32px;color:#777;font-size:12px}
        @media print{body{margin:0;max-width:none}section{break-inside:avoid}}
        """
}

// MARK: - Classification

extension HTMLReport {
    /// Accuracy and macro-F1, the confusion matrix with confused labels next to each other, per-label bars, and
    /// the most frequent confusions with example inputs.
    public mutating func addClassification(_ m: ClassificationMetrics) {
        figure("accuracy", Self.percent(m.accuracy))
        figure("macro F1", Self.percent(m.macroF1))
        figure("records", String(m.records))
        let scores = m.labelScores
        figure("labels", String(scores.count))
        let seen = Set(m.matrix.keys).union(m.matrix.values.flatMap(\.keys))
        let order = seriate(seen.sorted(), m.matrix)
        if !order.isEmpty {
            let counts = order.map { g in order.map { p in m.matrix[g]?[p] ?? 0 } }
            let totals = counts.map { $0.reduce(0, +) }
            let shade = counts.enumerated().map { i, row in row.map { totals[i] == 0 ? 0 : Double($0) / Double(totals[i]) } }
            let map = SVG.heatMap(rows: order, columns: order, counts: counts, shade: shade, rowAxis: "reference label", columnAxis: "predicted label",
                                  legend: "share of the reference label's records") { i, j in
                "\(order[i]) → \(order[j]): \(counts[i][j]) of \(totals[i]) (\(Self.percent(shade[i][j])))"
            }
            section("Confusion matrix", note: "Rows: the reference label; columns: the best prediction; colour: the share of the row's records (viridis). Labels that are confused with each other are placed next to each other (average-linkage clustering of the confusion rates); hover a cell for its count. Records with more than one reference label are left out.", map)
        }
        let bySupport = scores.sorted { $0.support != $1.support ? $0.support > $1.support : $0.label < $1.label }
        section("Precision, recall and F1 by label", note: "Labels by support (records whose reference it is), most first.",
                SVG.bars(rows: bySupport.map(\.label), series: [("precision", "precision", bySupport.map(\.precision)),
                                                                ("recall", "recall", bySupport.map(\.recall)), ("F1", "f1", bySupport.map(\.f1))],
                         notes: bySupport.map { "support \($0.support)" }))
        let top = m.topConfusions(10)
        if !top.isEmpty {
            let rows = top.map { entry in
                [entry.confusion.target, entry.confusion.prediction, String(entry.count),
                 (m.examples[entry.confusion] ?? []).map { "“" + Self.excerpt($0, 160) + "”" }.joined(separator: "\n")]
            }
            section("Most frequent confusions", Self.table(["reference", "predicted", "records", "example inputs"], rows, classes: ["", "", "num", "text"]))
        }
    }

    /// An order of the labels that puts labels confused with each other side by side: average-linkage
    /// agglomerative clustering on the symmetric confusion rate, each merge oriented so that the closest ends
    /// meet; labels never confused keep their order at the end.
    func seriate(_ labels: [String], _ matrix: [String: [String: Int]]) -> [String] {
        let n = labels.count
        guard n > 2 else { return labels }
        let totals = labels.map { g in Double(matrix[g]?.values.reduce(0, +) ?? 0) }
        var rate = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n where i != j {
                let a = totals[i] > 0 ? Double(matrix[labels[i]]?[labels[j]] ?? 0) / totals[i] : 0
                let b = totals[j] > 0 ? Double(matrix[labels[j]]?[labels[i]] ?? 0) / totals[j] : 0
                rate[i][j] += a + b
            }
        }
        var groups = (0..<n).map { [$0] }
        func link(_ a: [Int], _ b: [Int]) -> Double {
            var s = 0.0
            for i in a { for j in b { s += rate[i][j] } }
            return s / Double(a.count * b.count)
        }
        while groups.count > 1 {
            var best = (0, 1, 0.0)
            for a in 0..<groups.count {
                for b in (a + 1)..<groups.count {
                    let l = link(groups[a], groups[b])
                    if l > best.2 { best = (a, b, l) }
                }
            }
            guard best.2 > 0 else { break }
            let (a, b) = (groups[best.0], groups[best.1])
            let options = [a + b, a + b.reversed(), a.reversed() + b, a.reversed() + b.reversed()]
            let joined = options.max { rate[$0[a.count - 1]][$0[a.count]] < rate[$1[a.count - 1]][$1[a.count]] }!
            groups[best.0] = joined
            groups.remove(at: best.1)
        }
        // Confused groups first, largest first; then the labels never confused, by name.
        let ordered = groups.filter { $0.count > 1 }.sorted { $0.count > $1.count } + groups.filter { $0.count == 1 }
        return ordered.flatMap { $0 }.map { labels[$0] }
    }
}

// MARK: - Text to text

/// One scored output of a text-to-text model.
public struct TextExample {
    public let source: String?, reference: String, hypothesis: String
    public init(source: String?, reference: String, hypothesis: String) {
        (self.source, self.reference, self.hypothesis) = (source, reference, hypothesis)
    }
}

extension HTMLReport {
    /// BLEU, chrF, a histogram of each output's length over its reference's, and the best and worst outputs by chrF.
    public mutating func addText(_ m: TextMetrics, _ examples: [TextExample]) {
        figure("BLEU", String(format1: m.bleu))
        figure("chrF", String(format1: m.chrF))
        figure("length ratio", String(format1: m.lengthRatio * 100) + "%")
        figure("records", String(m.records))
        var bins = [Int](repeating: 0, count: 26)
        var scored: [(score: Double, example: TextExample)] = []
        for e in examples {
            let h = TextMetrics.tokenize13a(e.hypothesis).count, r = TextMetrics.tokenize13a(e.reference).count
            let ratio = r == 0 ? (h == 0 ? 1 : 2.5) : Double(h) / Double(r)
            bins[min(25, Int((ratio * 10).rounded(.down)))] += 1
            var one = TextMetrics()
            one.add(hypothesis: e.hypothesis, reference: e.reference)
            scored.append((one.chrF, e))
        }
        let names = (0..<26).map { $0 == 25 ? "≥ 2.5" : "\(String(format1: Double($0) / 10))–\(String(format1: Double($0 + 1) / 10))" }
        section("Output length over reference length", note: "Tokens (13a) of each output over those of its reference: 1 is the reference's length; a model that stops early piles up on the left.",
                SVG.histogram(counts: bins, names: names, xAxis: "length ratio"))
        // Each distinct (source, reference, output) once: test sets repeat sentences.
        var seen = Set<[String]>()
        let ranked = scored.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
            .map(\.element).filter { seen.insert([$0.example.source ?? "", $0.example.reference, $0.example.hypothesis]).inserted }
        func rows(_ part: ArraySlice<(score: Double, example: TextExample)>) -> [[String]] {
            part.map { [String(format1: $0.score), Self.excerpt($0.example.source ?? "—", 300), Self.excerpt($0.example.reference, 300), Self.excerpt($0.example.hypothesis, 300)] }
        }
        let header = ["chrF", "source", "reference", "prediction"], classes = ["num", "text", "text", "text"]
        section("Best outputs", note: "By sentence-level chrF.", Self.table(header, rows(ranked.prefix(5)), classes: classes))
        section("Worst outputs", Self.table(header, rows(ranked.suffix(5).reversed()[...]), classes: classes))
    }
}

// MARK: - Clusters

/// What fx-cluster --summary wrote about one cluster: its size, topic terms, and documents on the 2-D map.
public struct ClusterSummary {
    public let cluster: String, size: Int, terms: [String]
    public let points: [(x: Double, y: Double, record: Int)]

    /// The records of a summary file.
    public static func read(_ path: String) throws -> [ClusterSummary] {
        var out: [ClusterSummary] = []
        let inputs = InputReader(policy: ErrorPolicy(.fail, tool: "fx-eval"))
        try inputs.forEachRecord([path]) { record, place in
            guard let c = record["cluster"] else { throw FXError.data("no field 'cluster': not fx-cluster --summary's file", at: place) }
            guard case .array(let map)? = record["map"] else { throw FXError.data("no field 'map': not fx-cluster --summary's file", at: place) }
            let points = map.compactMap { p -> (x: Double, y: Double, record: Int)? in
                guard case .array(let v) = p, v.count == 3, let x = v[0].doubleValue, let y = v[1].doubleValue, let r = v[2].doubleValue else { return nil }
                return (x, y, Int(r))
            }
            let terms: [String]
            if case .array(let t)? = record["terms"] { terms = t.compactMap(\.stringValue) } else { terms = [] }
            out.append(ClusterSummary(cluster: c.stringValue ?? c.jsonText, size: Int(record["size"]?.doubleValue ?? 0), terms: terms, points: points))
        }
        return out
    }
}

extension HTMLReport {
    /// NMI, ARI and purity, cluster sizes with their topics, the contingency heat map of clusters against labels,
    /// and (with fx-cluster's summary) the documents on the first two principal components, coloured by cluster.
    public mutating func addClusters(_ m: ClusterMetrics, topics: [String: String], summary: [ClusterSummary]?,
                                     recordLabels: [String], recordNames: [String]) {
        let report = m.report
        for (key, name) in [("nmi", "NMI"), ("ari", "ARI"), ("purity", "purity"), ("clusters", "clusters"), ("classes", "labels"), ("records", "records")] {
            // Scores to three decimals; counts whole.
            if let v = report[key]?.doubleValue { figure(name, v == v.rounded() ? String(Int(v)) : String((v * 1000).rounded() / 1000)) }
        }
        let table = m.table
        let sizes = table.mapValues { $0.values.reduce(0, +) }
        let clusters = sizes.keys.sorted { sizes[$0]! != sizes[$1]! ? sizes[$0]! > sizes[$1]! : (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        func name(_ c: String) -> String { "\(c): " + (topics[c] ?? "").split(separator: " ").prefix(4).joined(separator: " ") }
        let biggest = Double(sizes.values.max() ?? 1)
        section("Cluster sizes and topics", note: "Each cluster's documents, largest first, with its topic terms (hover for all of them).",
                SVG.bars(rows: clusters.map { "\($0): " + (topics[$0] ?? "") }, series: [("documents", "size", clusters.map { Double(sizes[$0]!) / biggest })],
                         notes: clusters.map { "\(sizes[$0]!) (\(Self.percent(Double(sizes[$0]!) / Double(max(m.records, 1)))))" }, axisMax: biggest))
        // Labels in the order of the cluster that holds most of each, so that a good grouping shows a diagonal.
        var labelTotals: [String: Int] = [:]
        var home: [String: (rank: Int, count: Int)] = [:]
        for (rank, c) in clusters.enumerated() {
            for (label, v) in table[c]! {
                labelTotals[label, default: 0] += v
                if home[label] == nil || v > home[label]!.count { home[label] = (rank, v) }
            }
        }
        let labels = labelTotals.keys.sorted { (home[$0]!.rank, -home[$0]!.count, $0) < (home[$1]!.rank, -home[$1]!.count, $1) }
        let counts = clusters.map { c in labels.map { table[c]?[$0] ?? 0 } }
        let shade = counts.enumerated().map { i, row in row.map { Double($0) / Double(max(sizes[clusters[i]]!, 1)) } }
        section("Clusters against labels", note: "Rows: clusters; columns: reference labels, each next to the cluster that holds most of it; colour: the share of the cluster's documents (viridis). A grouping that agrees with the labels shows a diagonal.",
                SVG.heatMap(rows: clusters.map(name), columns: labels, counts: counts, shade: shade, rowAxis: "cluster", columnAxis: "reference label",
                            legend: "share of the cluster's documents") { i, j in
                    "cluster \(name(clusters[i])) × \(labels[j]): \(counts[i][j]) (\(Self.percent(shade[i][j])) of the cluster, \(Self.percent(Double(counts[i][j]) / Double(max(labelTotals[labels[j]]!, 1)))) of the label)"
                })
        guard let summary else {
            section("Map of the documents", note: "Give fx-eval --cluster-summary FILE, the file fx-cluster --summary FILE wrote, for a map of the documents.", "")
            return
        }
        let order = summary.map(\.cluster)
        let group = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        var points: [(x: Double, y: Double, group: Int, title: String)] = []
        for s in summary {
            for p in s.points {
                let i = p.record - 1
                let label = recordLabels.indices.contains(i) ? recordLabels[i] : "?"
                let id = recordNames.indices.contains(i) ? recordNames[i] : "record \(p.record)"
                points.append((p.x, p.y, group[s.cluster]!, "\(id) — label \(label) — cluster \(s.cluster): \(s.terms.prefix(4).joined(separator: " "))"))
            }
        }
        section("Map of the documents", note: "\(points.count) documents (evenly spaced in input order, at most 2,000) on the first two principal components of the vectors fx-cluster grouped; colour and shape: the cluster. Hover a point for the document, its label and its cluster.",
                SVG.scatter(points: points, groups: summary.map { "\($0.cluster): \($0.terms.prefix(3).joined(separator: " "))" }, xAxis: "first principal component", yAxis: "second principal component"))
    }
}

// MARK: - Training log

extension HTMLReport {
    /// The learning curve from fx-train --log's records: the training loss and the validation score by epoch (by
    /// elapsed seconds for a run in stages), and the speed.
    public mutating func addTrainingLog(_ records: [Record], name: String) {
        let stages = records.reduce(into: [String]()) { seen, r in
            let s = r["stage"]?.stringValue ?? ""
            if !seen.contains(s) { seen.append(s) }
        }
        let byTime = stages.count > 1
        func x(_ r: Record) -> Double { (byTime ? r["elapsed"] : r["epoch"])?.doubleValue ?? 0 }
        func series(_ key: String, _ label: String) -> [(name: String, points: [(x: Double, y: Double)])] {
            stages.compactMap { stage in
                let points = records.filter { ($0["stage"]?.stringValue ?? "") == stage }.compactMap { r in r[key]?.doubleValue.map { (x: x(r), y: $0) } }
                return points.isEmpty ? nil : (stage.isEmpty ? label : "\(label) (\(stage))", points)
            }
        }
        let axis = byTime ? "elapsed (s)" : "epoch"
        var body = SVG.lines(series: series("loss", "training loss"), xAxis: axis, yAxis: "loss")
        let valid = ["valid_accuracy", "valid_bleu"].first { key in records.contains { $0[key] != nil } }
        if let valid {
            body += SVG.lines(series: series(valid, valid == "valid_bleu" ? "validation BLEU" : "validation accuracy"), xAxis: axis, yAxis: valid == "valid_bleu" ? "BLEU" : "accuracy")
        }
        let speedKey = records.contains { $0["tokens_per_s"] != nil } ? "tokens_per_s" : "examples_per_s"
        let speeds = records.compactMap { $0[speedKey]?.doubleValue }
        let elapsed = records.last?["elapsed"]?.doubleValue ?? 0
        let note = "\(records.count) records of \(name): \(String(format1: elapsed)) s in all, "
            + "\(Int(speeds.isEmpty ? 0 : speeds.reduce(0, +) / Double(speeds.count))) \(speedKey == "tokens_per_s" ? "tokens" : "examples")/s on average"
            + (stages.count > 1 ? "; stages \(stages.joined(separator: ", ")), so the x axis is time." : ".")
        section("Learning curve", note: note, body)
    }
}
