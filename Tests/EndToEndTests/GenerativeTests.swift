import Foundation
import Testing

/// SmolLM2-135M-Instruct (GGUF) through the tools, as a user runs it: replies to every record format fx-pair writes,
/// scores, perplexity, sampling across threads, pipes, and what goes wrong. The model comes from `make models`
/// (models/SmolLM2-135M-Instruct.Q4_1.gguf; $FX_SMOLLM overrides).
@Suite(.serialized) struct GenerativeTests {
    let model = ProcessInfo.processInfo.environment["FX_SMOLLM"] ?? repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    func requireModel() throws {
        guard FileManager.default.fileExists(atPath: model) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: model, NSLocalizedDescriptionKey: "run `make models` first"])
        }
    }

    @Test("--predict answers chat messages, prompt-completion, Alpaca and fx pairs, passing other fields through")
    func predictFormats() throws {
        try requireModel()
        let question = "What is the capital of France?"
        let input = [
            #"{"id":1,"messages":[{"role":"user","content":"\#(question)"},{"role":"assistant","content":"Paris."}]}"#,
            #"{"id":2,"prompt":"\#(question)","completion":"Paris."}"#,
            #"{"id":3,"instruction":"\#(question)","input":"","output":"Paris."}"#,
            #"{"id":4,"input":"\#(question)","target":"Paris.","split":"test"}"#,
        ].joined(separator: "\n") + "\n"
        let r = try run("fx-eval", ["-m", model, "--predict", "--max-new-tokens", "12", "--token-ids"], stdin: input)
        #expect(r.status == 0, "\(r.stderr)")
        let records = r.records
        #expect(records.map { $0["id"] as? Int } == [1, 2, 3, 4])
        for record in records {
            // transformers' greedy reply to this prompt (Tests/Fixtures/smollm2-logits.json).
            #expect(record["prediction"] as? String == "The capital of France is Paris.", "\(record)")
            #expect(record["token_ids"] as? [Int] == [504, 3575, 282, 4649, 314, 7042, 30])
        }
        #expect(records[3]["split"] as? String == "test" && records[0]["messages"] != nil)
        #expect(r.stderr.contains("generated 28 tokens"), "\(r.stderr)")

        // A system message changes the prompt; --k reports the most likely first tokens with their logits.
        let s = try run("fx-eval", ["-m", model, "--predict", "--max-new-tokens", "4", "--k", "3", "--system", "Answer in French.", "-q"],
                        stdin: #"{"input":"\#(question)"}"# + "\n")
        let top = s.records.first?["top"] as? [[String: Any]] ?? []
        #expect(s.status == 0 && top.count == 3 && top.allSatisfy { $0["token"] is String && $0["id"] is Int && $0["logit"] is Double }, "\(s.stdout)")
        #expect(s.stderr.isEmpty)
    }

    @Test("scored: BLEU and chrF of the replies against the expected ones; documents give perplexity equal to transformers'")
    func scores() throws {
        try requireModel()
        let chat = #"{"prompt":"What is the capital of France?","completion":"The capital of France is Paris."}"# + "\n"
            + #"{"messages":[{"role":"user","content":"What is the capital of France?"},{"role":"assistant","content":"Paris"}]}"# + "\n"
        let r = try run("fx-eval", ["-m", model, "--max-new-tokens", "12"], stdin: chat)
        #expect(r.status == 0, "\(r.stderr)")
        let report = r.records.first ?? [:]
        #expect(report["records"] as? Int == 2 && report["exact_match"] as? Double == 0.5, "\(report)")
        #expect((report["chrf"] as? Double ?? 0) > 50 && report["bleu"] != nil && report["length_ratio"] != nil)

        let fixtures = try JSONSerialization.jsonObject(with: Data(contentsOf: repoRoot.appendingPathComponent("Tests/Fixtures/smollm2-logits.json"))) as! [String: Any]
        let docs = fixtures["documents"] as! [[String: Any]]
        let input = docs.map { #"{"text":\#(String(decoding: try! JSONSerialization.data(withJSONObject: $0["text"]!, options: .fragmentsAllowed), as: UTF8.self)),"label":"x"}"# }.joined(separator: "\n") + "\n"
        let d = try run("fx-eval", ["-m", model], stdin: input)
        #expect(d.status == 0, "\(d.stderr)")
        let ppl = d.records.first ?? [:]
        var nats = 0.0, tokens = 0, bytes = 0
        for doc in docs {
            let n = (doc["ids"] as! [Int]).count - 1
            nats += (doc["loss"] as! Double) * Double(n)
            tokens += n
            bytes += (doc["text"] as! String).utf8.count
        }
        #expect(ppl["documents"] as? Int == 2 && ppl["tokens_predicted"] as? Int == tokens, "\(ppl)")
        #expect(abs((ppl["perplexity"] as? Double ?? 0) - exp(nats / Double(tokens))) < 1e-3 * exp(nats / Double(tokens)))
        #expect(abs((ppl["bits_per_byte"] as? Double ?? 0) - nats / log(2) / Double(bytes)) < 1e-3)
    }

    @Test("sampling gives the same bytes on 1 and 2 threads, and another seed another reply; greedy is the default")
    func samplingThreads() throws {
        try requireModel()
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            for q in 'Name a colour.' 'Name a fruit.' 'Say hello.' 'Name an animal.' 'Name a city.'; do printf '{"input":"%s"}\\n' "$q"; done > q.jsonl
            fx-eval -m \(model) --predict -q --max-new-tokens 8 --temperature 1.0 --top-p 0.95 --seed 3 --threads 1 q.jsonl > one.jsonl
            fx-eval -m \(model) --predict -q --max-new-tokens 8 --temperature 1.0 --top-p 0.95 --seed 3 --threads 2 q.jsonl > two.jsonl
            fx-eval -m \(model) --predict -q --max-new-tokens 8 --temperature 1.0 --top-p 0.95 --seed 4 --threads 2 q.jsonl > other.jsonl
            cmp one.jsonl two.jsonl && echo same
            cmp -s one.jsonl other.jsonl || echo differs
            wc -l < one.jsonl
            """, in: s.url)
        #expect(r.lines == ["same", "differs", "5"], "\(r.stderr)")
    }

    @Test("a pipe from fx-pair --prompt; head -1 ends quietly; a bad line is reported at its place after the records before it; an empty stream")
    func pipes() throws {
        try requireModel()
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            head -3 \(repoRoot.path)/examples/descriptions.jsonl | fx-pair --input-field text --target-field label --format openai \\
                --prompt 'Name the Debian section of this package in one word.\\n\\n{input}' -q > chat.jsonl
            grep -c 'Name the Debian section of this package in one word.\\\\n\\\\n' chat.jsonl
            fx-eval -m \(model) --predict --max-new-tokens 4 -q chat.jsonl | head -1 | wc -l; echo "status ${PIPESTATUS[0]}"
            printf '{"input":"Say yes."}\\n{"input": nope}\\n{"input":"Say no."}\\n' > bad.jsonl
            fx-eval -m \(model) --predict --max-new-tokens 4 bad.jsonl > out.jsonl; echo "status $?"; wc -l < out.jsonl
            fx-eval -m \(model) --predict < /dev/null | wc -c
            """, in: s.url)
        #expect(r.lines == ["3", "1", "status 0", "status 1", "1", "0"], "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("fx-eval: bad.jsonl:2: invalid JSON"))
    }

    @Test("a corrupt GGUF, a record without a conversation, fx-train --base on a record without a reply, fx-cluster --embed on a causal model: errors naming the place")
    func errors() throws {
        try requireModel()
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            head -c 100000 \(model) > cut.gguf
            echo '{"input":"hi"}' | fx-eval -m cut.gguf --predict; echo "status $?"
            echo '{"id":1}' | fx-eval -m \(model) --predict; echo "status $?"
            echo '{"input":"hi"}' | fx-eval -m \(model); echo "status $?"
            echo '{"input":"hi"}' | fx-train --base \(model) -o t.fxm; echo "status $?"
            echo '{"text":"hi"}' | fx-cluster -k 2 --embed \(model); echo "status $?"
            echo '{"input":"hi"}' | fx-eval -m \(model) --predict --beam 2; echo "status $?"
            """, in: s.url)
        #expect(r.lines == ["status 1", "status 1", "status 1", "status 1", "status 1", "status 64"], "\(r.stdout)\n\(r.stderr)")
        let errors = r.stderr.split(separator: "\n").map(String.init)
        #expect(errors.contains { $0.hasPrefix("fx-eval: cut.gguf:") }, "\(r.stderr)")
        #expect(errors.contains { $0.contains("<stdin>:1: no conversation") }, "\(r.stderr)")
        #expect(errors.contains { $0.contains("<stdin>:1: no reply to score against") }, "\(r.stderr)")
        #expect(errors.contains { $0.hasPrefix("fx-train: <stdin>:1: no reply to learn from") }, "\(r.stderr)")
        #expect(errors.contains { $0.hasPrefix("fx-cluster: \(model): a causal language model") }, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.path("t.fxm")))
    }
}
