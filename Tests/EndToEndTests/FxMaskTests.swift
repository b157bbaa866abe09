import Foundation
import Testing
import FXCore

/// fx's spacing split back into tokens: on the space byte, not on Characters (a space can start a grapheme).
func tokens(_ value: Any?) -> [String] {
    (value as! String).utf8.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }
}

@Suite struct FxMaskTests {
    let corpus = repoRoot.appendingPathComponent("examples/corpus.jsonl.gz").path

    @Test("token mode over 10,000 real descriptions: 15% selected, 80/10/10 replaced")
    func shares() throws {
        let r = try run("fx-mask", [corpus, "--seed", "5", "--max-words", "0"])  // whole documents, to compare with
        #expect(r.status == 0)
        // The documents, to count their words and compare each example with its original.
        let docs = try shell("zcat \(corpus)").records
        #expect(docs.count == 10_000)
        var tokensById: [String: [String]] = [:]
        var words = 0
        let tokenizer = Tokenizer()
        for d in docs {
            let tokens = tokenizer.tokensWithKinds(d["text"] as! String)
            tokensById[d["id"] as! String] = tokens.map(\.token)
            let w = tokens.filter { $0.kind == .word }.count
            if w >= 2 { words += w }
        }
        var masked = 0, random = 0, kept = 0
        for e in r.records {
            let original = try #require(tokensById[e["id"] as! String])
            let input = tokens(e["input"])
            let position = e["position"] as! Int
            #expect(input.count == original.count)
            #expect(e["target"] as? String == original[position])
            #expect(e["text"] == nil && e["label"] != nil)
            var rest = input
            rest[position] = original[position]
            #expect(rest == original, "only the selected word changes")
            switch input[position] {
            case "[MASK]": masked += 1
            case original[position]: kept += 1
            default: random += 1
            }
        }
        let selected = Double(r.records.count)
        #expect(abs(selected / Double(words) - 0.15) < 0.01)
        #expect(abs(Double(masked) / selected - 0.8) < 0.02)
        #expect(abs(Double(random) / selected - 0.1) < 0.02)
        #expect(abs(Double(kept) / selected - 0.1) < 0.02)
        #expect(r.stderr.hasPrefix("fx-mask: 10000 documents -> \(r.records.count) examples; selected \(r.records.count) of \(words) words"))
    }

    @Test("the same seed gives the same bytes, another seed others")
    func seeds() throws {
        let a = try run("fx-mask", [corpus, "--seed", "1", "-q"])
        let b = try run("fx-mask", [corpus, "--seed", "1", "-q"])
        let c = try run("fx-mask", [corpus, "--seed", "2", "-q"])
        #expect(!a.stdout.isEmpty && a.stdout == b.stdout && a.stdout != c.stdout)
    }

