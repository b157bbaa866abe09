import Foundation
import Testing

@Suite struct FxTrainTests {
    let sections = repoRoot.appendingPathComponent("examples/debian-sections.tar.gz").path

    func accuracy(_ r: Run) -> Double {
        (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["accuracy"] as? Double ?? -1
    }

    @Test("supervised: fx-pair | fx-train | fx-eval on the shipped archive, each loss", arguments: ["softmax", "ns", "hs", "ova"])
    func pipeline(loss: String) throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-pair \(sections) --holdout 0.2 --seed 1 > pairs.jsonl
            grep '"split":"train"' pairs.jsonl | fx-train -o m.fxm --loss \(loss) --epochs 10 --threads 1 -q
            grep '"split":"test"' pairs.jsonl | fx-eval -m m.fxm
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        // Six sections, about 144 test descriptions: chance is 1/6.
        #expect(accuracy(r) > 0.6, "\(r.stdout.prefix(200))")
    }

    @Test("multi-label targets train one-vs-all and score with a threshold")
    func multiLabel() throws {
        let s = try Scratch()
        defer { s.remove() }
        var lines: [String] = []
        for i in 0..<40 {
            lines.append(#"{"input":"red apple \#(i)","target":["red","fruit"]}"#)
            lines.append(#"{"input":"green apple \#(i)","target":["green","fruit"]}"#)
            lines.append(#"{"input":"red car \#(i)","target":["red","vehicle"]}"#)
        }
        try s.write("ml.jsonl", lines.joined(separator: "\n"))
        let r = try shell("fx-train ml.jsonl -o m.fxm --epochs 20 && fx-eval -m m.fxm --k 2 ml.jsonl", in: s.url)
        #expect(r.status == 0)
        #expect(r.stderr.contains("loss ova"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((report["micro"] as! [String: Any])["f1"] as! Double > 0.95)
        #expect(report["recall_at_k"] as! Double > 0.95)
    }

    @Test("fine-tuning from a self-supervised base keeps its words, adds new ones, and takes the new labels")
    func fineTune() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-mask \(repoRoot.path)/examples/descriptions.jsonl --seed 1 | fx-train -o base.fxm --epochs 2 -q
            printf '%s\\n' '{"input":"zyzzyva quux synthesizer","target":"brand-new"}' '{"input":"postgres","target":"database"}' > few.jsonl
            fx-train few.jsonl --base base.fxm -o tuned.fxm --epochs 20 -q
            echo '{"input":"zyzzyva"}' | fx-eval -m tuned.fxm --predict
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.lines.last?.contains(#""prediction":"brand-new""#) == true)
        let meta = try safetensorsHeader(s.path("tuned.fxm")).metadata
        let words = try JSONSerialization.jsonObject(with: Data((meta["words"] as! String).utf8)) as! [String]
        let labels = try JSONSerialization.jsonObject(with: Data((meta["labels"] as! String).utf8)) as! [String]
        let baseWords = try JSONSerialization.jsonObject(with: Data((try safetensorsHeader(s.path("base.fxm")).metadata["words"] as! String).utf8)) as! [String]
        #expect(Array(words.prefix(baseWords.count)) == baseWords)
        #expect(words.contains("zyzzyva") && !baseWords.contains("zyzzyva"))
        #expect(labels == ["brand-new", "database"])
    }

    @Test("the model file is safetensors: header length, JSON header, tensors that fill the file")
    func safetensors() throws {
        let s = try Scratch()
        defer { s.remove() }
        _ = try shell("fx-pair \(sections) | fx-train -o m.fxm --epochs 1 -q", in: s.url)
        let (header, metadata, size) = try safetensorsHeader(s.path("m.fxm"))
        #expect(metadata["format"] as? String == "fx-text-model")
        var end = 0
        for (name, value) in header where name != "__metadata__" {
            let t = value as! [String: Any]
            let shape = t["shape"] as! [Int], offsets = t["data_offsets"] as! [Int]
            let width = (t["dtype"] as! String) == "F16" ? 2 : 4
            #expect(offsets[1] - offsets[0] == shape.reduce(1, *) * width, "\(name)")
            end = max(end, offsets[1])
        }
        #expect(Set(header.keys) == ["__metadata__", "words", "buckets", "bucket_ids", "output", "weights"])
        #expect(end == size)
    }

    @Test("--threads 1 is bit-for-bit reproducible; --valid keeps the best epoch")
    func reproducible() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-pair \(sections) --holdout 0.2 > p.jsonl
            grep train p.jsonl > train.jsonl; grep test p.jsonl > valid.jsonl
            fx-train train.jsonl -o a.fxm --threads 1 --seed 3 --epochs 3 -q
            fx-train train.jsonl -o b.fxm --threads 1 --seed 3 --epochs 3 -q
            cmp a.fxm b.fxm && echo same
            fx-train train.jsonl -o c.fxm --valid valid.jsonl --patience 2 --epochs 30
            """, in: s.url)
        #expect(r.lines.first == "same")
        #expect(r.stderr.contains("valid accuracy by epoch") && r.stderr.contains("kept epoch"))
    }

    @Test("Ctrl-C while training leaves no model and no temporary file; an old model stays as it was")
    func interrupt() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            echo old > m.fxm
            fx-mask \(repoRoot.path)/examples/corpus.jsonl.gz -q > masked.jsonl
            fx-train masked.jsonl -o m.fxm --epochs 1000 -q & pid=$!
            sleep 3; kill -INT $pid
            for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
            kill -9 $pid 2>/dev/null && echo "still running after 10 s"
            wait $pid; echo "status=$?"
            ls -A | sort | tr '\\n' ' '; cat m.fxm
            """, in: s.url)
        #expect(r.lines == ["status=130", "m.fxm masked.jsonl old"])
    }

    @Test("bad input: malformed JSON, a missing target, nothing to train on, a model that is not one")
    func badInput() throws {
        let s = try Scratch()
        defer { s.remove() }
        let bad = try run("fx-train", ["-o", s.path("m.fxm")], stdin: #"{"input":"a","target":"b"}"# + "\n{\"input\":\n")
        #expect(bad.status == 1 && bad.stderr.hasPrefix("fx-train: <stdin>:2: invalid JSON"))
        let missing = try run("fx-train", ["-o", s.path("m.fxm")], stdin: #"{"input":"a"}"#)
        #expect(missing.status == 1 && missing.stderr == "fx-train: <stdin>:1: no field 'target'\n")
        let empty = try run("fx-train", ["-o", s.path("m.fxm")])
        #expect(empty.status == 1 && empty.stderr.contains("nothing to train on"))
        #expect(!FileManager.default.fileExists(atPath: s.path("m.fxm")))
        let notModel = try run("fx-eval", ["-m", repoRoot.appendingPathComponent("examples/descriptions.en").path], stdin: "")
        #expect(notModel.status == 1 && notModel.stderr.contains("not a safetensors model"))
        let missingModel = try run("fx-eval", ["-m", s.path("nope.fxm")], stdin: "")
        #expect(missingModel.status == 74)
    }

    @Test("an absurd learning rate: the guard backs it off, says so, and the model still learns", arguments: ["ova", "softmax"])
    func divergenceGuard(loss: String) throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-pair \(sections) --holdout 0.2 --seed 1 > pairs.jsonl
            grep '"split":"train"' pairs.jsonl | fx-train -o m.fxm --loss \(loss) --lr 500 --epochs 10 --threads 1
            grep '"split":"test"' pairs.jsonl | fx-eval -m m.fxm --predict | grep -o '"prediction":"[^"]*"' | sort -u | wc -l
            grep '"split":"test"' pairs.jsonl | fx-eval -m m.fxm
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        let backOffs = r.stderr.split(separator: "\n").filter { $0.contains("training diverged in epoch") }
        #expect(backOffs.count >= 5, "\(r.stderr)")
        #expect(backOffs.first?.contains("learning rate 500.0 -> 250.0") == true)
        #expect(Int(r.lines[0].trimmingCharacters(in: .whitespaces)) ?? 0 >= 5, "predicted labels: \(r.lines[0])")
        #expect(accuracy(Run(stdout: r.lines[1], stderr: "", status: 0)) > 0.6)
        let meta = try safetensorsHeader(s.path("m.fxm")).metadata
        let training = try JSONSerialization.jsonObject(with: Data((meta["training"] as! String).utf8)) as! [String: Any]
        #expect((training["lr_after_back_offs"] as! Double) < 20)
    }

    @Test("fx-eval --text scores generated text as sacreBLEU does; a record without a prediction is named")
    func textScores() throws {
        let pairs = [#"{"id":1,"prediction":"the cat is on the mat","target":"there is a cat on the mat"}"#,
                     #"{"id":2,"prediction":"a b c d","target":"a b c d"}"#].joined(separator: "\n")
        let r = try run("fx-eval", ["--text"], stdin: pairs)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(report["records"] as? Int == 2 && report["exact_match"] as? Double == 0.5)
        // sacreBLEU 2.6.0 on the same two pairs: BLEU 46.593860, chrF 50.659869 (corpus level).
        #expect(abs((report["bleu"] as! Double) - 46.593860) < 1e-4, "\(r.stdout)")
        #expect(abs((report["chrf"] as! Double) - 50.659869) < 1e-4, "\(r.stdout)")
        let bad = try run("fx-eval", ["--text"], stdin: #"{"target":"x"}"#)
        #expect(bad.status == 1 && bad.stderr == "fx-eval: <stdin>:1: no field 'prediction'\n", "\(bad.stderr)")
    }

    @Test("fx-eval --predict annotates records; --format table is for people; a closed pipe is quiet")
    func predict() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-pair \(sections) | fx-train -o m.fxm --epochs 5 -q
            fx-eval -m m.fxm --predict --input-field text --k 3 \(repoRoot.path)/examples/descriptions.jsonl | head -1
            fx-pair \(sections) | fx-eval -m m.fxm --format table | head -3
            fx-pair \(sections) | fx-eval -m m.fxm --predict 2>err | head -1 > /dev/null; echo "status=${PIPESTATUS[1]}"; cat err
            """, in: s.url)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(r.lines[0].utf8)) as? [String: Any])
        #expect(first["id"] as? String != nil && first["label"] != nil && first["prediction"] as? String != nil)
        #expect((first["top"] as? [[String: Any]])?.count == 3)
        #expect(r.lines[1].hasPrefix("records") && r.lines[2].hasPrefix("accuracy"))
        #expect(r.lines.last == "status=0")
    }
}

/// The JSON header of a safetensors file, its metadata, and the size of its data section.
func safetensorsHeader(_ path: String) throws -> (header: [String: Any], metadata: [String: Any], dataSize: Int) {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let length = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
    return (header, header["__metadata__"] as? [String: Any] ?? [:], data.count - 8 - length)
}
