#if canImport(Glibc)
import Glibc
#endif

/// Text pairs as read, before the tokenizer that turns them into ids exists.
public final class TextPairs {
    public private(set) var inputs: [String] = [], targets: [String] = []
    public var count: Int { inputs.count }
    public init() {}

    /// Adds one pair record: both fields strings, the target not empty.
    public func add(_ record: Record, inputField: String, targetField: String) throws {
        func string(_ field: String) throws -> String {
            guard let i = record.index(of: field) else { throw FXError.data("no field '\(field)'") }
            guard let s = record.string(at: i) else {
                throw FXError.data("field '\(field)' is \(record.value(at: i).typeName), not a string (a text-to-text model needs text)")
            }
            return s
        }
        let input = try string(inputField), target = try string(targetField)
        guard target.contains(where: { !$0.isWhitespace }) else { throw FXError.data("empty target: nothing to learn to write") }
        inputs.append(input)
        targets.append(target)
    }

    /// The pairs as ids, cut to the model's positions.
    func ids(_ tokenizer: BPETokenizer, maxPositions: Int) -> (data: Seq2SeqData, fallback: Int) {
        var data = Seq2SeqData()
        var fallback = 0
        for (input, target) in zip(inputs, targets) {
            let s = tokenizer.encode(input), t = tokenizer.encode(target)
            fallback += s.fallback + t.fallback
            data.append(source: s.ids, target: t.ids, maxSource: maxPositions, maxTarget: maxPositions - 1)
        }
        return (data, fallback)
    }
}

/// fx-train's run for free-text targets: learn the BPE vocabulary (or take the base's), train the encoder-decoder,
/// write it atomically.
public struct Seq2SeqTrainJob {
    public var settings = Seq2SeqTransformer.Settings()
    public var trainer = Seq2SeqTrainer()
    public var threads = 1

    public init() {}

    public func run(_ tool: ToolRun, pairs: TextPairs, base: Seq2SeqModel?, basePath: String?, validPath: String?,
                    inputField: String, targetField: String, outputPath: String) throws {
        guard pairs.count > 0 else { throw FXError.data("nothing to train on: no pairs in the input") }
        let started = monotonicSeconds()
        let model: Seq2SeqModel
        if let base {
            model = base
        } else {
            let tokenizer = try BPETokenizer.learn(pairs.inputs + pairs.targets, size: settings.vocabulary)
            if tokenizer.count < settings.vocabulary {
                tool.note("the training text gives \(tokenizer.count) pieces, fewer than --vocab-size \(settings.vocabulary) (no pair of pieces is left that occurs twice); the vocabulary has \(tokenizer.count)")
            }
            var s = settings
            s.vocabulary = tokenizer.count
            model = Seq2SeqModel(network: Seq2SeqTransformer(s, seed: trainer.seed), tokenizer: tokenizer)
        }
        let maxPositions = model.network.settings.maxPositions
        let (train, fallback) = pairs.ids(model.tokenizer, maxPositions: maxPositions)
        var valid: (data: Seq2SeqData, references: [String])?
        if let validPath {
            let v = TextPairs()
            try tool.inputs.forEachRecord([validPath]) { record, _ in try v.add(record, inputField: inputField, targetField: targetField) }
            guard v.count > 0 else { throw FXError.data("no pairs to validate on", at: validPath) }
            valid = (v.ids(model.tokenizer, maxPositions: maxPositions).data, v.targets)
        }
        var trainer = self.trainer
        trainer.threads = threads
        trainer.progress = trainer.progress && !tool.quiet
        let prepared = monotonicSeconds() - started
        let report = trainer.train(model, on: train, valid: valid)
        let parameters = model.network.parameters.reduce(0) { $0 + $1.value.values.count }
        try model.save(outputPath, training: [
            JSONMember("pairs", JSONValue(pairs.count)), JSONMember("ids", JSONValue(train.source.count + train.target.count)), JSONMember("steps", JSONValue(report.steps)),
            JSONMember("epochs", JSONValue(report.epochs)), JSONMember("lr", JSONValue(trainer.lr)),
            JSONMember("warmup", JSONValue(trainer.warmup)), JSONMember("batch_tokens", JSONValue(trainer.batchTokens)),
            JSONMember("seed", .number(String(trainer.seed))), JSONMember("base", basePath.map { .string($0) } ?? .null),
        ])
        var line = "\(pairs.count) pairs, \(model.tokenizer.count) pieces, \(parameters) parameters; "
        line += "\(report.steps) steps, \(String(format1: report.epochs)) epochs in \(String(format1: report.seconds)) s "
        line += "(\(Int(report.tokensPerSecond)) tokens/s; tokenizer and ids \(String(format1: prepared)) s), final loss \(report.finalLoss)"
        if report.outOfTime { line += "; stopped by --max-time" }
        if !report.validBLEU.isEmpty {
            line += "; valid BLEU by evaluation \(report.validBLEU.map { String(format1: $0) }.joined(separator: " ")), kept epoch \(String(format1: report.bestEpoch))"
        }
        if train.truncated > 0 { line += "; \(train.truncated) pairs cut to \(maxPositions) positions" }
        if fallback > 0 { line += "; \(fallback) characters outside the vocabulary spelled as bytes" }
        tool.note(line + " -> \(outputPath)")
    }
}
