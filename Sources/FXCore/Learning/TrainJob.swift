/// fx-train's whole run: read pairs once, build or extend the model, train, write it atomically.
public struct TrainJob {
    /// The model: the fastText-class classifier (`linear`) or an encoder-decoder (`transformer`) for free-text
    /// targets; nil: the transformer when the first pairs' targets look like free text, or what the base is.
    public enum Architecture: String, Sendable, CaseIterable { case linear, transformer }
    public var arch: Architecture?
    /// Settings of a transformer run.
    public var seq2seq = Seq2SeqTrainJob()
    /// Settings of a run that fine-tunes a pretrained encoder (`--base` one).
    public var encoder = EncoderTrainJob()
    /// Settings of a run that fine-tunes a causal language model with LoRA (`--base` a GGUF or fx-lora file).
    public var causal = CausalTrainJob()
    public var features = FeatureSettings()
    /// nil: one-vs-all up to 200 labels and for multi-label targets (it beat softmax on validation), negative
    /// sampling beyond (its embeddings transfer best to fine-tuning).
    public var loss: Loss?
    public var trainer = Trainer()
    /// The starting learning rate; nil: `Trainer.defaultRate` for the model.
    public var lr: Double?
    public var minCount = 1
    public var inputField = "input"
    public var targetField = "target"
    public var basePath: String?
    public var baseVectorsPath: String?
    public var validPath: String?
    public var exportVectorsPath: String?
    public var outputPath = "model.fxm"
    /// fx-train --log: a JSON record per epoch.
    public var logPath: String?
    /// fx-train --tune: the linear model's settings chosen on held-out pairs first.
    public var tuner: Tuner?

    public init() {}

