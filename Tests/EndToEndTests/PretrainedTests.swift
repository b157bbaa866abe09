import Foundation
import Testing

/// all-MiniLM-L6-v2 through the tools, as a user runs them: embeddings, clusters, fine-tuning, and what goes wrong.
/// The model comes from `make models` (models/all-MiniLM-L6-v2; $FX_MINILM overrides).
@Suite(.serialized) struct PretrainedTests {
    let minilm = ProcessInfo.processInfo.environment["FX_MINILM"] ?? repoRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
    let descriptions = repoRoot.appendingPathComponent("examples/descriptions.jsonl").path

    func requireModel() throws {
        guard FileManager.default.fileExists(atPath: minilm + "/model.safetensors") else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: minilm, NSLocalizedDescriptionKey: "run `make models` first"])
        }
    }

    @Test("--embed streams each record back with a unit vector equal to sentence-transformers'; head -1, bad JSON and an empty stream")
    func embed() throws {
        try requireModel()
        let input = #"{"id":1,"input":"GNU C compiler"}"# + "\n" + #"{"id":2,"input":"debug symbols","keep":[1,2]}"# + "\n"
        let r = try run("fx-eval", ["-m", minilm, "--embed"], stdin: input)
        #expect(r.status == 0, "\(r.stderr)")
        let records = r.records
        #expect(records.count == 2 && records[1]["keep"] as? [Int] == [1, 2] && records[0]["id"] as? Int == 1)
        let fixtures = try JSONSerialization.jsonObject(with: Data(contentsOf: repoRoot.appendingPathComponent("Tests/Fixtures/minilm.json"))) as! [String: Any]
        let want = (fixtures["embeddings"] as! [[String: Any]]).first { $0["text"] as? String == "GNU C compiler" }!["embedding"] as! [Double]
        let got = records[0]["embedding"] as! [Double]
        #expect(got.count == 384 && zip(got, want).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(abs(got.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4)

        let s = try Scratch()
        defer { s.remove() }
        let piped = try shell("""
            fx-eval -m \(minilm) --embed --input-field text \(descriptions) | head -1 | wc -l
            printf '{"input":"fine"}\\n{"input": nope}\\n' > bad.jsonl
            fx-eval -m \(minilm) --embed bad.jsonl > out.jsonl; echo "status $?"; wc -l < out.jsonl
            fx-eval -m \(minilm) --embed < /dev/null | wc -c
            """, in: s.url)
        #expect(piped.lines == ["1", "status 1", "1", "0"], "\(piped.stderr)")
        #expect(piped.stderr.contains("fx-eval: bad.jsonl:2: invalid JSON"))
    }

    @Test("fx-cluster --embed groups the shipped descriptions by section, names topics by class-based TF-IDF, and --load assigns the same")
    func cluster() throws {
        try requireModel()
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-cluster -k 6 --seed 1 --embed \(minilm) \(descriptions) --save e.fxc --summary topics.jsonl > fitted.jsonl
            fx-cluster --load e.fxc \(descriptions) -q | cmp - fitted.jsonl && echo same
            fx-eval --clusters --target-field label fitted.jsonl
            """, in: s.url)
        #expect(r.lines.first == "same", "\(r.stderr)")
        #expect(r.stderr.contains("720 documents, 384 dimensions, k 6"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.lines[1].utf8)) as? [String: Any])
        #expect(report["nmi"] as! Double > 0.6, "measured 0.727 on six sections")
        let topics = try String(contentsOfFile: s.path("topics.jsonl"), encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["terms"] as! [String]
        }
        #expect(topics.count == 6 && topics.allSatisfy { $0.count == 8 })
        // The words that distinguish the clusters: each section's own vocabulary shows up in some topic.
        for word in ["postgresql", "emacs", "game", "audio"] { #expect(topics.contains { $0.contains(word) }, "\(word) in \(topics)") }
    }

    @Test("fx-train --base FOLDER fine-tunes a classifier that fx-eval scores, applies and embeds with; --freeze trains the head alone")
    func fineTune() throws {
        try requireModel()
        let s = try Scratch()
        defer { s.remove() }
        // Two thirds of the shipped descriptions to train on, the rest to score.
        let r = try shell("""
            awk 'NR % 3 != 0' \(descriptions) > train.jsonl; awk 'NR % 3 == 0' \(descriptions) > test.jsonl
            fx-train --base \(minilm) --epochs 1 --max-length 64 --input-field text --target-field label -o tuned.fxm --log log.jsonl train.jsonl
            fx-eval -m tuned.fxm --input-field text --target-field label test.jsonl
            fx-eval -m tuned.fxm --predict --input-field text --threads 1 test.jsonl > a.jsonl
            fx-eval -m tuned.fxm --predict --input-field text --threads 2 test.jsonl | cmp - a.jsonl && echo same
            fx-eval -m tuned.fxm --embed --input-field text test.jsonl | head -1 | grep -c embedding
            fx-train --base \(minilm) --freeze --input-field text --target-field label -o frozen.fxm train.jsonl -q
            fx-eval -m frozen.fxm --input-field text --target-field label test.jsonl
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("480 examples, 6 labels, head probed alone in"), "\(r.stderr)")
        #expect(r.stderr.contains("then encoder and head fine-tuned; 15 steps, 1.0 epochs"), "\(r.stderr)")
        let tuned = try #require(try JSONSerialization.jsonObject(with: Data(r.lines[0].utf8)) as? [String: Any])
        #expect(tuned["accuracy"] as! Double > 0.75, "measured 0.846")
        #expect(r.lines[1] == "same" && r.lines[2] == "1")
        let frozen = try #require(try JSONSerialization.jsonObject(with: Data(r.lines[3].utf8)) as? [String: Any])
        #expect(frozen["accuracy"] as! Double > 0.75)
        // --log: the probing epochs, then the one full epoch, each with its stage, loss, rate and speed.
        let log = try String(contentsOfFile: s.path("log.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(log.count == 101, "100 probing epochs and 1 full one: \(log.count)")
        #expect(log.dropLast().allSatisfy { $0.contains("\"stage\":\"probe\"") } && log.last?.contains("\"stage\":\"full\"") == true)
        #expect(log.allSatisfy { $0.contains("\"loss\":") && $0.contains("\"lr\":") && $0.contains("\"examples_per_s\":") && $0.contains("\"elapsed\":") })
        // The file keeps Hugging Face's names for the encoder, and the head.
        let file = try Data(contentsOf: URL(fileURLWithPath: s.path("tuned.fxm")))
        let length = file.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: file.dropFirst(8).prefix(length), as: UTF8.self)
        for key in ["encoder.layer.5.attention.self.query.weight", "embeddings.word_embeddings.weight", "classifier.weight", "fx-encoder"] {
            #expect(header.contains(key))
        }
    }

    @Test("what fx cannot use is said plainly: an unknown architecture, no head, an encoder with --arch, a checkpoint without its config")
    func errors() throws {
        try requireModel()
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            mkdir roberta; cp \(minilm)/vocab.txt \(minilm)/model.safetensors roberta/
            sed 's/"model_type": "bert"/"model_type": "roberta"/' \(minilm)/config.json > roberta/config.json
            echo '{"input":"x"}' | fx-eval -m roberta --embed; echo "status $?"
            echo '{"input":"x","target":"y"}' | fx-eval -m \(minilm); echo "status $?"
            echo '{"input":"x","target":"y"}' | fx-train --base \(minilm) --arch transformer -o m.fxm; echo "status $?"
            mkdir alone; cp \(minilm)/model.safetensors alone/
            echo '{"input":"x"}' | fx-eval -m alone/model.safetensors --embed; echo "status $?"
            """, in: s.url)
        #expect(r.lines == ["status 1", "status 1", "status 64", "status 1"], "\(r.stdout)")
        #expect(r.stderr.contains("fx-eval: roberta/config.json: model_type 'roberta' is not one fx runs"))
        #expect(r.stderr.contains("a pretrained encoder without a classification head: --embed writes its sentence vectors"))
        #expect(r.stderr.contains("fx-train: --base \(minilm) is a pretrained encoder"))
        #expect(r.stderr.contains("fx-eval: alone/model.safetensors: a Hugging Face checkpoint needs its config.json and vocab.txt beside it"))
    }
}
