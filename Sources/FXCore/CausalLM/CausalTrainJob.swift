import ArgumentParser

/// fx-train's run on a causal language model (`--base` a GGUF file, or an fx-lora file to train further): LoRA
/// adapters trained on conversations (their assistant turns) or documents, written atomically as one fx-lora file,
/// and on request as PEFT's adapter folder and as a merged GGUF.
public struct CausalTrainJob {
    public var trainer = CausalTrainer()
    public var lora = LoRASettings()
    /// Tokens per example at most (documents are split in pieces of this length).
    public var maxLength = 512
    /// Where the base GGUF of an fx-lora `--base` is, when not beside it or under models/.
    public var baseModel: String?
    public var exportPEFT: String?
    public var exportGGUF: String?
    public var ggufType = GGMLType.f16
    /// Validation records whose replies are generated for chrF at each evaluation.
    public var generatedRecords = 200
    public var reader = ConversationReader()

    public init() {}

    /// Whether `path` is a model this job fine-tunes: a GGUF file, or an fx-lora file.
    public static func accepts(_ path: String) -> Bool {
        LlamaModel.isGGUF(path) || (try? SafeTensors.read(path))?.metadata["format"] == LoRAFile.formatName
    }

    public func run(_ tool: ToolRun, files: [String], basePath: String, validPath: String?, outputPath: String) throws {
        for path in [outputPath] + [exportGGUF].compactMap({ $0 }) { try AtomicFile.checkWritable(path) }
        let model: LlamaModel, adapters: LoRAAdapters, ggufPath: String
        if LlamaModel.isGGUF(basePath) {
            model = try LlamaModel(path: basePath)
            adapters = LoRAAdapters(model.config, lora, seed: trainer.seed)
            ggufPath = basePath
        } else {
            let (tensors, metadata) = try SafeTensors.read(basePath)
            (model, adapters, ggufPath) = try LoRAFile.load(tensors: tensors, metadata: metadata, name: basePath, baseModel: baseModel)
        }
        let base = try LoRAFile.Base(path: ggufPath)
        func sequences(_ files: [String]) throws -> (data: [CausalSequence], records: Int, cut: Int, empty: Int, chats: [([ChatMessage], String)]) {
            var data: [CausalSequence] = [], records = 0, cut = 0, empty = 0, chats: [([ChatMessage], String)] = []
            try tool.inputs.forEachRecord(files) { record, _ in
                let example = try reader.readForTraining(record)
                let (s, wasCut) = try model.trainingSequences(example, maxLength: maxLength)
                records += 1
                if wasCut { cut += 1 }
                if s.isEmpty { empty += 1 }
                data += s
                if case .chat(let messages) = example, chats.count < generatedRecords, let reply = messages.last?.content,
                   let lastUser = messages.lastIndex(where: { $0.role == "user" }) {
                    chats.append((Array(messages[...lastUser]), reply))
                }
            }
            return (data, records, cut, empty, chats)
        }
        let train = try sequences(files)
        guard !train.data.isEmpty else { throw FXError.data("nothing to train on: no conversation or document in the input") }
        var trainer = self.trainer
        trainer.progress = trainer.progress && !tool.quiet
        trainer.note = { tool.note($0) }
        if let validPath {
            let valid = try sequences([validPath])
            guard !valid.data.isEmpty else { throw FXError.data("nothing to validate on", at: validPath) }
            trainer.valid = valid.data
            if !valid.chats.isEmpty {
                let prompts = try valid.chats.map { model.tokenizer.encode(try model.prompt($0.0)) }
                var sampling = SamplingSettings()
                sampling.maxNewTokens = 64
                let threads = trainer.threads
                trainer.score = { adapters in
                    let generator = Generator(model.merged(adapters), settings: sampling, threads: threads)
                    var metrics = TextMetrics()
                    for (reply, chat) in zip(generator.generate(prompts), valid.chats) {
                        metrics.add(hypothesis: generator.model.tokenizer.decode(reply.tokens, skipSpecial: true), reference: chat.1)
                    }
                    return metrics.chrF
                }
            }
        }
        let tokens = train.data.reduce(0) { $0 + $1.ids.count }, learned = train.data.reduce(0) { $0 + $1.trained }
        Interruption.stopOnFirstInterrupt()
        let report = trainer.train(model, adapters, on: train.data)
        try LoRAFile.save(outputPath, adapters: adapters, base: base, training: [
            JSONMember("records", JSONValue(train.records)), JSONMember("tokens", JSONValue(tokens)), JSONMember("steps", JSONValue(report.steps)),
            JSONMember("epochs", JSONValue(report.epochs)), JSONMember("lr", JSONValue(trainer.lr)), JSONMember("batch_tokens", JSONValue(trainer.batchTokens)),
            JSONMember("max_length", JSONValue(maxLength)), JSONMember("seed", .number(String(trainer.seed))), JSONMember("base", .string(basePath)),
        ])
        if let folder = exportPEFT { try LoRAFile.exportPEFT(adapters, base: base, to: folder) }
        if let path = exportGGUF { try LoRAFile.exportGGUF(model.merged(adapters), base: ggufPath, to: path, as: ggufType) }
        let s = adapters.settings
        var line = "\(train.records) records (\(tokens) tokens, \(learned) of them learned); LoRA rank \(s.rank), alpha \(s.alpha.formatted) on "
        line += "\(s.targets.count == LoRATarget.allCases.count ? "every projection" : s.targets.map(\.rawValue).joined(separator: ","))"
        line += " (\(adapters.trainableCount) trainable parameters); \(report.steps) steps, \(String(format1: report.epochs)) epochs in "
        line += "\(String(format1: report.seconds)) s (\(Int(report.tokensPerSecond)) tokens/s), final loss \(report.finalLoss)"
        if report.outOfTime { line += "; stopped by --max-time" }
        if !report.scores.isEmpty {
            let what = trainer.score != nil ? "valid chrF" : "valid loss"
            let values = trainer.score != nil ? report.scores : report.validLosses
            let shown = values.map { trainer.score != nil ? String(format1: $0) : String(Float($0)) }
            line += "; \(what) by evaluation \(shown.joined(separator: " ")), kept epoch \(String(format1: report.bestAt))"
        }
        if train.cut > 0 { line += "; \(train.cut) conversations cut to \(maxLength) tokens" }
        if train.empty > 0 { line += "; \(train.empty) with nothing to learn within \(maxLength) tokens left out" }
        if report.interrupted { line += "; stopped by Ctrl-C, the adapters trained so far saved" }
        tool.note(line + " -> \(outputPath)")
        if report.interrupted { throw ExitCode(Interruption.status) }
    }
}

extension Float {
    /// The shortest text that reads back as the same value, without a trailing ".0".
    var formatted: String {
        let text = String(self)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}
