import Foundation
import Testing

@Suite struct FxClusterTests {
    let descriptions = repoRoot.appendingPathComponent("examples/descriptions.jsonl").path

    /// Documents on four topics with their own words, and a label for scoring.
    func topics() -> String {
        let vocab = [["goal", "match", "team", "league", "striker", "referee", "season", "coach"],
                     ["cpu", "kernel", "compiler", "memory", "cache", "driver", "thread", "linker"],
                     ["recipe", "flour", "oven", "butter", "sugar", "bake", "dough", "whisk"],
                     ["planet", "orbit", "telescope", "galaxy", "comet", "star", "nebula", "asteroid"]]
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {  // a fixed linear congruential sequence, so the data is the same every run
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % n
        }
        var lines: [String] = []
        for i in 0..<80 {
            let t = i % 4
            let words = (0..<6).map { _ in vocab[t][next(8)] }
            lines.append(#"{"id":"d\#(i)","text":"\#(words.joined(separator: " "))","label":"t\#(t)"}"#)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test("clusters, topics and similarities; the same seed gives the same bytes; fx-eval --clusters scores them")
    func clusters() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("topics.jsonl", topics())
        let r = try shell("""
            fx-cluster -k 4 --seed 1 topics.jsonl -q > a.jsonl && fx-cluster -k 4 --seed 1 topics.jsonl -q > b.jsonl && cmp a.jsonl b.jsonl && echo same
            fx-eval --clusters --target-field label a.jsonl
            fx-cluster -k 4 --seed 1 --lsa 0 topics.jsonl -q | fx-eval --clusters --target-field label
            """, in: s.url)
        #expect(r.lines.first == "same", "\(r.stderr)")
        // In the latent space (the default) and over the terms themselves (--lsa 0).
        for line in r.lines.dropFirst() {
            let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(report["nmi"] as? Double == 1 && report["ari"] as? Double == 1 && report["clusters"] as? Int == 4)
        }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(try String(contentsOfFile: s.path("a.jsonl"), encoding: .utf8).split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(first["id"] as? String == "d0" && first["cluster"] is Int && (first["similarity"] as! Double) > 0.5)
        #expect((first["topic"] as! String).split(separator: " ").allSatisfy {
            ["goal", "match", "team", "league", "striker", "referee", "season", "coach"].contains(String($0))
        })
    }

    @Test("-k auto finds the obvious k and reports the silhouettes")
    func autoK() throws {
        let r = try run("fx-cluster", ["-k", "auto", "--k-range", "2..8", "--seed", "2"], stdin: topics())
        #expect(r.status == 0)
        #expect(r.stderr.contains("silhouette x100 by k: 2:") && r.stderr.contains("chose k 4"))
        #expect(Set(r.records.map { $0["cluster"] as! Int }).count == 4)
        #expect(!r.stderr.contains("--k-range"), "\(r.stderr)")
        // At an edge of the range it says so and suggests a wider one.
        let upper = try run("fx-cluster", ["-k", "auto", "--k-range", "2..3", "--seed", "2"], stdin: topics())
        #expect(upper.status == 0 && upper.stderr.contains("chose k 3\nfx-cluster: k 3 is the largest in --k-range: a larger k may score higher; try --k-range 2..6\n"), "\(upper.stderr)")
        let lower = try run("fx-cluster", ["-k", "auto", "--k-range", "4..8", "--seed", "2"], stdin: topics())
        #expect(lower.status == 0 && lower.stderr.contains("chose k 4\nfx-cluster: k 4 is the smallest in --k-range: a smaller k may score higher; try --k-range 2..8\n"), "\(lower.stderr)")
    }

    @Test("--save then --load gives the same clusters, as a stream; --summary has one record per cluster")
    func saveLoadSummary() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-cluster -k 6 --seed 3 \(descriptions) --save m.fxc --summary sum.jsonl -q > fitted.jsonl
            fx-cluster --load m.fxc \(descriptions) -q > loaded.jsonl
            cmp fitted.jsonl loaded.jsonl && echo same
            wc -l < sum.jsonl
            fx-cluster -k 6 --seed 3 --lsa 0 \(descriptions) --save terms.fxc -q > fitted.jsonl
            fx-cluster --load terms.fxc \(descriptions) -q | cmp - fitted.jsonl && echo same over terms
            """, in: s.url)
        #expect(r.lines == ["same", "6", "same over terms"], "\(r.stderr)")
        let summary = try String(contentsOfFile: s.path("sum.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(summary.map { $0["size"] as! Int }.reduce(0, +) == 720)
        #expect(summary.allSatisfy { ($0["terms"] as! [String]).count == 8 && ($0["examples"] as! [String]).count == 5 })
    }

    @Test("--embed clusters an fx model's document vectors; --save and --load keep to them")
    func embed() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-mask \(descriptions) --seed 1 -q | fx-train -o base.fxm --epochs 10 --lr 2 -q
            fx-cluster -k 6 --seed 1 --embed base.fxm \(descriptions) --save e.fxc > fitted.jsonl
            fx-cluster --load e.fxc \(descriptions) -q | cmp - fitted.jsonl && echo same
            fx-eval --clusters --target-field label fitted.jsonl
            mkdir copy && cp base.fxm copy/moved.fxm && mv base.fxm gone.fxm
            fx-cluster --load e.fxc --embed copy/moved.fxm \(descriptions) -q | cmp - fitted.jsonl && echo same with --embed
            fx-cluster --load e.fxc \(descriptions) -q 2>&1 >/dev/null | grep -c base.fxm
            """, in: s.url)
        #expect(r.lines.first == "same", "\(r.stderr)")
        #expect(r.lines.dropFirst(2).first == "same with --embed", "--embed replaces the model path the cluster file recorded: \(r.stderr)")
        #expect(r.lines.last == "1", "without it, the missing model is named")
        #expect(r.stderr.contains("720 documents, 64 dimensions, k 6"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.lines[1].utf8)) as? [String: Any])
        #expect(report["nmi"] as! Double > 0.1, "better than chance on six sections")
    }

    @Test("--load with --embed on TF-IDF clusters is an error naming the file")
    func loadEmbedOnTerms() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("fx-cluster -k 3 --seed 1 \(descriptions) --save t.fxc -q > /dev/null && fx-cluster --load t.fxc --embed t.fxc \(descriptions)", in: s.url)
        #expect(r.status == 1 && r.stderr.contains("t.fxc") && r.stderr.contains("TF-IDF"), "\(r.stderr)")
    }

    @Test("documents and pairs are read as they are: fx-eval --embed and --predict take text when there is no input, fx-cluster input when there is no text, unless a field is named")
    func textOrInput() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("topics.jsonl", topics())
        let r = try shell("""
            fx-pair --input-field text --target-field label topics.jsonl > pairs.jsonl
            fx-train pairs.jsonl --epochs 5 -o m.fxm -q
            fx-eval -m m.fxm --embed -q topics.jsonl | sed 's/.*"embedding"://' > docs.txt
            fx-eval -m m.fxm --embed -q pairs.jsonl | sed 's/.*"embedding"://' > pairs.txt
            grep -c '^\\[-*0' docs.txt; cmp docs.txt pairs.txt && echo embed same
            fx-eval -m m.fxm --predict -q topics.jsonl | grep -c prediction
            fx-cluster -k 4 --seed 1 -q topics.jsonl | sed 's/.*"cluster"://' > c1.txt
            fx-cluster -k 4 --seed 1 -q pairs.jsonl | sed 's/.*"cluster"://' > c2.txt
            cmp c1.txt c2.txt && echo cluster same
            fx-eval -m m.fxm --embed --input-field input -q topics.jsonl; echo "status $?"
            fx-cluster -k 4 --text-field text -q pairs.jsonl; echo "status $?"
            echo '{"id":1}' | fx-eval -m m.fxm --embed; echo "status $?"
            """, in: s.url)
        #expect(r.lines.first == "80", "\(r.stdout)\(r.stderr)")
        #expect(Array(r.lines.dropFirst()) == ["embed same", "80", "cluster same", "status 1", "status 1", "status 1"], "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("fx-eval: topics.jsonl:1: no field 'input'\n") && r.stderr.contains("fx-cluster: pairs.jsonl:1: no field 'text'\n"), "\(r.stderr)")
        #expect(r.stderr.contains("fx-eval: <stdin>:1: no field 'input' (nor 'text')"), "\(r.stderr)")
    }

    @Test("--sample fits on a reservoir sample and assigns every record in a second pass, from files or stdin")
    func sample() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("topics.jsonl", topics())
        let r = try shell("""
            before=$(ls /tmp | grep -c fx-cluster-stdin)
            fx-cluster -k 4 --sample 30 --seed 5 topics.jsonl > a.jsonl
            fx-cluster -k 4 --sample 30 --seed 5 -q < topics.jsonl | cmp - a.jsonl && echo same
            fx-eval --clusters --target-field label a.jsonl
            fx-cluster -k 4 --sample 60 --batch-size 8 --seed 5 topics.jsonl > b.jsonl
            fx-cluster -k 4 --sample 60 --batch-size 8 --seed 5 -q topics.jsonl | cmp - b.jsonl && echo same
            fx-eval --clusters --target-field label b.jsonl
            echo "left $(( $(ls /tmp | grep -c fx-cluster-stdin) - before ))"
            """, in: s.url)
        #expect(r.lines.first == "same" && r.lines[2] == "same", "\(r.stderr)")
        #expect(r.stderr.contains("fitted on a sample of 30 of 80 documents"))
        #expect(r.stderr.contains("fitted on a sample of 60 of 80 documents") && r.stderr.contains("batches of 8"))
        // Full passes over the sample, and mini-batches of 8.
        for line in [r.lines[1], r.lines[3]] {
            let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(report["records"] as? Int == 80 && (report["nmi"] as! Double) > 0.9)
        }
        #expect(r.lines.last == "left 0")
        #expect(try run("fx-cluster", ["-k", "4", "--sample", "30", "--summary", s.path("x")]).status == 64)
    }

    @Test("errors: nothing to cluster, fewer documents than k, k below 2, a bad record, a model that is not one")
    func errors() throws {
        let empty = try run("fx-cluster", ["-k", "3"])
        #expect(empty.status == 1 && empty.stderr == "fx-cluster: nothing to cluster: no documents in the input\n")
        let few = try run("fx-cluster", ["-k", "5"], stdin: #"{"text":"alpha beta"}"# + "\n" + #"{"text":"alpha gamma"}"# + "\n")
        #expect(few.status == 1 && few.stderr.contains("2 documents are fewer than -k 5"))
        #expect(try run("fx-cluster", ["-k", "1"]).status == 64)
        #expect(try run("fx-cluster", ["-k", "auto", "--k-range", "5..2"]).status == 64)
        let bad = try run("fx-cluster", ["-k", "2"], stdin: #"{"text":"a b"}"# + "\n" + #"{"text":7}"# + "\n")
        #expect(bad.status == 1 && bad.stderr == "fx-cluster: <stdin>:2: field 'text' is number, not a string\n")
        let notModel = try run("fx-cluster", ["--load", descriptions], stdin: "")
        #expect(notModel.status == 1 && notModel.stderr.contains("not a safetensors model"))
        let scratch = try Scratch()  // for err
        defer { scratch.remove() }
        let pipe = try shell("fx-cluster -k 6 \(descriptions) 2>err | head -1 > /dev/null; echo ${PIPESTATUS[0]}; cat err", in: scratch.url)
        #expect(pipe.stdout == "0\n")
    }
}
