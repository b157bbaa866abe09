import Foundation
@testable import FXCore
import Testing

/// SmolLM2-135M-Instruct (the GGUF file `make models` fetches) against values transformers computed from the same
/// file in float32 (Tests/Fixtures/smollm2-logits.json, written by Tests/Fixtures/make_smollm2_logits.py), sampling
/// that does not depend on threads or batching, the record formats, and loading errors on small files written here.
@Suite(.serialized) struct LlamaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `make models` fetches it; $FX_SMOLLM overrides.
    static let path = ProcessInfo.processInfo.environment["FX_SMOLLM"] ?? root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    nonisolated(unsafe) static let fixtures: [String: Any] = {
        let data = (try? Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/smollm2-logits.json"))) ?? Data()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }()
    nonisolated(unsafe) static var loaded: LlamaModel?

    static func model() throws -> LlamaModel {
        if let loaded { return loaded }
        guard FileManager.default.fileExists(atPath: path) else { throw FXError.io("SmolLM2 is missing: run `make models`", at: path) }
        let model = try LlamaModel(path: path)
        loaded = model
        return model
    }

    static func messages(_ json: Any?) -> [ChatMessage] {
        (json as? [[String: String]] ?? []).map { ChatMessage(role: $0["role"] ?? "", content: $0["content"] ?? "") }
    }

    @Test("the shipped model's shape, special tokens and template come from its metadata")
    func metadata() throws {
        let model = try Self.model()
        let c = model.config
        let shape: [Int] = [c.layers, c.width, c.heads, c.kvHeads, c.headDim, c.feedForward, c.vocabulary]
        let expected: [Int] = [30, 576, 9, 3, 64, 1536, 49152]
        #expect(shape == expected)
        #expect(c.ropeBase == 100_000 && c.ropeDims == 64 && abs(c.epsilon - 1e-5) < 1e-9)
        #expect(model.outputWeight == nil, "input and output embeddings are tied")
        #expect(model.stopTokens.contains(model.tokenizer.id(of: "<|im_end|>")!))
        #expect(!model.addsBOS)
    }

    @Test("prompt ids and next-token logits (within 1e-3) equal transformers' on three conversations, and the first one's greedy reply")
    func logits() throws {
        let model = try Self.model()
        let cases = Self.fixtures["conversations"] as? [[String: Any]] ?? []
        #expect(cases.count == 3)
        for c in cases {
            let ids = model.tokenizer.encode(try model.prompt(Self.messages(c["messages"])))
            #expect(ids == (c["prompt_ids"] as! [Int]).map(Int32.init))
            let logits = model.forward([ids], caches: [KVCache(model.config, capacity: ids.count)])
            for (key, values) in [("top_ids", "top_logits"), ("fixed_ids", "fixed_logits")] {
                for (id, want) in zip(c[key] as! [Int], c[values] as! [Double]) {
                    #expect(abs(Double(logits[id]) - want) < 1e-3, "logit of \(id): \(logits[id]) against \(want)")
                }
            }
            let best = logits.indices.max { logits[$0] < logits[$1] }!
            #expect(best == (c["top_ids"] as! [Int])[0])
            guard c["messages"] as? [[String: String]] == (cases.first?["messages"] as? [[String: String]]) else { continue }
            var settings = SamplingSettings()
            settings.maxNewTokens = 16
            let reply = Generator(model, settings: settings, threads: 1).generate([ids])[0].tokens
            var want = (c["greedy"] as! [Int]).map(Int32.init)
            if let last = want.last, model.stopTokens.contains(last) { want.removeLast() }
            #expect(reply == want)
        }
    }

    @Test("document loss equals transformers' with labels = input_ids, in one piece and in pieces of 7 tokens")
    func documentLoss() throws {
        let model = try Self.model()
        let docs = Self.fixtures["documents"] as? [[String: Any]] ?? []
        #expect(docs.count == 2)
        let ids = docs.map { model.encode($0["text"] as! String) }
        for (d, doc) in docs.enumerated() { #expect(ids[d] == (doc["ids"] as! [Int]).map(Int32.init)) }
        for chunk in [512, 7] {
            for (loss, doc) in zip(model.documentLosses(ids, threads: 2, chunk: chunk), docs) {
                #expect(abs(loss.nats / Double(loss.predicted) - (doc["loss"] as! Double)) < 1e-4)
            }
        }
    }

    @Test("sampled replies depend only on the seed and the prompt, not on threads or batch size (also end to end, with the release tools)")
    func samplingDeterminism() throws {
        let model = try Self.model()
        let questions = ["Name a colour.", "What is Debian?", "Name a fruit."]
        let prompts = try questions.map { model.tokenizer.encode(try model.prompt([ChatMessage(role: "user", content: $0)])) }
        var settings = SamplingSettings()
        (settings.maxNewTokens, settings.temperature, settings.topK, settings.topP, settings.seed) = (4, 0.9, 40, 0.95, 7)
        var outputs: [[[Int32]]] = []
        for (threads, batch) in [(1, 1), (2, 2)] {
            let generator = Generator(model, settings: settings, threads: threads)
            generator.batch = batch
            outputs.append(generator.generate(prompts).map(\.tokens))
        }
        #expect(outputs[1] == outputs[0])
        #expect(outputs[0].allSatisfy { $0.count == 4 })
    }

    @Test("top-k and top-p keep the most likely tokens only")
    func topKAndP() throws {
        let model = try Self.model()
        var settings = SamplingSettings()
        settings.temperature = 1
        settings.topK = 2
        let generator = Generator(model, settings: settings, threads: 1)
        var logits: [Float] = [0, 5, 1, 4.9, -3]
        var rng = SplitMix64(seed: 1)
        var seen = Set<Int32>()
        for _ in 0..<200 { seen.insert(logits.withUnsafeMutableBufferPointer { generator.pick($0, &rng) }) }
        #expect(seen == [1, 3])
        generator.settings.topK = 0
        generator.settings.topP = 0.5
        seen = []
        for _ in 0..<200 { seen.insert(logits.withUnsafeMutableBufferPointer { generator.pick($0, &rng) }) }
        #expect(seen == [1], "the most likely token alone reaches half of the mass")
        let largest = logits.withUnsafeMutableBufferPointer { Generator.largest($0, 3).map(\.id) }
        #expect(largest == [1, 3, 2])
    }

    @Test("another architecture, a missing tensor and a shape that disagrees with the metadata are errors naming the file")
    func loadingErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fx-llama-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, arch: String, skip: String? = nil, wrongShape: String? = nil) throws -> String {
            var w = GGUFWriter()
            w.set("general.architecture", .string(arch))
            for (k, v) in [("block_count", 1), ("embedding_length", 8), ("attention.head_count", 2), ("attention.head_count_kv", 1),
                           ("feed_forward_length", 16), ("context_length", 32)] { w.set("\(arch).\(k)", .uint(UInt64(v))) }
            w.set("tokenizer.ggml.model", .string("gpt2"))
            w.set("tokenizer.ggml.pre", .string("smollm"))
            let tokens = ["a", "b", "c", "ab"]
            w.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
            w.set("tokenizer.ggml.token_type", .array(tokens.map { _ in .int(1) }))
            w.set("tokenizer.ggml.merges", .array([.string("a b")]))
            let shapes: [(String, [Int])] = [("token_embd.weight", [8, 4]), ("output_norm.weight", [8]), ("blk.0.attn_norm.weight", [8]),
                ("blk.0.attn_q.weight", [8, 8]), ("blk.0.attn_k.weight", [8, 4]), ("blk.0.attn_v.weight", [8, 4]),
                ("blk.0.attn_output.weight", [8, 8]), ("blk.0.ffn_norm.weight", [8]), ("blk.0.ffn_gate.weight", [8, 16]),
                ("blk.0.ffn_up.weight", [8, 16]), ("blk.0.ffn_down.weight", [16, 8])]
            for (n, shape) in shapes where n != skip {
                let s = n == wrongShape ? shape.map { $0 * 2 } : shape
                w.add(n, shape: s, floats: [Float](repeating: 0.5, count: s.reduce(1, *)), as: .f32)
            }
            let path = dir.appendingPathComponent(name).path
            try w.write(to: path)
            return path
        }
        let good = try write("good.gguf", arch: "llama")
        let tiny = try LlamaModel(path: good)
        #expect(tiny.config.layers == 1)
        #expect(tiny.forward([[0, 1, 3]], caches: [KVCache(tiny.config, capacity: 3)]).count == 4)
        for (path, words) in [(try write("qwen.gguf", arch: "qwen3"), "architecture 'qwen3'"),
                              (try write("missing.gguf", arch: "llama", skip: "blk.0.ffn_up.weight"), "no tensor blk.0.ffn_up.weight"),
                              (try write("shape.gguf", arch: "llama", wrongShape: "blk.0.attn_k.weight"), "blk.0.attn_k.weight")] {
            do {
                _ = try LlamaModel(path: path)
                Issue.record("\(path) loaded")
            } catch let error as FXError {
                #expect(error.kind == .data && error.description.contains(path) && error.description.contains(words), "\(error)")
            }
        }
    }
}

