import Foundation
import Testing

/// Text to text through the built tools: fx-train's transformer, fx-eval's BLEU/chrF and --predict.
@Suite struct TranslationTests {
    static let words = "alpha bravo charlie delta echo foxtrot golf hotel".split(separator: " ").map(String.init)

    /// Pairs of 2 to 6 random words and `task` of them, as JSON Lines.
    func pairs(_ n: Int, seed: UInt64, _ task: ([String]) -> [String]) -> String {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<n).map { _ in
            let s = (0..<(2 + next(5))).map { _ in Self.words[next(Self.words.count)] }
            return #"{"input":"\#(s.joined(separator: " "))","target":"\#(task(s).joined(separator: " "))"}"#
        }.joined(separator: "\n") + "\n"
    }

    static let tiny = "--arch transformer --dim 64 --heads 4 --ff 128 --layers 2 --dropout 0 --lr 2e-3 --warmup 200 --batch-tokens 500 --vocab-size 400"

    func report(_ r: Run) -> [String: Any] { r.records.first ?? [:] }

    /// 15 epochs: 8 were already enough here (exact match 1 on both tasks).
    @Test("a tiny transformer learns to copy and to reverse unseen word sequences perfectly", arguments: ["copy", "reverse"])
    func copyAndReverse(task: String) throws {
        let s = try Scratch()
        defer { s.remove() }
        let f: ([String]) -> [String] = task == "copy" ? { $0 } : { $0.reversed() }
        try s.write("train.jsonl", pairs(5000, seed: 1, f))
        try s.write("test.jsonl", pairs(100, seed: 2, f))
        let r = try shell("fx-train train.jsonl -o m.fxm \(Self.tiny) --epochs 15 --threads 2 && fx-eval -m m.fxm test.jsonl", in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(report(r)["records"] as? Int == 100)
        #expect(report(r)["exact_match"] as? Double == 1, "\(r.stdout)")
        #expect(report(r)["bleu"] as? Double == 100)
        // 8 words of 5 letters need few merges: the vocabulary is smaller than asked, and says so.
        #expect(r.stderr.contains("fewer than --vocab-size 400"))
    }

    @Test("free-text targets train a transformer by themselves; --arch linear trains the classifier on them anyway")
    func chosenByTargets() throws {
        let s = try Scratch()
        defer { s.remove() }
        let pairs = "fx-pair --parallel en,fr \(repoRoot.path)/examples/descriptions.en \(repoRoot.path)/examples/descriptions.fr | head -300"
        let r = try shell("\(pairs) | fx-train -o t.fxm --dim 32 --heads 2 --ff 64 --layers 1 --vocab-size 1000 --epochs 1 --log t.log", in: s.url)
        let log = try String(contentsOfFile: s.path("t.log"), encoding: .utf8)
        #expect(log.hasPrefix("{\"epoch\":1,\"loss\":") && log.contains("\"tokens_per_s\":") && log.split(separator: "\n").count == 1, "\(log)")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("300 pairs, 1000 pieces"))
        #expect(try safetensorsHeader(s.path("t.fxm")).metadata["format"] as? String == "fx-seq2seq")
        let linear = try shell("\(pairs) | fx-train -o l.fxm --arch linear --epochs 1 -q", in: s.url)
        #expect(linear.status == 0)
        #expect(try safetensorsHeader(s.path("l.fxm")).metadata["format"] as? String == "fx-text-model")
    }

    @Test("the model file: safetensors with the layers' names, tokenizer and settings in the metadata; --threads 1 is bit-for-bit reproducible")
    func modelFile() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("train.jsonl", pairs(300, seed: 3, { $0 }))
        let small = "\(Self.tiny) --epochs 2 --threads 1 --seed 4 -q"
        let r = try shell("fx-train train.jsonl -o a.fxm \(small) && fx-train train.jsonl -o b.fxm \(small) && cmp a.fxm b.fxm && echo same", in: s.url)
        #expect(r.lines == ["same"], "\(r.stderr)")
        let (header, metadata, size) = try safetensorsHeader(s.path("a.fxm"))
        #expect(header["embeddings.word_embeddings.weight"] != nil)
        #expect(header["encoder.layer.1.attention.query.weight"] != nil && header["decoder.layer.0.crossattention.value.bias"] != nil)
        #expect(header["decoder.layer.1.intermediate.dense.weight"] != nil && header["decoder.norm.weight"] != nil)
        let tokenizer = try JSONSerialization.jsonObject(with: Data((metadata["tokenizer"] as! String).utf8)) as! [String: Any]
        #expect((tokenizer["pieces"] as! [String]).prefix(4) == ["<pad>", "<unk>", "<s>", "</s>"])
        let settings = try JSONSerialization.jsonObject(with: Data((metadata["settings"] as! String).utf8)) as! [String: Any]
        #expect(settings["width"] as? Int == 64 && settings["layers"] as? Int == 2)
        var end = 0
        for (name, value) in header where name != "__metadata__" {
            let t = value as! [String: Any]
            let offsets = t["data_offsets"] as! [Int]
            #expect(offsets[1] - offsets[0] == (t["shape"] as! [Int]).reduce(1, *) * 4, "\(name)")
            end = max(end, offsets[1])
        }
        #expect(end == size)
    }

    @Test("--predict writes prediction, greedy or --beam, in input order; | head -1 ends quietly; --base continues training")
    func predict() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("train.jsonl", pairs(2000, seed: 5, { $0 }))
        let r = try shell("""
            fx-train train.jsonl -o m.fxm \(Self.tiny) --epochs 12 --threads 2 -q
            printf '%s\\n' '{"id":1,"input":"golf hotel echo"}' '{"id":2,"input":"alpha delta"}' '{"id":3,"input":"bravo bravo delta"}' > new.jsonl
            fx-eval -m m.fxm --predict new.jsonl
            fx-eval -m m.fxm --predict --beam 4 new.jsonl
            fx-eval -m m.fxm --predict train.jsonl | head -1
            echo "head: ${PIPESTATUS[0]}"
            fx-train train.jsonl --base m.fxm -o tuned.fxm --epochs 1 --threads 1
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        let records = r.records
        #expect(records.count == 7)
        #expect(records.prefix(6).map { $0["id"] as? Int } == [1, 2, 3, 1, 2, 3])
        #expect(records.prefix(6).map { $0["prediction"] as? String } == ["golf hotel echo", "alpha delta", "bravo bravo delta"] + ["golf hotel echo", "alpha delta", "bravo bravo delta"])
        #expect(r.lines.last == "head: 0")
        #expect(r.stderr.contains("2000 pairs, 316 pieces"))  // the base's tokenizer, not a new one
    }

    @Test("--embed: a text-to-text model's encoder and the linear model give each record a unit vector of the model's width")
    func embed() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("train.jsonl", pairs(300, seed: 7, { $0 }))
        let r = try shell("""
            fx-train train.jsonl -o m.fxm \(Self.tiny) --epochs 1 --threads 2 -q
            fx-train train.jsonl -o linear.fxm --arch linear --dim 16 --epochs 1 -q
            head -3 train.jsonl | fx-eval -m m.fxm --embed
            head -3 train.jsonl | fx-eval -m linear.fxm --embed
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        let vectors = r.records.map { $0["embedding"] as? [Double] ?? [] }
        #expect(vectors.map(\.count) == [64, 64, 64, 16, 16, 16])
        for v in vectors { #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4) }
        #expect(vectors[0] != vectors[1])
    }

    @Test("bad input: an empty target and a non-string target name their line; long sources are cut and counted; a small vocabulary is refused")
    func badInput() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("empty.jsonl", #"{"input":"a b","target":"a b"}"# + "\n" + #"{"input":"c d","target":" "}"# + "\n")
        let empty = try shell("fx-train empty.jsonl --arch transformer -o m.fxm", in: s.url)
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("empty.jsonl:2: empty target"), "\(empty.stderr)")
        try s.write("number.jsonl", #"{"input":"a b","target":7}"# + "\n")
        let number = try shell("fx-train number.jsonl --arch transformer -o m.fxm", in: s.url)
        #expect(number.status == 1 && number.stderr.contains("number.jsonl:1: field 'target' is number, not a string"), "\(number.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.path("m.fxm")))
        let long = (0..<400).map { "w\($0 % 50)" }.joined(separator: " ")
        try s.write("long.jsonl", #"{"input":"\#(long)","target":"short one"}"# + "\n" + #"{"input":"x y","target":"y x"}"# + "\n")
        let cut = try shell("fx-train long.jsonl --arch transformer -o m.fxm --dim 32 --heads 2 --ff 32 --layers 1 --epochs 1 --vocab-size 300", in: s.url)
        #expect(cut.status == 0, "\(cut.stderr)")
        #expect(cut.stderr.contains("1 pairs cut to 256 positions"))
        let chinese = (0..<200).map { String(UnicodeScalar(0x4E00 + $0)!) + String(UnicodeScalar(0x4E00 + $0)!) }.joined(separator: " ")
        try s.write("zh.jsonl", #"{"input":"\#(chinese)","target":"\#(chinese)"}"# + "\n")
        let small = try shell("fx-train zh.jsonl --arch transformer -o m.fxm --vocab-size 300", in: s.url)
        #expect(small.status == 1 && small.stderr.contains("--vocab-size 300 is too small"), "\(small.stderr)")
    }
}