    public func run(_ tool: ToolRun, files: [String]) throws {
        try tool.run {
            for path in [outputPath] + [exportVectorsPath].compactMap({ $0 }) { try AtomicFile.checkWritable(path) }
            let log = try logPath.map(TrainingLog.init(path:))
            var (seq2seq, encoder, trainer, causal) = (self.seq2seq, self.encoder, self.trainer, self.causal)
            (seq2seq.trainer.log, encoder.trainer.log, trainer.log, causal.trainer.log) = (log, log, log, log)
            if let basePath, CausalTrainJob.accepts(basePath) {
                if arch != nil { throw FXError.usage("--base \(basePath) is a causal language model: LoRA fine-tunes it, and --arch does not apply") }
                (causal.reader.inputField, causal.reader.targetField) = (inputField, targetField)
                try causal.run(tool, files: files, basePath: basePath, validPath: validPath, outputPath: outputPath)
                return
            }
            var base: TextModel?, seq2seqBase: Seq2SeqModel?, encoderBase: EncoderModel?
            switch try basePath.map({ try FXModel.load($0) }) {
            case .linear(let m)?: base = m
            case .seq2seq(let m)?: seq2seqBase = m
            case .encoder(let m)?: encoderBase = m
            case .causal?: throw FXError.data("a causal language model that fx-train cannot fine-tune", at: basePath!)
            case nil: break
            }
            if arch != nil && encoderBase != nil { throw FXError.usage("--base \(basePath!) is a pretrained encoder: it is fine-tuned as a classifier, and --arch does not apply") }
            if arch == .transformer && base != nil { throw FXError.usage("--base \(basePath!) is a linear model; a transformer cannot start from it") }
            if arch == .linear && seq2seqBase != nil { throw FXError.usage("--base \(basePath!) is a transformer; --arch linear cannot start from it") }
            var settings = base?.settings ?? features
            let data = TrainingData(tokenizer: settings.tokenizer)
            data.keepTexts = encoderBase != nil
            if tuner != nil {
                if basePath != nil || baseVectorsPath != nil { throw FXError.usage("--tune chooses a new linear model's settings; it does not start from --base or --base-vectors") }
                if arch == .transformer { throw FXError.usage("--tune is for the linear model") }
                data.hashSeed = trainer.seed
            }
            let texts = TextPairs()
            // The model is chosen before the pairs are kept: from the options, the base, or the first pairs.
            var chosen = arch ?? (base != nil || encoderBase != nil || tuner != nil ? .linear : seq2seqBase != nil ? .transformer : nil)
            var head: [(Record, String)] = []
            func keep(_ record: Record) throws {
                if chosen == .linear {
                    try data.add(record, inputField: inputField, targetField: targetField)
                } else {
                    try texts.add(record, inputField: inputField, targetField: targetField)
                }
            }
            func choose() throws {
                let probe = TrainingData(tokenizer: settings.tokenizer)
                for (record, _) in head { try? probe.add(record, inputField: inputField, targetField: targetField) }
                chosen = probe.hasFreeTextTargets ? .transformer : .linear
                for (record, place) in head {
                    do { try keep(record) } catch let error as FXError where error.kind == .data { try tool.policy.handle(error.placed(at: place)) }
                }
                head = []
            }
            try tool.inputs.forEachRecord(files) { record, place in
                if chosen != nil { try keep(record); return }
                head.append((record, place))
                if head.count == 1000 { try choose() }
            }
            if chosen == nil { try choose() }
            if chosen == .transformer {
                try seq2seq.run(tool, pairs: texts, base: seq2seqBase, basePath: basePath, validPath: validPath,
                                inputField: inputField, targetField: targetField, outputPath: outputPath)
                return
            }
            if let encoderBase {
                try encoder.run(tool, data: data, base: encoderBase, basePath: basePath!, validPath: validPath,
                                inputField: inputField, targetField: targetField, outputPath: outputPath)
                return
            }
            guard data.count > 0 else { throw FXError.data("nothing to train on: no pairs in the input") }
            var loss = self.loss ?? (data.labels.count > 200 && !data.hasMultiLabel ? .ns : .ova)
            let vocabulary = zip(data.words, data.wordCounts).filter { $0.1 >= minCount }.map(\.0)
            var lr = self.lr, tuned: Tuner.Result?
            if var tuner {
                tuner.progress = trainer.progress && !tool.quiet
                let result = try tune(tuner, data: data, vocabulary: vocabulary, start: Tuner.Candidate(
                    lr: lr ?? Trainer.defaultRate(loss: loss, labels: data.labels.count, negatives: trainer.negatives),
                    epochs: trainer.epochs, features: settings, loss: loss), tool)
                (settings, loss, lr, trainer.epochs) = (result.best.candidate.features, result.best.candidate.loss, result.best.candidate.lr, result.best.candidate.epochs)
                tuned = result
            }
            let labelCounts = Dictionary(uniqueKeysWithValues: zip(data.labels, data.labelCounts))
            let model: TextModel
            if let base {
                model = base.extend(words: vocabulary, labels: data.labels, labelCounts: labelCounts, loss: loss, seed: trainer.seed)
            } else {
                model = TextModel(settings: settings, loss: loss, words: vocabulary, labels: data.labels, labelCounts: data.labelCounts, seed: trainer.seed)
            }
            if let path = baseVectorsPath {
                let (dim, vectors) = try TextModel.readVectors(path)
                guard dim == model.dim else { throw FXError.data("vectors have \(dim) dimensions, the model \(model.dim) (set --dim \(dim))", at: path) }
                let n = model.setWordVectors(vectors)
                tool.note("\(n) of \(model.words.count) words start from \(path)")
            }
            let train = FeaturizedData(data, model: model)
            model.setInverseDocumentFrequencies(train)
            if base == nil {
                var touched = [Bool](repeating: false, count: settings.buckets)
                for f in train.features where Int(f) < settings.buckets { touched[Int(f)] = true }
                model.touchedBuckets = touched
            }
            var valid: FeaturizedData?
            if let validPath {
                let validData = TrainingData(tokenizer: settings.tokenizer)
                try tool.inputs.forEachRecord([validPath]) { record, _ in try validData.add(record, inputField: inputField, targetField: targetField) }
                guard validData.count > 0 else { throw FXError.data("no pairs to validate on", at: validPath) }
                valid = FeaturizedData(validData, model: model)
            }
            trainer.lr = lr ?? Trainer.defaultRate(model, negatives: trainer.negatives)
            trainer.progress = trainer.progress && !tool.quiet
            trainer.note = { printError("\(tool.name): \($0)") }
            let report = trainer.train(model, on: train, valid: valid)
            model.multiLabel = data.hasMultiLabel
            try model.save(outputPath, training: [
                JSONMember("examples", JSONValue(data.count)), JSONMember("epochs", JSONValue(report.epochsRun)),
                JSONMember("lr", JSONValue(trainer.lr)), JSONMember("lr_after_back_offs", JSONValue(report.lr)), JSONMember("seed", .number(String(trainer.seed))),
                JSONMember("min_count", JSONValue(minCount)), JSONMember("base", basePath.map { .string($0) } ?? .null),
            ] + (tuned.map { [JSONMember("tune", $0.json)] } ?? []))
            if let path = exportVectorsPath { try model.exportVectors(path) }
            var line = "\(data.count) examples, \(model.words.count) words, \(model.labels.count) labels, loss \(loss.rawValue), lr \(Float(trainer.lr)); "
            line += "\(report.epochsRun) epochs in \(String(format1: report.seconds)) s, final loss \(Float(report.finalLoss))"
            if !report.validAccuracy.isEmpty {
                line += "; valid accuracy by epoch \(report.validAccuracy.map { String(format1: $0 * 100) }.joined(separator: " ")), kept epoch \(report.bestEpoch)"
            }
            tool.note(line + " -> \(outputPath)")
        }
    }
}

