import Foundation
@testable import FXCore
import Testing

/// SmolLM2-135M-Instruct's byte-level BPE against the ids Hugging Face computes for it
/// (Tests/Fixtures/smollm2-tokens.json, written by Tests/Fixtures/make_smollm2_tokens.py with
/// `AutoTokenizer.from_pretrained("models", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")`), and the parts that need
/// no model on toy vocabularies.
@Suite struct ByteLevelBPETests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `make models` fetches it; $FX_SMOLLM overrides.
    static let smollm = ProcessInfo.processInfo.environment["FX_SMOLLM"] ?? root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    nonisolated(unsafe) static let fixtures: [String: Any] = {
        let data = (try? Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/smollm2-tokens.json"))) ?? Data()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }()

    /// The tokenizer read from the GGUF file, once; nil (with a note) when the file is absent.
    static let tokenizer: Result<ByteLevelBPE, FXError>? = {
        guard FileManager.default.fileExists(atPath: smollm) else {
            print("note: \(smollm) is missing (run `make models`): SmolLM2 tokenizer tests skipped")
            return nil
        }
        do { return .success(try ByteLevelBPE(gguf: GGUFFile(path: smollm))) } catch let error as FXError { return .failure(error) } catch {
            return .failure(FXError.data("\(error)"))
        }
    }()

    static func model() throws -> ByteLevelBPE? { try tokenizer?.get() }

    static func ids(_ value: Any?) -> [Int32] { (value as? [Int] ?? []).map(Int32.init) }

    @Test("ids, decoding and decoding without specials equal Hugging Face's for 84 texts: scripts, emoji, code, white space, digits, specials")
    func texts() throws {
        guard let bpe = try Self.model() else { return }
        let cases = Self.fixtures["cases"] as? [[String: Any]] ?? []
        #expect(cases.count == 84)
        var roundTrips = 0
        for c in cases {
            let text = c["text"] as! String, want = Self.ids(c["ids"])
            let decoded = c["decoded"] as! String
            let got = bpe.encode(text)
            #expect(got == want, "\(text.debugDescription.prefix(80))")
            #expect(bpe.decode(want) == decoded, "\(text.debugDescription.prefix(80))")
            #expect(bpe.decode(want, skipSpecial: true) == c["decoded_skip_special"] as! String, "\(text.debugDescription.prefix(80))")
            if decoded == text {
                #expect(bpe.decode(got) == text)
                roundTrips += 1
            }
        }
        // All but three: SmolLM2 has no token for bytes 0x04, 0x06 and 0x1D, nor for 0xF1 (U+50000's first byte).
        #expect(roundTrips == 81)
    }

    @Test("decoding ids that split characters or spell invalid UTF-8 replaces as Hugging Face does")
    func partialCharacters() throws {
        guard let bpe = try Self.model() else { return }
        let cases = Self.fixtures["decode"] as? [[String: Any]] ?? []
        #expect(cases.count == 14)
        for c in cases {
            let ids = Self.ids(c["ids"])
            #expect(bpe.decode(ids) == c["decoded"] as! String, "\(ids)")
            #expect(bpe.decode(ids, skipSpecial: true) == c["decoded_skip_special"] as! String, "\(ids)")
        }
    }

    @Test("every Debian description and every French line: the same number of ids and the same hash of them")
    func corpora() throws {
        guard let bpe = try Self.model() else { return }
        let corpora = Self.fixtures["corpora"] as? [String: [String: Any]] ?? [:]
        let jsonl = try String(contentsOf: Self.root.appendingPathComponent("examples/descriptions.jsonl"), encoding: .utf8)
        let descriptions = jsonl.split(separator: "\n").map {
            (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["text"] as! String
        }
        let french = try String(contentsOf: Self.root.appendingPathComponent("examples/descriptions.fr"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (name, texts) in [("descriptions.jsonl", descriptions), ("descriptions.fr", french)] {
            let want = try #require(corpora[name])
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325, count = 0
            for text in texts {
                for id in bpe.encode(text) {
                    count += 1
                    for shift in stride(from: 0, to: 32, by: 8) {
                        hash = (hash ^ UInt64(UInt32(bitPattern: id) >> UInt32(shift) & 0xFF)) &* 0x100_0000_01B3
                    }
                }
            }
            #expect(texts.count == want["texts"] as! Int, "\(name)")
            #expect(count == want["ids"] as! Int, "\(name)")
            #expect(String(hash, radix: 16).leftPadded(16) == want["fnv1a64"] as! String, "\(name)")
        }
    }

    @Test("the vocabulary: size, special tokens, the ids of chat markers, token bytes")
    func vocabulary() throws {
        guard let bpe = try Self.model() else { return }
        #expect(bpe.count == 49152)
        #expect(bpe.id(of: "<|endoftext|>") == 0)
        #expect(bpe.id(of: "<|im_start|>") == 1)
        #expect(bpe.id(of: "<|im_end|>") == 2)
        #expect(bpe.id(of: "Ġthe") != nil)
        #expect(bpe.id(of: "no such token") == nil)
        #expect((0..<17).allSatisfy { bpe.isSpecial($0) })
        #expect(!bpe.isSpecial(17) && !bpe.isSpecial(-1) && !bpe.isSpecial(49152))
        #expect(bpe.tokenBytes(2) == Array("<|im_end|>".utf8))
        #expect(bpe.tokenBytes(bpe.id(of: "Ġthe")!) == Array(" the".utf8))
        #expect(bpe.tokenBytes(-1).isEmpty && bpe.tokenBytes(49152).isEmpty)
        // Streaming: the tokens' bytes, joined, are the text's bytes.
        let text = "Élève 👨‍👩‍👧 naïve\t<|im_end|>\n"
        #expect(bpe.encode(text).flatMap { bpe.tokenBytes($0) } == Array(text.utf8))
    }

    @Test("merging through the heap gives what scanning gives, on every piece of the long text and on runs")
    func heapEqualsScan() throws {
        guard let bpe = try Self.model() else { return }
        let cases = Self.fixtures["cases"] as? [[String: Any]] ?? []
        var work = ByteLevelBPE.Work()
        var pieces: [[UInt8]] = []
        for c in cases {
            let text = Array((c["text"] as! String).utf8)
            text.withUnsafeBufferPointer { buffer in
                var scratch = ByteLevelSplit.Scratch()
                bpe.split.split(buffer, &scratch) { pieces.append(Array(buffer[$0])) }
            }
        }
        pieces += [Array(String(repeating: " ", count: 500).utf8), Array(String(repeating: "ab", count: 300).utf8),
                   Array(String(repeating: "!?", count: 300).utf8), Array(String(repeating: "é", count: 200).utf8)]
        for piece in pieces {
            var merged: [[Int32]] = []
            for heap in [false, true] {
                work.symbols = piece.compactMap { bpe.id(of: ByteLevelBPE.spell([$0])) }
                bpe.merge(&work, heap: heap)
                merged.append(work.symbols)
            }
            #expect(merged[0] == merged[1], "\(String(decoding: piece, as: UTF8.self).prefix(40))")
        }
    }

    @Test("hostile input never traps: random bytes as text, random and out-of-range ids")
    func hostile() throws {
        guard let bpe = try Self.model() else { return }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = String(decoding: bytes, as: UTF8.self)
            let ids = bpe.encode(text)
            #expect(ids.allSatisfy { $0 >= 0 && Int($0) < bpe.count })
            _ = bpe.decode((0..<16).map { _ in Int32.random(in: -5...49160, using: &generator) })
        }
        #expect(bpe.decode([-1, 49152, Int32.max, 104]) == "x")
    }

    // MARK: - Without the model

    @Test("the split regexes cut text as tokenizers' Split does: GPT-2's, Llama 3's and Qwen2's")
    func splits() throws {
        let cases = Self.fixtures["splits"] as? [[String: Any]] ?? []
        #expect(cases.count == 11)
        for c in cases {
            let text = c["text"] as! String
            for (name, split) in [("gpt2", ByteLevelSplit.gpt2), ("llama3", .llama3), ("qwen2", .qwen2)] {
                var pieces: [String] = []
                var bytes = Array(text.utf8)
                bytes.withUnsafeMutableBufferPointer { buffer in
                    var scratch = ByteLevelSplit.Scratch()
                    split.split(UnsafeBufferPointer(buffer), &scratch) { pieces.append(String(decoding: buffer[$0], as: UTF8.self)) }
                }
                #expect(pieces == c[name] as! [String], "\(name): \(text.debugDescription)")
            }
        }
    }

    @Test("white space is Unicode's White_Space, letters and numbers as Oniguruma's tables have them")
    func classes() {
        for v: UInt32 in [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000] {
            #expect(ByteLevelSplit.classify(v) == ByteLevelSplit.space, "\(v)")
        }
        for v: UInt32 in [0x1C, 0x1F, 0x200B, 0xFEFF, 0x301, 0x88F, 0x323B0, 0x2B73A] {
            #expect(ByteLevelSplit.classify(v) == ByteLevelSplit.other, "\(v)")
        }
        #expect(ByteLevelSplit.classify(0xE9) == ByteLevelSplit.letter)
        #expect(ByteLevelSplit.classify(0x65E5) == ByteLevelSplit.letter)
        #expect(ByteLevelSplit.classify(0xBD) == ByteLevelSplit.number)
        #expect(ByteLevelSplit.classify(0x0967) == ByteLevelSplit.number)
    }

    /// A toy vocabulary: the 256 byte characters, then the merges' results.
    static func toy(_ merges: [String], extra: [(String, Int)] = [], pre: String = "smollm") throws -> ByteLevelBPE {
        var tokens = (0..<256).map { ByteLevelBPE.spell([UInt8($0)]) }
        for m in merges { tokens.append(m.replacingOccurrences(of: " ", with: "")) }
        var types = [Int](repeating: 1, count: tokens.count)
        for (token, type) in extra {
            tokens.append(token)
            types.append(type)
        }
        return try ByteLevelBPE(tokens: tokens, types: types, merges: merges, pre: pre)
    }

    @Test("merges by rank, the leftmost of equals first; a byte with no token is dropped")
    func toyMerges() throws {
        let bpe = try Self.toy(["a a", "b c", "a bc", "Ġ a"])
        let aa = Int32(256), bc = Int32(257), abc = Int32(258), spaceA = Int32(259)
        #expect(bpe.encode("aaa") == [aa, 97])
        #expect(bpe.encode("abc") == [abc])
        #expect(bpe.encode("aabc") == [aa, bc])  // "a a" outranks "a bc"
        #expect(bpe.encode(" a") == [spaceA])
        #expect(bpe.encode("") == [])
        #expect(bpe.decode([aa, bc, spaceA]) == "aabc a")

        var tokens = (0..<256).map { ByteLevelBPE.spell([UInt8($0)]) }
        tokens.remove(at: 4)  // no token for 0x04
        let holey = try ByteLevelBPE(tokens: tokens, types: [], merges: [], pre: "gpt2")
        #expect(holey.encode("a\u{4}b") == [97 - 1, 98 - 1])
    }

    @Test("control and user-defined tokens match whole, longest first; control ones are special")
    func toyAdded() throws {
        let bpe = try Self.toy([], extra: [("<s>", 3), ("<ss>", 3), ("<think>", 4), ("<bad token>", 3), ("<unused>", 5)])
        let s = Int32(256), ss = Int32(257), think = Int32(258)
        #expect(bpe.encode("x<ss>y<s>") == [120, ss, 121, s])
        #expect(bpe.encode("<think><s") == [think, 60, 115])
        #expect(bpe.encode("<bad token>").count == 11)  // has a raw space: not added, as transformers does
        #expect(bpe.encode("<unused>").count == 8)
        #expect(bpe.isSpecial(s) && bpe.isSpecial(ss) && !bpe.isSpecial(think))
        #expect(bpe.decode([s, 120, think], skipSpecial: true) == "x<think>")
        #expect(bpe.tokenBytes(259) == Array("<bad token>".utf8))
    }

    @Test("unknown pre-tokenizers, broken merges and mismatched types are errors")
    func errors() throws {
        #expect(throws: FXError.self) { try Self.toy([], pre: "tekken") }
        #expect(throws: FXError.self) { try Self.toy(["a b c"]) }
        #expect(throws: FXError.self) { try ByteLevelBPE(tokens: ["a", "b"], types: [], merges: ["a b"], pre: "gpt2") }
        #expect(throws: FXError.self) { try ByteLevelBPE(tokens: ["a", "b"], types: [1], merges: [], pre: "gpt2") }
        #expect(throws: FXError.self) { try ByteLevelBPE(tokens: [], types: [], merges: [], pre: "gpt2") }
        _ = try Self.toy([], pre: "llama-bpe")
        _ = try Self.toy([], pre: "qwen2")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
