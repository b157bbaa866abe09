import Foundation
@testable import FXCore
import Testing

/// all-MiniLM-L6-v2 against values its own libraries computed (Tests/Fixtures/minilm.json, written by
/// bench/minilm_reference.py with Hugging Face tokenizers, transformers and sentence-transformers), and loading
/// errors on small folders written here.
@Suite struct BertTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `make models` fetches it; $FX_MINILM overrides.
    static let minilm = ProcessInfo.processInfo.environment["FX_MINILM"] ?? root.appendingPathComponent("models/all-MiniLM-L6-v2").path
    nonisolated(unsafe) static let fixtures: [String: Any] = {
        let data = (try? Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/minilm.json"))) ?? Data()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }()

    static func model() throws -> EncoderModel {
        guard FileManager.default.fileExists(atPath: minilm + "/model.safetensors") else {
            throw FXError.io("all-MiniLM-L6-v2 is missing: run `make models`", at: minilm)
        }
        return try EncoderModel.loadPretrained(minilm)
    }

    @Test("WordPiece ids equal Hugging Face's for accents, CJK, emoji, punctuation runs, long words, empty and 300-word texts")
    func tokenizerIds() throws {
        let model = try Self.model()
        let cases = Self.fixtures["tokens"] as? [[String: Any]] ?? []
        #expect(cases.count == 21)
        for c in cases {
            let text = c["text"] as! String
            let want = (c["ids"] as! [Int]).map(Int32.init), want256 = (c["ids_256"] as! [Int]).map(Int32.init)
            #expect(model.tokenizer.encode(text, maxLength: .max) == want, "\(text.prefix(60))")
            #expect(model.tokenizer.encode(text, maxLength: 256) == want256, "\(text.prefix(60)) (256)")
        }
        #expect(model.maxLength == 256)
    }

    @Test("sentence vectors equal sentence-transformers' within 1e-4, in batches and one by one")
    func embeddings() throws {
        let model = try Self.model()
        let cases = Self.fixtures["embeddings"] as? [[String: Any]] ?? []
        #expect(cases.count == 8)
        let texts = cases.map { $0["text"] as! String }
        let together = model.embed(texts, threads: 2)
        for (i, c) in cases.enumerated() {
            let want = (c["embedding"] as! [Double]).map(Float.init)
            let alone = model.embed([texts[i]], threads: 1)[0]
            for got in [together[i], alone] {
                #expect(got.count == 384)
                let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 1
                #expect(worst < 1e-4, "\(texts[i]): \(worst)")
            }
        }
    }

    @Test("the inference path gives what the training path gives with dropout off")
    func applyMatchesForward() {
        var settings = BertEncoder.Settings()
        (settings.vocabulary, settings.width, settings.heads, settings.ff, settings.layers, settings.maxPositions) = (40, 16, 4, 32, 2, 16)
        let network = BertEncoder(settings, seed: 3)
        network.setTraining(false)
        let ids: [Int32] = [2, 7, 9, 3, 2, 11, 12, 13, 14, 3]
        let a = network.forward(ids, lengths: [4, 6]), b = network.apply(ids, lengths: [4, 6])
        #expect(zip(a.values, b.values).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// A small BERT folder in a temporary directory; `edit` changes the config, vocabulary or tensors first.
    static func tinyFolder(config edit: (inout [String: Any]) -> Void = { _ in }, vocabulary: [String]? = nil,
                           tensors editTensors: (inout [String: SafeTensors.Tensor]) -> Void = { _ in }) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fx-bert-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config: [String: Any] = ["model_type": "bert", "vocab_size": 12, "hidden_size": 8, "num_attention_heads": 2,
                                     "intermediate_size": 16, "num_hidden_layers": 2, "max_position_embeddings": 16,
                                     "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let pieces = vocabulary ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "##s", "."]
        try (pieces.joined(separator: "\n") + "\n").write(toFile: dir + "/vocab.txt", atomically: true, encoding: .utf8)
        var settings = BertEncoder.Settings()
        (settings.vocabulary, settings.width, settings.heads, settings.ff, settings.layers, settings.maxPositions) = (12, 8, 2, 16, 2, 16)
        var tensors: [String: SafeTensors.Tensor] = [:]
        for (name, p) in BertEncoder(settings, seed: 1).named {
            tensors["bert." + name] = SafeTensors.Tensor(p.value.values, shape: p.value.rows == 1 ? [p.value.cols] : [p.value.rows, p.value.cols])
        }
        editTensors(&tensors)
        try AtomicFile.write(dir + "/model.safetensors") { try SafeTensors.write(tensors, metadata: ["format": "pt"], to: $0) }
        return dir
    }

    func loadError(_ dir: String) -> String {
        do {
            _ = try EncoderModel.loadPretrained(dir)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    @Test("a small folder loads (with the bert. prefix), and what fx cannot use is an error naming the file")
    func loadingErrors() throws {
        let good = try Self.tinyFolder()
        let model = try EncoderModel.loadPretrained(good)
        #expect(model.tokenizer.encode("The cats sat.", maxLength: 16) == [2, 5, 6, 10, 7, 11, 3])
        #expect(model.maxLength == 16 && model.pooling == .mean)
        // The safetensors file itself, with config.json beside it.
        #expect(EncoderModel.isPretrained(good + "/model.safetensors"))
        _ = try EncoderModel.loadPretrained(good + "/model.safetensors")

        let roberta = try Self.tinyFolder(config: { $0["model_type"] = "roberta" })
        #expect(loadError(roberta).contains(roberta + "/config.json: model_type 'roberta' is not one fx runs"))
        let missing = try Self.tinyFolder(tensors: { $0["bert.encoder.layer.1.output.dense.weight"] = nil })
        #expect(loadError(missing).contains(missing + "/model.safetensors: no tensor bert.encoder.layer.1.output.dense.weight"))
        let shape = try Self.tinyFolder(config: { $0["intermediate_size"] = 20 })
        #expect(loadError(shape).contains(shape + "/model.safetensors: tensor bert.encoder.layer.0.intermediate.dense.weight is F32 [16, 8]; config.json makes it [20, 8]"))
        let vocabulary = try Self.tinyFolder(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the"])
        #expect(loadError(vocabulary).contains("vocab.txt has 5 pieces, config.json's vocab_size is 12"))
        let act = try Self.tinyFolder(config: { $0["hidden_act"] = "gelu_new" })
        #expect(loadError(act).contains("hidden_act 'gelu_new'"))
        for dir in [good, roberta, missing, shape, vocabulary, act] { try? FileManager.default.removeItem(atPath: dir) }
    }
}
