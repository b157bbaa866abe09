/// fx-train's run on a pretrained encoder (`--base` a BERT-family folder or a fine-tuned fx-encoder file): a new
/// classification head on the pooled vector for the pairs' labels, the whole encoder fine-tuned with it (or the
/// head alone with `freeze`), written atomically as one fx-encoder file.
public struct EncoderTrainJob {
    public var trainer = EncoderTrainer()
    /// Tokens per text at most while training and after (the model's own maximum if smaller).
    public var maxLength = 128
    /// Before fine-tuning the whole encoder, train the new head alone on the frozen vectors (linear probing,
    /// then fine-tuning), so the encoder is not pulled about by a random head.
    public var probeFirst = true

    public init() {}

    public func run(_ tool: ToolRun, data: TrainingData, base model: EncoderModel, basePath: String, validPath: String?,
                    inputField: String, targetField: String, outputPath: String) throws {
        guard data.count > 0 else { throw FXError.data("nothing to train on: no pairs in the input") }
        model.maxLength = min(maxLength, model.maxLength)
        model.multiLabel = data.hasMultiLabel
        if model.head == nil || model.labels != data.labels {
            var rng = SplitMix64(seed: trainer.seed ^ 0x4845_4144)
            model.head = Linear("classifier", inputs: model.network.settings.width, outputs: data.labels.count, &rng)
        }
        model.labels = data.labels
        var valid: (texts: [String], labels: [[Int32]])?
        if let validPath {
            let v = TrainingData(tokenizer: data.tokenizer)
            v.keepTexts = true
            try tool.inputs.forEachRecord([validPath]) { record, _ in try v.add(record, inputField: inputField, targetField: targetField) }
            guard v.count > 0 else { throw FXError.data("no pairs to validate on", at: validPath) }
            let index = Dictionary(uniqueKeysWithValues: data.labels.enumerated().map { ($1, Int32($0)) })
            // A label the training pairs lack can never be predicted: it counts as wrong.
            valid = (v.texts, v.exampleLabels.map { $0.map { index[v.labels[Int($0)]] ?? -1 } })
        }
        var trainer = self.trainer
        trainer.progress = trainer.progress && !tool.quiet
        var probed = ""
        if probeFirst && !trainer.freeze {
            var probe = trainer
            (probe.freeze, probe.epochs, probe.lr, probe.patience, probe.maxTime) = (true, 100, 1e-2, 10, nil)
            trainer.log?.stage = "probe"
            let r = probe.train(model, texts: data.texts, labels: data.exampleLabels, valid: valid)
            trainer.log?.stage = "full"
            probed = "head probed alone in \(String(format1: r.seconds)) s\(r.validAccuracy.max().map { " (valid accuracy \(String(format1: $0 * 100)))" } ?? ""), then "
        }
        let report = trainer.train(model, texts: data.texts, labels: data.exampleLabels, valid: valid)
        try model.save(outputPath, training: [
            JSONMember("examples", JSONValue(data.count)), JSONMember("steps", JSONValue(report.steps)),
            JSONMember("epochs", JSONValue(report.epochs)), JSONMember("lr", JSONValue(trainer.lr)),
            JSONMember("batch_size", JSONValue(trainer.batchSize)), JSONMember("max_length", JSONValue(model.maxLength)),
            JSONMember("frozen", .bool(trainer.freeze)), JSONMember("seed", .number(String(trainer.seed))), JSONMember("base", .string(basePath)),
        ])
        var line = "\(data.count) examples, \(model.labels.count) labels\(model.multiLabel ? " (multi-label)" : ""), "
        line += trainer.freeze ? "head alone on the frozen encoder; " : probed + "encoder and head fine-tuned; "
        line += "\(report.steps) steps, \(String(format1: report.epochs)) epochs in \(String(format1: report.seconds)) s "
        line += "(\(String(format1: report.examplesPerSecond)) examples/s), final loss \(report.finalLoss)"
        if report.outOfTime { line += "; stopped by --max-time" }
        if !report.validAccuracy.isEmpty {
            line += "; valid accuracy by epoch \(report.validAccuracy.map { String(format1: $0 * 100) }.joined(separator: " ")), kept epoch \(String(format1: report.bestEpoch))"
        }
        tool.note(line + " -> \(outputPath)")
    }
}
