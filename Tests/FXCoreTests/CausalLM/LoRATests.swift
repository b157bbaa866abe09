import Foundation
@testable import FXCore
import Testing

/// LoRA fine-tuning of the causal LM on a tiny Llama written here (2 layers, width 32, grouped-query attention,
/// SmolLM2's tokenizer and chat template): the training forward pass against the inference one, gradients against
/// finite differences (with and without dropout), the assistant-only mask, the model file, PEFT's names, the
/// merged GGUF, reproducibility and bad records.
@Suite(.serialized) struct LoRATests {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fx-lora-tests-\(getpid())")

    /// A random tiny Llama with SmolLM2's tokenizer and chat template, written to `name` in the test folder.
    static func tinyModel(_ name: String = "tiny.gguf", seed: UInt64 = 7) throws -> String {
        let path = folder.appendingPathComponent(name).path
        if FileManager.default.fileExists(atPath: path) { return path }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = try GGUFFile(path: LlamaTests.path)
        var w = GGUFWriter()
        for key in source.keys where key.hasPrefix("tokenizer.") { w.set(key, source.metadata[key]!, as: source.valueType(key)) }
        let (width, heads, kvHeads, ff, layers) = (32, 4, 2, 64, 2)
        let vocabulary = source.metadata["tokenizer.ggml.tokens"]!.strings!.count
        w.set("general.architecture", .string("llama"))
        w.set("general.name", .string("tiny"))
        for (key, value) in [("block_count", layers), ("embedding_length", width), ("attention.head_count", heads),
                             ("attention.head_count_kv", kvHeads), ("feed_forward_length", ff), ("context_length", 512)] {
            w.set("llama." + key, .uint(UInt64(value)))
        }
        w.set("llama.rope.freq_base", .float(10_000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float(1e-5))
        var rng = SplitMix64(seed: seed)
        func random(_ inputs: Int, _ outputs: Int, bound: Float? = nil) -> [Float] {
            let b = bound ?? 1 / Float(inputs).squareRoot()
            return (0..<(inputs * outputs)).map { _ in Float.random(in: -b...b, using: &rng) }
        }
        let kvWidth = width / heads * kvHeads
        w.add("token_embd.weight", shape: [width, vocabulary], floats: random(width, vocabulary, bound: 1))
        for l in 0..<layers {
            let p = "blk.\(l)."
            w.add(p + "attn_norm.weight", shape: [width], floats: [Float](repeating: 1, count: width))
            w.add(p + "attn_q.weight", shape: [width, width], floats: random(width, width))
            w.add(p + "attn_k.weight", shape: [width, kvWidth], floats: random(width, kvWidth))
            w.add(p + "attn_v.weight", shape: [width, kvWidth], floats: random(width, kvWidth))
            w.add(p + "attn_output.weight", shape: [width, width], floats: random(width, width))
            w.add(p + "ffn_norm.weight", shape: [width], floats: [Float](repeating: 1, count: width))
            w.add(p + "ffn_gate.weight", shape: [width, ff], floats: random(width, ff))
            w.add(p + "ffn_up.weight", shape: [width, ff], floats: random(width, ff))
            w.add(p + "ffn_down.weight", shape: [ff, width], floats: random(ff, width))
        }
        w.add("output_norm.weight", shape: [width], floats: [Float](repeating: 1, count: width))
        try w.write(to: path)
        return path
    }

    /// Adapters whose B are random too (they start at zero), so that every gradient is non-zero.
    static func randomAdapters(_ model: LlamaModel, dropout: Float = 0, rank: Int = 4, seed: UInt64 = 3) -> LoRAAdapters {
        var settings = LoRASettings()
        (settings.rank, settings.alpha, settings.dropout) = (rank, 8, dropout)
        let adapters = LoRAAdapters(model.config, settings, seed: seed)
        var rng = SplitMix64(seed: seed ^ 99)
        for p in adapters.parameters where p.name.hasSuffix("lora_B.weight") {
            for i in p.value.values.indices { p.value.values[i] = Float.random(in: -0.3...0.3, using: &rng) }
        }
        return adapters
    }

    static func record(_ json: String) throws -> Record {
        let bytes = Array(json.utf8)
        return try bytes.withUnsafeBufferPointer { try Record(parsing: $0) }
    }

    static func document(_ model: LlamaModel) -> CausalSequence {
        let ids = model.encode("The quick brown fox jumps over the lazy dog, and then it runs away.")
        return CausalSequence(ids: ids, labels: Array(ids.dropFirst()) + [-1])
    }

    @Test("the training forward pass gives the inference pass's loss, with the adapters merged or not")
    func forwardAgrees() throws {
        let model = try LlamaModel(path: Self.tinyModel())
        let adapters = Self.randomAdapters(model)
        let doc = Self.document(model)
        let pass = LoRATrainingPass(model, adapters)
        pass.training = false
        let trained = pass.run([doc, doc], lossScale: 0, backward: false)
        let merged = model.merged(adapters).documentLosses([doc.ids], threads: 1)[0]
        #expect(trained.count == 2 * merged.predicted)
        #expect(abs(trained.nats / 2 - merged.nats) < 1e-4 * merged.nats, "\(trained.nats / 2) against \(merged.nats)")
        // With B at zero the adapters change nothing.
        let zero = LoRATrainingPass(model, LoRAAdapters(model.config, LoRASettings(), seed: 1))
        zero.training = false
        let base = model.documentLosses([doc.ids], threads: 1)[0]
        #expect(abs(zero.run([doc], lossScale: 0, backward: false).nats - base.nats) < 1e-4 * base.nats)
    }

    @Test("gradients of A and B in every projection agree with finite differences, with dropout too", arguments: [Float(0), 0.2])
    func gradients(dropout: Float) throws {
        let model = try LlamaModel(path: Self.tinyModel())
        let adapters = Self.randomAdapters(model, dropout: dropout)
        let doc = Self.document(model)
        let chat = CausalSequence(ids: Array(doc.ids.prefix(9)), labels: [-1, -1, -1, -1] + Array(doc.ids[5..<9]) + [-1])
        let batch = [doc, chat]
        let pass = LoRATrainingPass(model, adapters)
        pass.dropoutSeed = 12345
        func loss() -> Double { pass.run(batch, lossScale: 0, backward: false).nats }
        for p in adapters.parameters { p.zeroGradient() }
        _ = pass.run(batch, lossScale: 1, backward: true)
        var rng = SplitMix64(seed: 5)
        var checked = 0
        for p in adapters.parameters where p.name.contains("layers.0.") || p.name.contains("layers.1.mlp") {
            for _ in 0..<2 {
                let i = Int(rng.next() % UInt64(p.value.values.count))
                let saved = p.value.values[i], eps: Float = 1e-2
                p.value.values[i] = saved + eps
                let up = loss()
                p.value.values[i] = saved - eps
                let down = loss()
                p.value.values[i] = saved
                let numeric = (up - down) / Double(2 * eps), analytic = Double(p.gradient.values[i])
                #expect(abs(numeric - analytic) <= 0.02 * max(abs(numeric), abs(analytic)) + 2e-3, "\(p.name)[\(i)]: \(analytic) against \(numeric)")
                checked += 1
            }
        }
        #expect(checked == 2 * 7 * 2 + 2 * 3 * 2)
    }

    @Test("a dropout mask: eight at a time as one at a time, drawn again the same, the rate kept, the kept scaled")
    func dropoutMask() {
        let mask = DropoutMask(base: 99, rate: 0.05), count = 100_003
        let values = (0..<count).map { Float($0 % 17) + 1 }
        var out = [Float](repeating: -1, count: count), again = [Float](repeating: 2, count: count)
        mask.apply(values, count: count, into: &out, adding: false)
        mask.apply(values, count: count, into: &again, adding: true)
        var dropped = 0, wrong = 0
        for i in 0..<count {
            let s = mask.scale(at: i)
            if s == 0 { dropped += 1 } else if s != 1 / Float(0.95) { wrong += 1 }
            if out[i] != values[i] * s || again[i] != 2 + values[i] * s { wrong += 1 }
        }
        #expect(wrong == 0)
        #expect(abs(Double(dropped) / Double(count) - 0.05) < 0.003)
        let other = DropoutMask(base: 100, rate: 0.05)
        #expect((0..<count).contains { other.scale(at: $0) != mask.scale(at: $0) })
    }

    @Test("conversations: the assistant turns (with their end of turn) carry the loss, every turn of several; documents all of it")
    func mask() throws {
        let model = try LlamaModel(path: Self.tinyModel())
        func learned(_ messages: [ChatMessage]) throws -> String {
            let s = try model.trainingSequences(.chat(messages), maxLength: 512).sequences[0]
            return model.tokenizer.decode(s.labels.filter { $0 >= 0 }, skipSpecial: false)
        }
        let one = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello there.")]
        #expect(try learned(one) == "Hello there.<|im_end|>\n")
        let two = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello."),
                   ChatMessage(role: "user", content: "Name a colour."), ChatMessage(role: "assistant", content: "Blue.")]
        #expect(try learned(two) == "Hello.<|im_end|>\nBlue.<|im_end|>\n")
        // The ids are the generation prompt's followed by the reply's: training sees what generation will.
        let s = try model.trainingSequences(.chat(one), maxLength: 512).sequences[0]
        let prompt = model.tokenizer.encode(try model.prompt([one[0]]))
        #expect(Array(s.ids.prefix(prompt.count)) == prompt)
        #expect(s.labels[prompt.count - 1] == s.ids[prompt.count] && s.labels[prompt.count - 2] == -1)
        // Documents: every token and the end of text; long ones in pieces; cut conversations are counted.
        let doc = try model.trainingSequences(.document("one two three four five six seven"), maxLength: 4)
        #expect(doc.sequences.count == 2 && !doc.cut && doc.sequences.allSatisfy { $0.ids.count <= 4 })
        #expect(doc.sequences[1].ids.last == model.eosToken)
        let cut = try model.trainingSequences(.chat(one), maxLength: prompt.count + 2)
        #expect(cut.cut && cut.sequences[0].ids.count == prompt.count + 2)
        #expect(try model.trainingSequences(.chat(one), maxLength: prompt.count - 1).sequences.isEmpty)
    }