    @Test("masked in two halves and concatenated, a corpus gives the same bytes as masked whole", arguments: ["token", "span"])
    func partitions(mode: String) throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            zcat \(corpus) > all.jsonl && split -n l/2 all.jsonl part.
            fx-mask --mode \(mode) --copies 2 -q part.aa > a.out && fx-mask --mode \(mode) --copies 2 -q part.ab > b.out
            fx-mask --mode \(mode) --copies 2 -q all.jsonl > whole.out
            cat a.out b.out | cmp - whole.out && test -s a.out && test -s b.out && echo same
            """, in: s.url)
        #expect(r.stdout == "same\n", "\(r.stderr)")
    }

    @Test("span mode: the worked example, and sentinels that put every document back together")
    func spans() throws {
        // The T5 paper's example (Raffel et al. 2019, figure 2): 11 tokens, round(11 x 0.27) = 3 noise tokens in
        // round(3 / 1.5) = 2 spans; seed 90 happens to pick the paper's spans.
        let example = try run("fx-mask", ["--mode", "span", "--rate", "0.27", "--mean-span", "1.5", "--seed", "90", "-q"],
                              stdin: #"{"text":"Thank you for inviting me to your party last week."}"#)
        #expect(example.lines == [#"{"input":"Thank you <extra_id_0> me to your party <extra_id_1> week .","target":"<extra_id_0> for inviting <extra_id_1> last <extra_id_2>"}"#])
        let r = try run("fx-mask", [corpus, "--mode", "span", "--rate", "0.15", "--mean-span", "3", "--max-words", "0", "-q"])
        let docs = try shell("zcat \(corpus)").records
        #expect(r.records.count == docs.count)
        for (doc, e) in zip(docs, r.records) {
            let original = Tokenizer().tokens(doc["text"] as! String)
            let input = tokens(e["input"])
            let target = tokens(e["target"])
            // Cut the target at its sentinels: spans[k] follows <extra_id_k>; the last sentinel closes it.
            var spans: [[String]] = []
            for token in target {
                if token == "<extra_id_\(spans.count)>" { spans.append([]) } else { spans[spans.count - 1].append(token) }
            }
            #expect(spans.last == [])
            spans.removeLast()
            var rebuilt: [String] = []
            var next = 0
            for token in input {
                if token == "<extra_id_\(next)>" { rebuilt += spans[next]; next += 1 } else { rebuilt.append(token) }
            }
            #expect(next == spans.count && rebuilt == original)
            #expect(spans.joined().count == SpanCorruption.counts(tokens: original.count, rate: 0.15, meanSpan: 3)!.noise)
        }
    }

    @Test("every document of two words or more gives an example, per word and joint; the summary counts the forced ones", arguments: [[], ["--joint"]])
    func noDocumentDropsOut(extra: [String]) throws {
        // At 15%, a three-word text has 0.45 words to mask: most draws select none.
        let docs = (0..<200).map { #"{"id":\#($0),"text":"word\#($0) and more"}"# } + [#"{"id":"short","text":"alone"}"#]
        let r = try run("fx-mask", ["--seed", "3"] + extra, stdin: docs.joined(separator: "\n"))
        #expect(r.status == 0)
        let ids = Set(r.records.compactMap { $0["id"] as? Int })
        #expect(ids == Set(0..<200), "\(200 - ids.count) documents wrote nothing")
        #expect(!r.records.contains { $0["id"] as? String == "short" })
        let forced = r.stderr.split(separator: ";").first { $0.contains("had one word selected") }
        let count = Int(forced?.split(separator: " ").first ?? "") ?? 0
        #expect(count > 100 && count < 200, "\(r.stderr)")
        #expect(r.stderr.contains("(1 with fewer than 2 words passed over)"))
    }

    @Test("joint and next modes")
    func otherModes() throws {
        let doc = #"{"id":7,"text":"one two three four five six"}"#
        let joint = try run("fx-mask", ["--joint", "--rate", "0.5", "--replace", "1,0,0"], stdin: doc)
        let j = try #require(joint.records.first)
        let positions = j["positions"] as! [Int]
        #expect(positions.count == 3 && (j["target"] as! [String]).count == 3 && j["id"] as? Int == 7)
        #expect((j["input"] as! String).split(separator: " ").enumerated().allSatisfy { positions.contains($0.offset) == ($0.element == "[MASK]") })
        let next = try run("fx-mask", ["--mode", "next", "--window", "2", "--min-context", "2", "--stride", "2"], stdin: doc)
        #expect(next.lines == [#"{"input":"one two","target":"three","position":2,"id":7}"#, #"{"input":"three four","target":"five","position":4,"id":7}"#])
    }

    @Test("a long document is masked in pieces of --max-words words, each example of its own")
    func pieces() throws {
        let words = (0..<1100).map { "w\($0)" }
        let doc = #"{"text":""# + words.joined(separator: " ") + #""}"#
        let r = try run("fx-mask", ["--seed", "1"], stdin: doc)
        #expect(r.status == 0 && (160...170).contains(r.records.count), "\(r.records.count) examples")
        // Each input is one piece (512, 512, then 76 words) with its target word put back at its position.
        var pieces = Set<[String]>()
        for e in r.records {
            var input = tokens(e["input"])
            input[e["position"] as! Int] = e["target"] as! String
            pieces.insert(input)
        }
        #expect(pieces.sorted { $0[0].count < $1[0].count || ($0[0].count == $1[0].count && $0[0] < $1[0]) }
            == [Array(words[0..<512]), Array(words[512..<1024]), Array(words[1024...])])
        let whole = try run("fx-mask", ["--seed", "1", "--max-words", "0"], stdin: doc)
        #expect(whole.records.allSatisfy { tokens($0["input"]).count == 1100 })
        let spans = try run("fx-mask", ["--mode", "span", "--max-words", "500"], stdin: doc)
        #expect(spans.records.count == 3)
    }

    @Test("random words come from --vocab when given")
    func vocabulary() throws {
        let s = try Scratch()
        defer { s.remove() }
        let vocab = try s.write("v.vec", "2 3\nzebra 0 0 0\nquokka 0 0 0\n")
        let r = try run("fx-mask", ["--replace", "0,1,0", "--vocab", vocab, "--rate", "0.5"], stdin: #"{"text":"alpha beta gamma delta"}"#)
        #expect(r.records.count == 2)
        #expect(r.records.allSatisfy { ($0["input"] as! String).contains("zebra") || ($0["input"] as! String).contains("quokka") })
    }

    @Test("bad input per DESIGN.md: place named, skip goes on and exits 1, broken pipe quiet")
    func badInput() throws {
        let input = #"{"text":"a fine sentence here"}"# + "\n" + #"{"text": 5}"# + "\n{oops\n" + #"{"text":"another fine sentence"}"# + "\n"
        let fail = try run("fx-mask", ["--seed", "1"], stdin: input)
        #expect(fail.status == 1)
        #expect(fail.stderr == "fx-mask: <stdin>:2: field 'text' is number, not a string\n")
        let skip = try run("fx-mask", ["--on-error", "skip", "-q"], stdin: input)
        #expect(skip.status == 1)
        #expect(skip.stderr.contains("<stdin>:3: invalid JSON") && skip.stderr.contains("skipped 2 bad records"))
        #expect(Set(skip.records.map { $0["target"] as! String }).count >= 1)
        let empty = try run("fx-mask", [])
        #expect(empty.status == 0 && empty.stdout.isEmpty)
        let scratch = try Scratch()  // for err
        defer { scratch.remove() }
        let pipe = try shell("fx-mask \(corpus) 2>err | head -1 >/dev/null; echo ${PIPESTATUS[0]}; cat err", in: scratch.url)
        #expect(pipe.stdout == "0\n")
        #expect(try run("fx-mask", ["--replace", "0.5,0.5,0.5"]).status == 64)
    }

    @Test("--jsonl: a piece of JSON Lines whose first line is bad is a bad record, not a plain-text document")
    func jsonl() throws {
        let piece = "not json\n{\"text\":\"one two three four\"}\n"
        let detected = try run("fx-mask", ["--seed", "1"], stdin: piece)
        #expect(detected.status == 0 && detected.records.count == 1 && detected.records[0]["path"] as? String == "-", "read as one text document")
        let forced = try run("fx-mask", ["--seed", "1", "--jsonl", "--on-error", "skip"], stdin: piece)
        #expect(forced.status == 1, "\(forced.stderr)")
        #expect(forced.stderr.contains("fx-mask: <stdin>:1: invalid JSON"))
        #expect(forced.records.count == 1 && forced.records[0]["path"] == nil, "the good record, as a record")
        let archive = try run("fx-mask", ["--jsonl", repoRoot.appendingPathComponent("examples/corpus.jsonl.gz").path])
        #expect(archive.status == 1, "--jsonl reads even a compressed file as lines")
        #expect(try run("fx-mask", ["--jsonl", "--lines"]).status == 64)
    }
}
