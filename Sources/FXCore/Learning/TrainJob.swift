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
    /// fx-train --base-always: a linear base is fine-tuned without first checking, on held-out pairs, that it does
    /// better than training from scratch.
    public var baseAlways = false

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
                if baseVectorsPath != nil { throw FXError.usage("--tune chooses a new linear model's settings; it does not start from --base-vectors") }
                if arch == .transformer || seq2seqBase != nil || encoderBase != nil { throw FXError.usage("--tune is for the linear model") }
            }
            // Held-out pairs are chosen by their stable hash: --tune's trials and the base against scratch.
            let comparesBase = base != nil && !baseAlways
            if tuner != nil || comparesBase { data.hashSeed = trainer.seed }
            // Training from scratch keeps the base's case folding: the pairs are tokenized once.
            var scratch = features
            scratch.lowercase = settings.lowercase
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
            var lr = self.lr, tuned: Tuner.Result?, baseChoice: BaseChoice?
            let defaultLoss = loss
            let held = tuner != nil || comparesBase ? try heldOut(data, tokenizer: settings.tokenizer, tool) : nil
            if var tuner, let held {
                tuner.progress = trainer.progress && !tool.quiet
                let result = try tune(tuner, data: data, held: held, vocabulary: vocabulary, start: Tuner.Candidate(
                    lr: lr ?? Trainer.defaultRate(loss: loss, labels: data.labels.count, negatives: trainer.negatives),
                    epochs: trainer.epochs, features: scratch, loss: loss), tool)
                (scratch, loss, lr, trainer.epochs) = (result.best.candidate.features, result.best.candidate.loss, result.best.candidate.lr, result.best.candidate.epochs)
                tuned = result
            }
            if comparesBase, held?.valid.isEmpty == true {
                tool.note("too few pairs to weigh --base against training from scratch (no label has two to hold one out): fine-tuning the base")
            } else if comparesBase, let b = base, let held {
                // The tuned settings' own trial on all the training pairs, when the search reached them, is scratch's score.
                let known = tuned.flatMap { $0.best.rung == $0.rungSizes.count - 1 ? $0.best.accuracy : nil }
                let choice = compare(b, scratch: Tuner.Candidate(lr: lr ?? 0, epochs: trainer.epochs, features: scratch, loss: loss),
                                     defaultLoss: defaultLoss, known: known, data: data, held: held, vocabulary: vocabulary, tool)
                if choice.keepsBase {
                    (loss, lr, trainer.epochs) = (defaultLoss, self.lr, self.trainer.epochs)  // the base as asked, not the search's choice
                } else {
                    base = nil
                }
                baseChoice = choice
            }
            if base == nil { settings = scratch }
            let model = fresh(base, settings: settings, loss: loss, data: data, vocabulary: vocabulary)
            if let path = baseVectorsPath {
                let (dim, vectors) = try TextModel.readVectors(path)
                guard dim == model.dim else { throw FXError.data("vectors have \(dim) dimensions, the model \(model.dim) (set --dim \(dim))", at: path) }
                let n = model.setWordVectors(vectors)
                tool.note("\(n) of \(model.words.count) words start from \(path)")
            }
            let train = FeaturizedData(data, model: model)
            Self.prepare(model, on: train, scratch: base == nil)
            var valid: FeaturizedData?
            if let validPath {
                // Read once: the held-out pairs of --tune and of the base check are these.
                valid = FeaturizedData(try held?.validData ?? readValid(validPath, tokenizer: settings.tokenizer, tool), model: model)
            }
            trainer.lr = lr ?? Trainer.defaultRate(model, negatives: trainer.negatives)
            trainer.progress = trainer.progress && !tool.quiet
            trainer.note = { printError("\(tool.name): \($0)") }
            let report = trainer.train(model, on: train, valid: valid)
            model.multiLabel = data.hasMultiLabel
            try model.save(outputPath, training: [
                JSONMember("examples", JSONValue(data.count)), JSONMember("epochs", JSONValue(report.epochsRun)),
                JSONMember("lr", JSONValue(trainer.lr)), JSONMember("lr_after_back_offs", JSONValue(report.lr)), JSONMember("seed", .number(String(trainer.seed))),
                JSONMember("min_count", JSONValue(minCount)), JSONMember("base", base == nil ? .null : .string(basePath!)),
            ] + (tuned.map { [JSONMember("tune", $0.json)] } ?? []) + (baseChoice.map { [JSONMember("base_against_scratch", $0.json)] } ?? []))
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
    /// The pairs a choice is scored on, and those its trials train on: --valid's pairs and all the training pairs,
    /// or a slice of the training pairs carved by their stable hash (`Tuner.validationSlice`) and the rest. Both in
    /// the order of their hash, a random order that does not depend on the input's.
    struct HeldOut {
        var train: [Int]
        var valid: [Int]
        /// --valid's pairs; nil: `valid` indexes the training pairs.
        var validData: TrainingData?

        /// The first `n` training pairs and the first `v` held-out ones, featurized for `model`.
        func featurize(_ data: TrainingData, for model: TextModel, train n: Int? = nil, valid v: Int? = nil) -> (train: FeaturizedData, valid: FeaturizedData) {
            let train = FeaturizedData(data, model: model, examples: Array(self.train.prefix(n ?? self.train.count)))
            return (train, FeaturizedData(validData ?? data, model: model, examples: Array(valid.prefix(v ?? valid.count))))
        }
    }

    private func heldOut(_ data: TrainingData, tokenizer: Tokenizer, _ tool: ToolRun) throws -> HeldOut {
        func byHash(_ indices: [Int], _ hashes: [UInt64]) -> [Int] { indices.sorted { (hashes[$0], $0) < (hashes[$1], $1) } }
        if let validPath {
            let v = try readValid(validPath, tokenizer: tokenizer, tool)
            return HeldOut(train: byHash(Array(0..<data.count), data.inputHashes), valid: byHash(Array(0..<v.count), v.inputHashes), validData: v)
        }
        let slice = Tuner.validationSlice(hashes: data.inputHashes, labels: data.firstLabels)
        let held = HeldOut(train: byHash(slice.indices.filter { !slice[$0] }, data.inputHashes),
                           valid: byHash(slice.indices.filter { slice[$0] }, data.inputHashes))
        if held.valid.isEmpty && tuner != nil { throw FXError.data("too few pairs to tune on: no label has two pairs to hold one out (give --valid)") }
        return held
    }

    /// The --valid pairs (with their stable hashes, which order the held-out pairs).
    private func readValid(_ path: String, tokenizer: Tokenizer, _ tool: ToolRun) throws -> TrainingData {
        let v = TrainingData(tokenizer: tokenizer)
        v.hashSeed = trainer.seed
        try tool.inputs.forEachRecord([path]) { record, _ in try v.add(record, inputField: inputField, targetField: targetField) }
        guard v.count > 0 else { throw FXError.data("no pairs to validate on", at: path) }
        return v
    }

    /// A new model for the pairs: the base extended to their words and labels, or one from scratch.
    private func fresh(_ base: TextModel?, settings: FeatureSettings, loss: Loss, data: TrainingData, vocabulary: [String]) -> TextModel {
        if let base {
            let labelCounts = Dictionary(uniqueKeysWithValues: zip(data.labels, data.labelCounts))
            return base.extend(words: vocabulary, labels: data.labels, labelCounts: labelCounts, loss: loss, seed: trainer.seed)
        }
        return TextModel(settings: settings, loss: loss, words: vocabulary, labels: data.labels, labelCounts: data.labelCounts, seed: trainer.seed)
    }

    /// What a model needs from its training pairs before training: inverse document frequencies, and, from
    /// scratch, which hash buckets they touch.
    static func prepare(_ model: TextModel, on train: FeaturizedData, scratch: Bool) {
        model.setInverseDocumentFrequencies(train)
        guard scratch else { return }
        var touched = [Bool](repeating: false, count: model.settings.buckets)
        for f in train.features where Int(f) < model.settings.buckets { touched[Int(f)] = true }
        model.touchedBuckets = touched
    }

    /// fx-train --base (linear) without --base-always: the base fine-tuned, and a model trained from scratch,
    /// on the pairs outside the held-out ones, scored by accuracy on them.
    struct BaseChoice {
        var base: Double
        var scratch: Double
        var validPairs: Int
        /// The base when it scores at least as well: a tie keeps what the user asked for.
        var keepsBase: Bool { base >= scratch }
        var json: JSONValue {
            .object([JSONMember("base_valid_accuracy", JSONValue(base)), JSONMember("scratch_valid_accuracy", JSONValue(scratch)),
                     JSONMember("valid_pairs", JSONValue(validPairs)), JSONMember("kept", .string(keepsBase ? "base" : "scratch"))])
        }
    }

    /// `scratch`: the settings from scratch (--tune's choice, or the options; an lr of 0 is the default rate);
    /// `known`: its score when --tune measured it already.
    private func compare(_ base: TextModel, scratch: Tuner.Candidate, defaultLoss: Loss, known: Double?, data: TrainingData,
                         held: HeldOut, vocabulary: [String], _ tool: ToolRun) -> BaseChoice {
        func score(_ base: TextModel?) -> Double {
            let model = fresh(base, settings: scratch.features, loss: base == nil ? scratch.loss : defaultLoss, data: data, vocabulary: vocabulary)
            let pairs = held.featurize(data, for: model)
            Self.prepare(model, on: pairs.train, scratch: base == nil)
            var trainer = self.trainer
            (trainer.progress, trainer.log, trainer.patience) = (false, nil, nil)
            if base == nil { trainer.epochs = scratch.epochs }
            let lr = base == nil && scratch.lr > 0 ? scratch.lr : self.lr
            trainer.lr = lr ?? Trainer.defaultRate(model, negatives: trainer.negatives)
            _ = trainer.train(model, on: pairs.train, valid: nil)
            return Trainer.accuracy(model, pairs.valid)
        }
        let choice = BaseChoice(base: score(base), scratch: known ?? score(nil), validPairs: held.valid.count)
        let points = String(format1: abs(choice.base - choice.scratch) * 100)
        var line = "--base \(basePath!): valid accuracy \(String(format1: choice.base * 100))% from the base, \(String(format1: choice.scratch * 100))% from scratch"
        line += " on \(choice.validPairs) held-out pairs\(validPath.map { " of \($0)" } ?? ""); "
        line += choice.keepsBase ? "fine-tuning the base (\(points) points ahead)" : "training from scratch, \(points) points ahead (--base-always keeps the base)"
        tool.note(line)
        return choice
    }

    /// fx-train --tune: the search, on the held-out pairs, and what it chose on stderr as options to paste back.
    private func tune(_ tuner: Tuner, data: TrainingData, held: HeldOut, vocabulary: [String], start: Tuner.Candidate, _ tool: ToolRun) throws -> Tuner.Result {
        /// A model that only maps words and labels to rows, for featurizing.
        func rows(_ f: FeatureSettings) -> TextModel {
            TextModel(settings: f, loss: .ova, words: vocabulary, labels: data.labels, labelCounts: data.labelCounts, seed: nil)
        }
        var result = tuner.search(start: start, trainCount: held.train.count, validCount: held.valid.count, labelCount: data.labels.count,
                                  vocabularySize: vocabulary.count, multiLabel: data.hasMultiLabel, model: { c in
            TextModel(settings: c.features, loss: c.loss, words: vocabulary, labels: data.labels, labelCounts: data.labelCounts, seed: tuner.seed)
        }, featurize: { f, n, v in held.featurize(data, for: rows(f), train: n, valid: v) })
        result.validPairs = held.valid.count
        var line = "tune: \(result.trials.count) trials in \(String(format1: result.seconds)) s"
        line += " (on \(result.rungSizes.map(String.init).joined(separator: ", ")) training pairs"
        line += ", \(tuner.threads) at once\(result.dropped > 0 ? ", \(result.dropped) stopped by the budget" : ""))"
        line += " on \(result.validPairs) held-out pairs\(validPath == nil ? "" : " of \(validPath!)"): valid accuracy \(String(format1: result.best.accuracy * 100))% on \(result.rungSizes[result.best.rung]) pairs"
        if let defaults = result.defaults { line += " (the defaults: \(String(format1: defaults.accuracy * 100))%)" }
        tool.note(line + "; chose \(result.best.candidate.options)")
        return result
    }
}
