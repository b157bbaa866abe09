import Foundation
import Testing

/// fx-train --tune as a user runs it: on data where one setting is clearly best it finds it, it keeps what the
/// command line fixed, it ends within its budget, and one thread with one seed repeats itself.
@Suite struct TuneTests {
    /// Three labels told apart only by a word's ending: every input is one made-up word seen once, so word
    /// features cannot carry over to new pairs and only character n-grams (--minn/--maxn) can.
    func endings(_ count: Int, seed: UInt64) -> String {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % n
        }
        let letters = Array("bcdfghjklmnpqrstvwxz"), endings = ["ology", "itis", "ment"], labels = ["study", "illness", "act"]
        return (0..<count).map { i in
            let stem = String((0..<6).map { _ in letters[next(letters.count)] })
            return #"{"input":"\#(stem)\#(endings[i % 3])","target":"\#(labels[i % 3])"}"#
        }.joined(separator: "\n") + "\n"
    }

    @Test("on data only character n-grams can learn, the search turns them on and beats the defaults")
    func findsCharacterNgrams() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("train.jsonl", endings(600, seed: 1))
        try s.write("test.jsonl", endings(300, seed: 2))
        let r = try shell("""
            fx-train train.jsonl -o tuned.fxm --tune 20 --seed 1
            fx-train train.jsonl -o plain.fxm -q
            fx-eval -m tuned.fxm test.jsonl; fx-eval -m plain.fxm test.jsonl
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("tune: ") }, "\(r.stderr)")
        #expect(line.contains("held-out pairs") && line.contains("(the defaults: ") && line.contains("chose --lr"), "\(line)")
        let minn = line.components(separatedBy: "--minn ").last?.split(separator: " ").first.flatMap { Int($0) } ?? 0
        #expect(minn > 0, "\(line)")
        let scores = r.records.compactMap { $0["accuracy"] as? Double }
        #expect(scores.count == 2 && scores[0] > 0.9 && scores[0] > scores[1] + 0.3, "tuned, then defaults: \(scores)")
        // The search is in the model's metadata: every trial's settings, score and time.
        let training = try JSONSerialization.jsonObject(with: Data((try safetensorsHeader(s.path("tuned.fxm")).metadata["training"] as! String).utf8)) as! [String: Any]
        let tune = try #require(training["tune"] as? [String: Any])
        let trials = tune["trials"] as? [[String: Any]] ?? []
        #expect(trials.count >= 2 && trials.allSatisfy { $0["accuracy"] != nil && $0["minn"] != nil && $0["seconds"] != nil })
        #expect((tune["chosen"] as? String).map { line.hasSuffix($0) } == true)
        #expect(tune["valid_pairs"] as? Int == 200, "10%, but at least 200 pairs, taken per label")
    }

    @Test("settings given on the command line stay fixed; --threads 1 with --seed repeats the search and the model; --valid replaces the slice")
    func fixedAndReproducible() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("train.jsonl", endings(300, seed: 3))
        try s.write("valid.jsonl", endings(90, seed: 4))
        let r = try shell("""
            fx-train train.jsonl -o a.fxm --tune 20 --dim 16 --loss softmax --epochs 7 --minn 2 --maxn 4 --threads 1 --seed 5
            fx-train train.jsonl -o b.fxm --tune 20 --dim 16 --loss softmax --epochs 7 --minn 2 --maxn 4 --threads 1 --seed 5
            fx-eval -m a.fxm --predict --k 3 train.jsonl > a.jsonl && fx-eval -m b.fxm --predict --k 3 train.jsonl | cmp - a.jsonl && echo same
            fx-train train.jsonl -o v.fxm --tune 5 --valid valid.jsonl -q; echo "status $?"
            """, in: s.url)
        let chosen = r.stderr.split(separator: "\n").filter { $0.contains("tune: ") }
        #expect(chosen.count == 2 && chosen[0].components(separatedBy: "chose").last == chosen[1].components(separatedBy: "chose").last, "\(r.stderr)")
        for line in chosen {
            #expect(line.contains("--epochs 7 --dim 16") && line.contains("--minn 2 --maxn 4 --loss softmax"), "\(line)")
        }
        #expect(r.lines == ["same", "status 0"], "\(r.stdout)\(r.stderr)")
        let training = try JSONSerialization.jsonObject(with: Data((try safetensorsHeader(s.path("v.fxm")).metadata["training"] as! String).utf8)) as! [String: Any]
        #expect((training["tune"] as? [String: Any])?["valid_pairs"] as? Int == 90)
    }

    @Test("the search ends within its budget on the shipped archive; --tune with --base-vectors or on free text is refused")
    func budgetAndRefusals() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            fx-pair \(repoRoot.path)/examples/debian-sections.tar.gz > pairs.jsonl
            fx-train pairs.jsonl -o m.fxm --tune 3 --seed 1 --export-vectors m.vec
            fx-train pairs.jsonl -o t.fxm --tune 3 --base-vectors m.vec; echo "status $?"
            fx-train pairs.jsonl -o t.fxm --tune 3 --arch transformer; echo "status $?"
            """, in: s.url)
        let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("tune: ") }, "\(r.stderr)")
        let seconds = Double(line.components(separatedBy: "trials in ").last?.split(separator: " ").first ?? "") ?? 99
        #expect(seconds <= 3.5, "\(line)")
        #expect(r.lines == ["status 64", "status 64"], "\(r.stdout)")
        #expect(r.stderr.contains("fx-train: --tune chooses a new linear model's settings; it does not start from --base-vectors"), "\(r.stderr)")
    }

    func training(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data((try safetensorsHeader(path).metadata["training"] as! String).utf8)) as! [String: Any]
    }

    @Test("--base is kept only where it helps: a base that hurts gives way to scratch (with and without --tune), one that helps stays; --base-always skips the check")
    func baseOrScratch() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("endings.jsonl", endings(600, seed: 6))
        let r = try shell("""
            fx-mask \(repoRoot.path)/examples/descriptions.jsonl --seed 1 | fx-train -o masked.fxm --epochs 1 -q
            fx-train endings.jsonl --base masked.fxm --minn 2 --maxn 4 -o hurt.fxm 2> hurt.err
            fx-train endings.jsonl --base masked.fxm --tune 8 --seed 2 -o tuned.fxm 2> tuned.err
            fx-train endings.jsonl --base masked.fxm --minn 2 --maxn 4 --base-always -o always.fxm 2> always.err
            fx-pair \(repoRoot.path)/examples/debian-sections.tar.gz --holdout 0.5 --seed 1 > pairs.jsonl
            grep '"split":"test"' pairs.jsonl | fx-train -o sections.fxm -q
            grep '"split":"train"' pairs.jsonl | head -100 > few.jsonl
            fx-train few.jsonl --base sections.fxm -o helped.fxm 2> helped.err
            cat hurt.err tuned.err always.err helped.err
            """, in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        func choice(_ name: String) throws -> (line: String, kept: String?, base: Any?) {
            let line = try String(contentsOf: s.url.appendingPathComponent(name + ".err"), encoding: .utf8).split(separator: "\n").first { $0.contains("from scratch") }
            let t = try training(s.path(name + ".fxm"))
            return (line.map(String.init) ?? "", (t["base_against_scratch"] as? [String: Any])?["kept"] as? String, t["base"])
        }
        let hurt = try choice("hurt")
        #expect(hurt.line.contains("training from scratch") && hurt.line.contains("points ahead (--base-always keeps the base)"), "\(r.stdout)")
        #expect(hurt.kept == "scratch" && hurt.base is NSNull)
        let tuned = try choice("tuned")
        #expect(tuned.kept == "scratch" && tuned.line.contains("training from scratch") && r.stdout.contains("tune: "), "\(r.stdout)")
        let always = try choice("always")
        #expect(always.line.isEmpty && always.kept == nil && always.base as? String == "masked.fxm", "\(r.stdout)")
        let helped = try choice("helped")
        #expect(helped.kept == "base" && helped.line.contains("fine-tuning the base") && helped.line.contains("on 50 held-out pairs"), "\(r.stdout)")
        #expect(helped.base as? String == "sections.fxm")
    }
}
