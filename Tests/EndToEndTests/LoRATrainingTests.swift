import Foundation
import FXCore
import Testing

/// fx-train --base MODEL.gguf as a user runs it, on a tiny random Llama written here with SmolLM2's tokenizer and
/// chat template (models/SmolLM2-135M-Instruct.Q4_1.gguf from `make models`): it learns to copy words it never saw
/// together, and the model file, its exports, its base and bad records behave.
@Suite(.serialized) struct LoRATrainingTests {
    static let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fx-lora-e2e-\(getpid())")
    let smollm = ProcessInfo.processInfo.environment["FX_SMOLLM"] ?? repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// A random Llama of 2 layers, width 32, 4 query and 2 key/value heads.
    func tinyModel(_ name: String, seed: UInt64) throws -> String {
        let path = Self.folder.appendingPathComponent(name).path
        try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
        let source = try GGUFFile(path: smollm)
        var w = GGUFWriter()
        for key in source.keys where key.hasPrefix("tokenizer.") { w.set(key, source.metadata[key]!, as: source.valueType(key)) }
        w.set("general.architecture", .string("llama"))
        for (key, value) in [("block_count", 2), ("embedding_length", 32), ("attention.head_count", 4), ("attention.head_count_kv", 2),
                             ("feed_forward_length", 64), ("context_length", 512)] {
            w.set("llama." + key, .uint(UInt64(value)))
        }
        var rng = SplitMix64(seed: seed)
        func random(_ shape: [Int], bound: Float? = nil) -> [Float] {
            let b = bound ?? 1 / Float(shape[0]).squareRoot()
            return (0..<shape.reduce(1, *)).map { _ in Float.random(in: -b...b, using: &rng) }
        }
        w.add("token_embd.weight", shape: [32, source.metadata["tokenizer.ggml.tokens"]!.strings!.count], floats: random([32, 49152], bound: 1))
        for l in 0..<2 {
            for (name, shape) in [("attn_q", [32, 32]), ("attn_k", [32, 16]), ("attn_v", [32, 16]), ("attn_output", [32, 32]),
                                  ("ffn_gate", [32, 64]), ("ffn_up", [32, 64]), ("ffn_down", [64, 32])] {
                w.add("blk.\(l).\(name).weight", shape: shape, floats: random(shape))
            }
            for name in ["attn_norm", "ffn_norm"] { w.add("blk.\(l).\(name).weight", shape: [32], floats: [Float](repeating: 1, count: 32)) }
        }
        w.add("output_norm.weight", shape: [32], floats: [Float](repeating: 1, count: 32))
        try w.write(to: path)
        return path
    }