@Suite struct ConversationTests {
    func record(_ json: String) throws -> Record {
        var bytes = Array(json.utf8)
        return try bytes.withUnsafeMutableBufferPointer { try Record(parsing: UnsafeBufferPointer($0)) }
    }

    @Test("each format fx-pair writes becomes a conversation and the reply it expects")
    func formats() throws {
        var reader = ConversationReader()
        func chat(_ json: String) throws -> ([ChatMessage], String?) {
            guard case .chat(let m, let t) = try reader.read(try record(json)) else { throw FXError.data("not a chat") }
            return (m, t)
        }
        let user = { ChatMessage(role: "user", content: $0) }
        var (m, t) = try chat(#"{"messages":[{"role":"system","content":"S"},{"role":"user","content":"Q1"},{"role":"assistant","content":"A1"},{"role":"user","content":"Q2"},{"role":"assistant","content":"A2"}]}"#)
        #expect(m == [ChatMessage(role: "system", content: "S"), user("Q1"), ChatMessage(role: "assistant", content: "A1"), user("Q2")] && t == "A2")
        (m, t) = try chat(#"{"prompt":"P","completion":"C"}"#)
        #expect(m == [user("P")] && t == "C")
        (m, t) = try chat(#"{"instruction":"Do","input":"this","output":"done"}"#)
        #expect(m == [user("Do\n\nthis")] && t == "done")
        (m, t) = try chat(#"{"instruction":"Do","input":""}"#)
        #expect(m == [user("Do")] && t == nil)
        (m, t) = try chat(#"{"input":"I","target":"T","id":3}"#)
        #expect(m == [user("I")] && t == "T")
        reader.system = "Be brief."
        (m, _) = try chat(#"{"prompt":"P"}"#)
        #expect(m == [ChatMessage(role: "system", content: "Be brief."), user("P")])
        (m, _) = try chat(#"{"messages":[{"role":"system","content":"S"},{"role":"user","content":"Q"}]}"#)
        #expect(m.first?.content == "S", "a conversation's own system message stays")
        guard case .document(let text) = try reader.read(try record(#"{"text":"a document","label":"x"}"#)) else { Issue.record("not a document"); return }
        #expect(text == "a document")
        for bad in [#"{"messages":"hi"}"#, #"{"messages":[{"role":"assistant","content":"A"}]}"#, #"{"messages":[{"role":"user"}]}"#, #"{"prompt":3}"#, #"{"id":1}"#] {
            #expect(throws: FXError.self, "\(bad)") { try reader.read(try record(bad)) }
        }
    }
}
