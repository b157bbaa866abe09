#if canImport(Glibc)
import Glibc
#endif

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
    /// Score generated text in the `prediction` field against the target field (BLEU, chrF) instead of a model.
    public var text = false
    public var table = false
    public var inputField = "input"
    /// Where a record without `inputField` has its text (nil: nowhere; fx-eval sets it to `text` unless
    /// --input-field was given, so documents embed and predict as they are).
    public var inputFallback: String? = "text"
    public var targetField = "target"
    /// Threads for --predict (records written in input order).
    public var threads = 1
    /// Text-to-text models: hypotheses kept by beam search (1: greedy decoding).
    public var beam = 1
    /// Write each record back with the model's sentence vector of its input instead of scoring.
    public var embed = false
    /// Also write the scores as a self-contained HTML page with charts (--report).
    public var reportPath: String?
    /// fx-train --log's file, drawn as a learning curve in the report.
    public var trainLogPath: String?
    /// fx-cluster --summary's file: topic terms and the map of the documents for a cluster report.
    public var clusterSummaryPath: String?
    /// Causal language models: how replies are drawn, and the system message put first in each conversation.
    public var sampling = SamplingSettings()
    public var system: String?
    /// Causal language models: the field of a document whose perplexity is measured.
    public var textField = "text"
    /// Causal language models, --predict: also write each reply's token ids.
    public var tokenIDs = false
    /// The base GGUF of a LoRA fine-tuned model, when it is not beside the model or under models/.
    public var baseModel: String?

    public init() {}

    public func run(_ tool: ToolRun, files: [String]) throws {
        try tool.run {
            if let reportPath { try AtomicFile.checkWritable(reportPath) }
            if clusters {
                try scoreClusters(tool, files: files)
                return
            }
            if text {
                try scoreText(tool, files: files)
                return
            }
            if embed {
                try writeEmbeddings(try Embedder(modelPath), tool, files: files)
                return
            }
            let model: TextModel
            switch try FXModel.load(modelPath, baseModel: baseModel) {
            case .causal(let m):
                try applyCausalLM(m, tool, files: files)
                return
            case .seq2seq(let m):
                try applyTextToText(m, tool, files: files)
                return
            case .encoder(let m):
                guard m.head != nil else {
                    throw FXError.data("a pretrained encoder without a classification head: --embed writes its sentence vectors, and fx-train --base fine-tunes it on labels", at: modelPath)
                }
                try applyEncoderClassifier(m, tool, files: files)
                return
            case .linear(let m):
                model = m
            }
            let threshold = self.threshold ?? (model.multiLabel ? 0.5 : nil)
            var metrics = ClassificationMetrics(k: max(k, 1))
            let want = max(k, threshold == nil ? 1 : model.labels.count)
            /// The input's labels, best first.
            func rank(_ record: Record, _ scratch: inout [UInt8]) throws -> [(label: Int, score: Float)] {
                let i = try input.require(record)
                guard let text = record.withStringBytes(at: i, scratch: &scratch, { String(decoding: $0, as: UTF8.self) }) else {
                    throw FXError.data("field '\(record.key(at: i))' is \(record.value(at: i).typeName), not a string")
                }
                return model.predict(features: model.features(of: text), k: want)
            }
            if predict {
                final class Worker { let output: Output; var scratch: [UInt8] = []; init(_ o: Output) { output = o } }
                let pipeline = OrderedParallel(threads: threads, output: tool.output, policy: tool.policy, make: Worker.init)
                try pipeline.forEachRecord(tool.inputs, files) { worker, record in
                    annotate(&record, try rank(record, &worker.scratch), model.labels)
                    try worker.output.write(record)
                }
                return
            }
            var scratch: [UInt8] = []
            let known = Set(model.labels)
            metrics.examplesPerConfusion = reportPath == nil ? 0 : 3
            try tool.inputs.forEachRecord(files) { record, _ in
                try score(record, try rank(record, &scratch), model.labels, known: known, multiLabel: model.multiLabel, threshold: threshold, &metrics)
            }
            try writeReport(metrics.report, tool.output)
            try writeHTML(files) { $0.addClassification(metrics) }
        }
    }

    /// A record with its best label as "prediction", its "score", and with --k above 1 the "top" k.
    private func annotate(_ record: inout Record, _ ranked: [(label: Int, score: Float)], _ labels: [String]) {
        if let best = ranked.first {
            record.set("prediction", .string(labels[best.label]))
            record.set("score", JSONValue(Double(rounded(Double(best.score)))))
        }
        if k > 1 {
            record.set("top", .array(ranked.prefix(k).map {
                .object([JSONMember("label", .string(labels[$0.label])), JSONMember("score", JSONValue(rounded(Double($0.score))))])
            }))
        }
    }

    /// Adds a record's ranked labels, against its targets, to the metrics.
    private func score(_ record: Record, _ ranked: [(label: Int, score: Float)], _ labels: [String], known: Set<String>,
                       multiLabel: Bool, threshold: Double?, _ metrics: inout ClassificationMetrics) throws {
        guard let t = record.index(of: targetField) else { throw FXError.data("no field '\(targetField)' to score against (--predict annotates records without one)") }
        let gold: [String]
        switch record.value(at: t) {
        case .string(let s): gold = [s]
        case .number(let n): gold = [n]
        case .array(let items): gold = items.compactMap(\.stringValue)
        case let other: throw FXError.data("field '\(targetField)' is \(other.typeName), not a string or an array of strings")
        }
        let names = ranked.map { labels[$0.label] }
        var predicted: Set<String>
        if let threshold {
            predicted = Set(ranked.filter { Double($0.score) >= threshold }.map { labels[$0.label] })
        } else {
            predicted = names.first.map { [$0] } ?? []
        }
        if predicted.isEmpty, let first = names.first, !multiLabel { predicted = [first] }
        let input = metrics.examplesPerConfusion > 0 ? input.index(in: record).flatMap(record.string(at:)) : nil
        metrics.add(gold: gold, predicted: predicted, ranked: names, known: { known.contains($0) }, input: input)
    }

    /// A fine-tuned encoder's labels for each record's input, in groups of records (batches of similar length
    /// on --threads threads): scored, or written back with --predict.
    private func applyEncoderClassifier(_ model: EncoderModel, _ tool: ToolRun, files: [String]) throws {
        let threshold = self.threshold ?? (model.multiLabel ? 0.5 : nil)
        var metrics = ClassificationMetrics(k: max(k, 1))
        let want = max(k, threshold == nil ? 1 : model.labels.count)
        let known = Set(model.labels)
        metrics.examplesPerConfusion = reportPath == nil || predict ? 0 : 3
        try tool.forEachGroup(files, read: { try input.string($0) }, process: { group in
            for ((record, _), scores) in zip(group, model.classify(group.map(\.value), threads: threads)) {
                let ranked = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(want).map { (label: $0, score: scores[$0]) }
                if predict {
                    var record = record
                    annotate(&record, ranked, model.labels)
                    try tool.output.write(record)
                } else {
                    try score(record, ranked, model.labels, known: known, multiLabel: model.multiLabel, threshold: threshold, &metrics)
                }
            }
        })
        if !predict {
            try writeReport(metrics.report, tool.output)
            try writeHTML(files) { $0.addClassification(metrics) }
        }
    }

    /// A text-to-text model on each record's input: its outputs scored against the targets (BLEU, chrF), or
    /// written back as `prediction`. Records are decoded in groups, in batches of similar length.
    private func applyTextToText(_ model: Seq2SeqModel, _ tool: ToolRun, files: [String]) throws {
        let translator = Translator(model, threads: threads)
        translator.beam = beam
        var metrics = TextMetrics()
        var examples: [TextExample] = []
        try tool.forEachGroup(files, read: { record in
            (input: try input.string(record),
             target: predict ? nil : try TextField(targetField).string(record, purpose: " to score against (--predict annotates records without one)"))
        }, process: { group in
            let outputs = translator.translate(group.map(\.value.input))
            for ((record, fields), out) in zip(group, outputs) {
                if predict {
                    var record = record
                    record.set("prediction", .string(out))
                    try tool.output.write(record)
                } else {
                    metrics.add(hypothesis: out, reference: fields.target!)
                    if reportPath != nil { examples.append(TextExample(source: fields.input, reference: fields.target!, hypothesis: out)) }
                }
            }
        })
        if !predict {
            try writeReport(metrics.report, tool.output)
            try writeHTML(files) { $0.addText(metrics, examples) }
        }
    }

    /// A causal language model on each record: a conversation (any format fx-pair writes) is rendered with the
    /// model's chat template and answered; a document (`text` only) is scored by its perplexity, or with --predict
    /// continued. Scored: BLEU, chrF, exact match and length ratio of the replies against the expected ones, and
    /// perplexity and bits per byte of the documents.
    private func applyCausalLM(_ model: LlamaModel, _ tool: ToolRun, files: [String]) throws {
        guard beam == 1 else { throw FXError.usage("--beam is for text-to-text models; a causal language model decodes greedily or samples (--temperature)") }
        var reader = ConversationReader()
        (reader.inputField, reader.targetField, reader.textField, reader.system) = (inputField, targetField, textField, system)
        let generator = Generator(model, settings: sampling, threads: threads)
        var metrics = TextMetrics(), examples: [TextExample] = []
        var documents = DocumentLoss(), documentBytes = 0, documentCount = 0, generated = 0
        generator.firstTokens = k > 1 ? k : 0
        let started = monotonicSeconds()
        try tool.forEachGroup(files, size: 256, read: { record -> (example: CausalExample, ids: [Int32]) in
            let example = try reader.read(record)
            let ids: [Int32]
            switch example {
            case .chat(let messages, let target):
                if !predict && target == nil {
                    throw FXError.data("no reply to score against (an assistant turn after the last user turn, 'completion', 'output' or '\(targetField)'); --predict answers records without one")
                }
                ids = model.tokenizer.encode(try model.prompt(messages))
            case .document(let text):
                ids = model.encode(text)
            }
            if predict || !isDocument(example) {
                guard ids.count < model.config.context else { throw FXError.data("a prompt of \(ids.count) tokens: the model reads at most \(model.config.context)") }
            }
            return (example, ids)
        }, process: { group in
            let generating = group.indices.filter { predict || !isDocument(group[$0].value.example) }
            var replies = [Generator.Reply?](repeating: nil, count: group.count)
            for (k, reply) in zip(generating, generator.generate(generating.map { group[$0].value.ids })) {
                replies[k] = reply
                generated += reply.tokens.count
            }
            let scoring = predict ? [] : group.indices.filter { isDocument(group[$0].value.example) }
            let losses = model.documentLosses(scoring.map { group[$0].value.ids }, threads: threads)
            for (k, loss) in zip(scoring, losses) {
                documents.nats += loss.nats
                documents.predicted += loss.predicted
                documentCount += 1
                if case .document(let text) = group[k].value.example { documentBytes += text.utf8.count }
            }
            for (k, (record, value)) in group.enumerated() {
                let text = replies[k].map { model.tokenizer.decode($0.tokens, skipSpecial: true) }
                if predict {
                    var record = record
                    record.set("prediction", .string(text ?? ""))
                    if let reply = replies[k] {
                        if tokenIDs { record.set("token_ids", .array(reply.tokens.map { JSONValue(Int($0)) })) }
                        if self.k > 1 {
                            record.set("top", .array(reply.first.map {
                                .object([JSONMember("token", .string(model.tokenizer.decode([$0.id]))), JSONMember("id", JSONValue(Int($0.id))),
                                         JSONMember("logit", .number(String($0.logit)))])
                            }))
                        }
                    }
                    try tool.output.write(record)
                } else if case .chat(let messages, let target?) = value.example, let text {
                    metrics.add(hypothesis: text, reference: target)
                    if reportPath != nil { examples.append(TextExample(source: messages.last?.content, reference: target, hypothesis: text)) }
                }
            }
        })
        let seconds = monotonicSeconds() - started
        if generated > 0 {
            try tool.summary("generated \(generated) tokens in \((seconds * 10).rounded() / 10) s (\((Double(generated) / max(seconds, 1e-9) * 10).rounded() / 10) tokens/s)")
        }
        if !predict {
            var members: [JSONMember] = []
            if metrics.records > 0 || documentCount == 0, case .object(let scored) = metrics.report { members = scored }
            if metrics.records == 0 && documentCount > 0 { members = [JSONMember("records", JSONValue(documentCount))] }
            if documentCount > 0 {
                let perToken = documents.predicted > 0 ? documents.nats / Double(documents.predicted) : 0
                members += [JSONMember("documents", JSONValue(documentCount)), JSONMember("tokens_predicted", JSONValue(documents.predicted)),
                            JSONMember("perplexity", JSONValue(rounded(exp(perToken)))),
                            JSONMember("bits_per_byte", JSONValue(rounded(documentBytes > 0 ? documents.nats / log(2) / Double(documentBytes) : 0)))]
            }
            try writeReport(.object(members), tool.output)
            if metrics.records > 0 { try writeHTML(files) { $0.addText(metrics, examples) } }
        }
    }

    private func isDocument(_ example: CausalExample) -> Bool {
        if case .document = example { return true }
        return false
    }

    /// Each record back with "embedding", the model's sentence vector of its input.
    private func writeEmbeddings(_ embedder: Embedder, _ tool: ToolRun, files: [String]) throws {
        try tool.forEachGroup(files, read: { try input.string($0) }, process: { group in
            for ((record, _), vector) in zip(group, embedder.embed(group.map(\.value), threads: threads)) {
                var record = record
                record.set("embedding", .array(vector.map { .number(String($0)) }))
                try tool.output.write(record)
            }
        })
    }

    private var input: TextField { TextField(inputField, fallback: inputFallback) }

    private func scoreClusters(_ tool: ToolRun, files: [String]) throws {
        var metrics = ClusterMetrics()
        var topics: [String: String] = [:], labels: [String] = [], names: [String] = []
        try tool.inputs.forEachRecord(files) { record, _ in
            guard let c = record.index(of: "cluster") else { throw FXError.data("no field 'cluster' (fx-cluster writes it)") }
            guard let t = record.index(of: targetField) else { throw FXError.data("no field '\(targetField)' to compare the clusters with") }
            func label(_ v: JSONValue) -> String { v.stringValue ?? v.jsonText }
            let cluster = label(record.value(at: c)), reference = label(record.value(at: t))
            metrics.add(cluster: cluster, reference: reference)
            if reportPath != nil {
                if topics[cluster] == nil, let topic = record["topic"]?.stringValue { topics[cluster] = topic }
                if clusterSummaryPath != nil {
                    labels.append(reference)
                    names.append((record["id"] ?? record["path"]).map(label) ?? "record \(metrics.records)")
                }
            }
        }
        try writeReport(metrics.report, tool.output)
        // Read once the records are: in `fx-cluster --summary F | fx-eval --cluster-summary F`, F is complete only then.
        let summary = try clusterSummaryPath.map(ClusterSummary.read)
        try writeHTML(files) { $0.addClusters(metrics, topics: topics, summary: summary, recordLabels: labels, recordNames: names) }
    }

    private func scoreText(_ tool: ToolRun, files: [String]) throws {
        var metrics = TextMetrics()
        var examples: [TextExample] = []
        try tool.inputs.forEachRecord(files) { record, _ in
            let hypothesis = try TextField("prediction").string(record), reference = try TextField(targetField).string(record)
            metrics.add(hypothesis: hypothesis, reference: reference)
            if reportPath != nil { examples.append(TextExample(source: record[inputField]?.stringValue, reference: reference, hypothesis: hypothesis)) }
        }
        try writeReport(metrics.report, tool.output)
        try writeHTML(files) { $0.addText(metrics, examples) }
    }

    /// --report: the page, with the learning curve of --train-log.
    private func writeHTML(_ files: [String], _ add: (inout HTMLReport) -> Void) throws {
        guard let reportPath else { return }
        let data = files.isEmpty ? "stdin" : files.joined(separator: ", ")
        var page = HTMLReport(title: clusters ? "Clusters in \(data)" : text ? "Generated text in \(data)" : "\(modelPath) on \(data)")
        add(&page)
        if let trainLogPath {
            var records: [Record] = []
            try InputReader(policy: ErrorPolicy(.fail, tool: "fx-eval")).forEachRecord([trainLogPath]) { record, _ in records.append(record) }
            page.addTrainingLog(records, name: trainLogPath)
        }
        try page.write(reportPath)
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