extension TrainJob {
    /// fx-train --tune: the search, on the validation slice carved from the pairs (or on --valid's pairs), and
    /// what it chose on stderr as options to paste back.
    private func tune(_ tuner: Tuner, data: TrainingData, vocabulary: [String], start: Tuner.Candidate, _ tool: ToolRun) throws -> Tuner.Result {
        var validData: TrainingData?
        var slice = [Bool](repeating: false, count: data.count)
        if let validPath {
            let v = TrainingData(tokenizer: start.features.tokenizer)
            v.hashSeed = tuner.seed
            try tool.inputs.forEachRecord([validPath]) { record, _ in try v.add(record, inputField: inputField, targetField: targetField) }
            guard v.count > 0 else { throw FXError.data("no pairs to validate on", at: validPath) }
            validData = v
        } else {
            slice = Tuner.validationSlice(hashes: data.inputHashes, labels: data.firstLabels)
        }
        // The training pairs in the order of their stable hash: a random order that does not depend on the input's,
        // whose first pairs are the search's smaller rungs.
        let hashes = data.inputHashes
        let trainIndices = slice.indices.filter { !slice[$0] }.sorted { (hashes[$0], $0) < (hashes[$1], $1) }
        let validIndices = slice.indices.filter { slice[$0] }.sorted { (hashes[$0], $0) < (hashes[$1], $1) }
        guard validData != nil || !validIndices.isEmpty else {
            throw FXError.data("too few pairs to tune on: no label has two pairs to hold one out (give --valid)")
        }
        /// A model that only maps words and labels to rows, for featurizing.
        func rows(_ f: FeatureSettings) -> TextModel {
            TextModel(settings: f, loss: .ova, words: vocabulary, labels: data.labels, labelCounts: data.labelCounts, seed: nil)
        }
        let validCount = validData?.count ?? validIndices.count
        // --valid's pairs in the order of their hash too, once: the lower rungs score on the first of them.
        let validOrder = validData.map { v in v.inputHashes.indices.sorted { (v.inputHashes[$0], $0) < (v.inputHashes[$1], $1) } } ?? []
        var result = tuner.search(start: start, trainCount: trainIndices.count, validCount: validCount, labelCount: data.labels.count,
                                  vocabularySize: vocabulary.count, multiLabel: data.hasMultiLabel, model: { c in
            TextModel(settings: c.features, loss: c.loss, words: vocabulary, labels: data.labels, labelCounts: data.labelCounts, seed: tuner.seed)
        }, featurize: { f, n, v in
            let model = rows(f)
            let train = FeaturizedData(data, model: model, examples: Array(trainIndices.prefix(n)))
            if let validData { return (train, FeaturizedData(validData, model: model, examples: Array(validOrder.prefix(v)))) }
            return (train, FeaturizedData(data, model: model, examples: Array(validIndices.prefix(v))))
        })
        result.validPairs = validCount
        var line = "tune: \(result.trials.count) trials in \(String(format1: result.seconds)) s"
        line += " (on \(result.rungSizes.map(String.init).joined(separator: ", ")) training pairs"
        line += ", \(tuner.threads) at once\(result.dropped > 0 ? ", \(result.dropped) stopped by the budget" : ""))"
        line += " on \(result.validPairs) held-out pairs\(validPath == nil ? "" : " of \(validPath!)"): valid accuracy \(String(format1: result.best.accuracy * 100))% on \(result.rungSizes[result.best.rung]) pairs"
        if let defaults = result.defaults { line += " (the defaults: \(String(format1: defaults.accuracy * 100))%)" }
        tool.note(line + "; chose \(result.best.candidate.options)")
        return result
    }
}