    @Test("records that have nothing to learn are clear errors")
    func badRecords() throws {
        let reader = ConversationReader()
        for (line, message) in [
            (#"{"messages":[{"role":"user","content":"Hi"}]}"#, "no reply to learn from"),
            (#"{"prompt":"Hi","completion":""}"#, "an empty reply"),
            (#"{"messages":[{"role":"user","content":7}]}"#, "messages[0] is not an object with a string 'role' and 'content'"),
            (#"{"prompt":"Hi"}"#, "no reply to learn from"),
            (#"{"text":""}"#, "an empty document"),
        ] {
            #expect(throws: FXError.self) { _ = try reader.readForTraining(try Self.record(line)) }
            do { _ = try reader.readForTraining(try Self.record(line)) } catch let error as FXError { #expect(error.reason.contains(message), "\(error.reason)") }
        }
        let ok = try reader.readForTraining(try Self.record(#"{"instruction":"Say hi","input":"","output":"Hi"}"#))
        guard case .chat(let messages) = ok else { Issue.record("not a chat"); return }
        #expect(messages.map(\.role) == ["user", "assistant"] && messages[1].content == "Hi")
    }

    @Test("saved and loaded through PEFT's names gives the same model; a different base is refused, naming both files")
    func modelFile() throws {
        let path = try Self.tinyModel()
        let model = try LlamaModel(path: path)
        let adapters = Self.randomAdapters(model)
        let file = Self.folder.appendingPathComponent("tuned.fxm").path
        try LoRAFile.save(file, adapters: adapters, base: LoRAFile.Base(path: path), training: [])
        guard case .causal(let loaded) = try FXModel.load(file) else { Issue.record("not a causal model"); return }
        let merged = model.merged(adapters)
        let ids = Self.document(model).ids
        let a = merged.forward([ids], caches: [KVCache(merged.config, capacity: 64)]), b = loaded.forward([ids], caches: [KVCache(loaded.config, capacity: 64)])
        #expect(a == b)
        // Hugging Face's row order and back.
        let rows = (0..<(32 * 3)).map(Float.init)
        #expect(LoRAAdapters.reorderHeads(LoRAAdapters.reorderHeads(rows, heads: 4, headDim: 8, cols: 3, toHuggingFace: true), heads: 4, headDim: 8, cols: 3, toHuggingFace: false) == rows)
        #expect(adapters.peftTensors().keys.contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"))
        // The base beside the model is checked by its hash.
        let other = try Self.tinyModel("other.gguf", seed: 8)
        do {
            _ = try FXModel.load(file, baseModel: other)
            Issue.record("a different base was accepted")
        } catch let error as FXError {
            #expect(error.reason.contains("tiny.gguf") && error.reason.contains(other) && error.place == file, "\(error.reason)")
        }
        // The merged GGUF runs as the merged model does.
        let exported = Self.folder.appendingPathComponent("merged.gguf").path
        try LoRAFile.exportGGUF(merged, base: path, to: exported, as: .f32)
        let reread = try LlamaModel(path: exported)
        #expect(reread.forward([ids], caches: [KVCache(reread.config, capacity: 64)]) == a)
        #expect(reread.chatTemplate != nil && reread.tokenizer.encode("Hello") == model.tokenizer.encode("Hello"))
    }

    @Test("--threads 1 is reproducible, and training lowers the loss")
    func reproducible() throws {
        let model = try LlamaModel(path: Self.tinyModel())
        let data = (0..<12).map { i -> CausalSequence in
            let ids = model.encode("Item \(i): the answer is \(i % 3).")
            return CausalSequence(ids: ids, labels: Array(ids.dropFirst()) + [-1])
        }
        func train() -> ([[Float]], CausalTrainer.Report) {
            var trainer = CausalTrainer()
            (trainer.epochs, trainer.batchTokens, trainer.lr, trainer.warmup) = (4, 64, 1e-2, 2)
            let adapters = LoRAAdapters(model.config, LoRASettings(), seed: 1)
            let report = trainer.train(model, adapters, on: data)
            return (adapters.parameters.map(\.value.values), report)
        }
        let (first, report) = train(), (second, _) = train()
        #expect(first == second)
        var trainer = CausalTrainer()
        let adapters = LoRAAdapters(model.config, LoRASettings(), seed: 1)
        let before = trainer.meanLoss(data, [LoRATrainingPass(model, adapters)])
        for (p, values) in zip(adapters.parameters, first) { p.value.values = values }
        trainer.threads = 1
        let after = trainer.meanLoss(data, [LoRATrainingPass(model, adapters)])
        #expect(after < before - 0.5, "\(before) -> \(after)")
        #expect(report.steps > 4 && report.tokens > 0)
    }
}