    /// "Copy: apple river" -> "apple river" for pairs of 16 words, in OpenAI's chat format.
    func copyTask() -> (train: String, test: String) {
        let words = "apple river stone cloud green music paper window garden silver orange planet forest candle bridge yellow".split(separator: " ")
        var pairs = words.flatMap { a in words.map { b in "\(a) \(b)" } }
        var rng = SplitMix64(seed: 1)
        pairs.shuffle(using: &rng)
        func chat(_ p: String) -> String { #"{"messages":[{"role":"user","content":"Copy: \#(p)"},{"role":"assistant","content":"\#(p)"}]}"# + "\n" }
        return (pairs[..<200].map(chat).joined(), pairs[200..<240].map(chat).joined())
    }

    @Test("a tiny model learns to copy word pairs it never saw; the file, PEFT's folder and the merged GGUF agree")
    func copy() throws {
        guard FileManager.default.fileExists(atPath: smollm) else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: smollm]) }
        let base = try tinyModel("tiny.gguf", seed: 7)
        let (train, test) = copyTask()
        let dir = Self.folder.path
        try train.write(toFile: dir + "/train.jsonl", atomically: true, encoding: .utf8)
        try test.write(toFile: dir + "/valid.jsonl", atomically: true, encoding: .utf8)
        let before = try run("fx-eval", ["-m", base, "--max-new-tokens", "8", "-q"], stdin: test)
        #expect(before.status == 0 && (before.records.first?["exact_match"] as? Double ?? 1) < 0.2, "\(before.stdout)\(before.stderr)")
        let args = ["--base", base, dir + "/train.jsonl", "--epochs", "60", "--lr", "5e-3", "--lora-dropout", "0", "--batch-tokens", "256", "--threads", "1",
                    "--valid", dir + "/valid.jsonl"]
        let t = try run("fx-train", args + ["-o", dir + "/copy.fxm", "--export-peft", dir + "/peft", "--export-gguf", dir + "/merged.gguf", "--log", dir + "/log.jsonl"])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stderr.contains("200 records") && t.stderr.contains("LoRA rank 16, alpha 32 on every projection"), "\(t.stderr)")
        // --valid: the loss and chrF of greedy replies, four times, the best kept.
        #expect(t.stderr.contains("valid chrF by evaluation") && t.stderr.contains("kept epoch"), "\(t.stderr)")
        let after = try run("fx-eval", ["-m", dir + "/copy.fxm", "--max-new-tokens", "8", "-q"], stdin: test)
        #expect(after.status == 0 && (after.records.first?["exact_match"] as? Double ?? 0) >= 0.8, "\(after.stdout)\(after.stderr)")
        // The merged GGUF answers as the model file does.
        let p1 = try run("fx-eval", ["-m", dir + "/copy.fxm", "--predict", "--max-new-tokens", "8", "-q"], stdin: test)
        let p2 = try run("fx-eval", ["-m", dir + "/merged.gguf", "--predict", "--max-new-tokens", "8", "-q"], stdin: test)
        #expect(p1.status == 0 && p1.stdout == p2.stdout)
        // PEFT's folder.
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/peft/adapter_config.json"))) as? [String: Any] ?? [:]
        #expect(config["r"] as? Int == 16 && config["peft_type"] as? String == "LORA" && (config["target_modules"] as? [String])?.count == 7)
        #expect(FileManager.default.fileExists(atPath: dir + "/peft/adapter_model.safetensors"))
        let log = (try? String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8)) ?? ""
        #expect(log.split(separator: "\n").count >= 4 && log.contains("tokens_per_s") && log.contains("valid_chrf"))
        // --threads 1 is reproducible.
        let again = try run("fx-train", args + ["-o", dir + "/again.fxm", "-q"])
        #expect(again.status == 0 && FileManager.default.contents(atPath: dir + "/again.fxm") == FileManager.default.contents(atPath: dir + "/copy.fxm"))
    }

    @Test("the base must be the file it was trained from; bad records are data errors at their line")
    func errors() throws {
        guard FileManager.default.fileExists(atPath: smollm) else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: smollm]) }
        let base = try tinyModel("base.gguf", seed: 11)
        let dir = Self.folder.path
        let one = #"{"prompt":"Copy: a","completion":"a"}"# + "\n"
        let t = try run("fx-train", ["--base", base, "-o", dir + "/one.fxm", "--epochs", "1", "-q"], stdin: one)
        #expect(t.status == 0, "\(t.stderr)")
        let other = try tinyModel("other.gguf", seed: 12)
        let wrong = try run("fx-eval", ["-m", dir + "/one.fxm", "--base-model", other, "--predict", "-q"], stdin: one)
        #expect(wrong.status == 1 && wrong.stderr.contains("base.gguf") && wrong.stderr.contains("other.gguf"), "\(wrong.stderr)")
        // Beside the model under another name, it is not found.
        let moved = Self.folder.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: moved, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: moved.path + "/one.fxm")
        try FileManager.default.copyItem(atPath: dir + "/one.fxm", toPath: moved.path + "/one.fxm")
        let missing = try run("fx-eval", ["-m", moved.path + "/one.fxm", "--predict", "-q"], stdin: one)
        #expect(missing.status == 1 && missing.stderr.contains("--base-model"), "\(missing.stderr)")
        let found = try run("fx-eval", ["-m", moved.path + "/one.fxm", "--base-model", base, "--predict", "-q"], stdin: one)
        #expect(found.status == 0, "\(found.stderr)")
        // Training further from the fine-tuned file.
        let further = try run("fx-train", ["--base", dir + "/one.fxm", "-o", dir + "/two.fxm", "--epochs", "1", "-q"], stdin: one)
        #expect(further.status == 0, "\(further.stderr)")

        let bad = one + #"{"messages":[{"role":"user","content":"Hi"}]}"# + "\n" + #"{"prompt":"x","completion":""}"# + "\n"
        let b = try run("fx-train", ["--base", base, "-o", dir + "/bad.fxm", "--epochs", "1", "-q"], stdin: bad)
        #expect(b.status == 1 && b.stderr.contains(":2") && b.stderr.contains("no reply to learn from"), "\(b.stderr)")
        let skipped = try run("fx-train", ["--base", base, "-o", dir + "/skip.fxm", "--epochs", "1", "--on-error", "skip", "-q"], stdin: bad)
        #expect(skipped.status == 1 && FileManager.default.fileExists(atPath: dir + "/skip.fxm"), "\(skipped.stderr)")
        let empty = try run("fx-train", ["--base", base, "-o", dir + "/empty.fxm", "-q"], stdin: "")
        #expect(empty.status == 1 && empty.stderr.contains("nothing to train on"), "\(empty.stderr)")

        // Ctrl-C saves the adapters trained so far, after a complete step, and says so; exit status 130.
        let stopped = try shell("""
            for i in $(seq 40); do printf '%s\\n' '\(one.dropLast())'; done > many.jsonl
            fx-train --base \(base) many.jsonl -o stopped.fxm --epochs 100000 --batch-tokens 64 & pid=$!
            sleep 3; kill -INT $pid; wait $pid; echo $?
            fx-eval -m stopped.fxm --predict --max-new-tokens 2 -q < many.jsonl | wc -l
            """, in: Self.folder)
        #expect(stopped.lines == ["130", "40"] && stopped.stderr.contains("stopped by Ctrl-C"), "\(stopped.stdout)\(stopped.stderr)")
    }
}
