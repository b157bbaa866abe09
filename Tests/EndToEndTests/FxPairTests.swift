import Foundation
import Testing

@Suite struct FxPairTests {
    /// A small labeled tree: news/{sport,tech}/..., a binary member, and an archive made from it with `tar`.
    func newsArchive(_ s: Scratch, compress: String = "z") throws -> String {
        try s.write("news/sport/a.txt", "Goal in the last minute\n")
        try s.write("news/sport/b.txt", "A new record in the 100 m")
        try s.write("news/tech/c.txt", "A faster CPU\nwith more cores\n")
        try s.write("news/tech/logo.png", Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 0xFF]))
        let name = "news.tar" + (compress == "z" ? ".gz" : compress == "J" ? ".xz" : compress == "j" ? ".bz2" : "")
        let r = try shell("tar c\(compress)f \(name) news", in: s.url)
        #expect(r.status == 0, "\(r.stderr)")
        return s.path(name)
    }

    @Test("folder as label, from tar archives of every compression and from a folder", arguments: ["z", "J", "j", ""])
    func folderLabels(compress: String) throws {
        let s = try Scratch()
        defer { s.remove() }
        let archive = try newsArchive(s, compress: compress)
        for input in [archive, s.path("news")] {
            let r = try run("fx-pair", [input])
            #expect(r.status == 0)
            let pairs = r.records.map { "\($0["target"]!)|\($0["input"]!)" }.sorted()
            #expect(pairs == ["sport|A new record in the 100 m", "sport|Goal in the last minute", "tech|A faster CPU\nwith more cores"])
            #expect(r.stderr == "fx-pair: skipped 1 binary member\n")
        }
        let top = try run("fx-pair", [archive, "--label-depth", "1", "-q"])
        #expect(Set(top.records.map { $0["target"] as! String }) == ["news"])
        #expect(top.stderr.isEmpty)
    }

    @Test("a zip archive, and a member at the top level has no label")
    func zip() throws {
        let s = try Scratch()
        defer { s.remove() }
        let r = try shell("""
            python3 -c "import zipfile; z = zipfile.ZipFile('a.zip', 'w', zipfile.ZIP_DEFLATED); z.writestr('pos/1.txt', 'great'); z.writestr('neg/2.txt', 'awful'); z.close()"
            python3 -c "import zipfile; z = zipfile.ZipFile('top.zip', 'w'); z.writestr('loose.txt', 'x'); z.close()"
            """, in: s.url)
        #expect(r.status == 0)
        let pairs = try run("fx-pair", [s.path("a.zip")])
        #expect(pairs.lines == [#"{"input":"great","target":"pos","path":"pos/1.txt"}"#, #"{"input":"awful","target":"neg","path":"neg/2.txt"}"#])
        let loose = try run("fx-pair", [s.path("top.zip")])
        #expect(loose.status == 1)
        #expect(loose.stderr.contains("top.zip:loose.txt: not in a folder"))
    }

    @Test("parallel text by suffix and by folder, and lines that do not align")
    func parallel() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("desc.en", "one\ntwo\n")
        try s.write("desc.fr", "un\ndeux\n")
        let r = try run("fx-pair", ["--parallel", "en,fr", s.path("desc.en"), s.path("desc.fr")])
        #expect(r.status == 0)
        #expect(r.records.map { "\($0["input"]!)=\($0["target"]!)" } == ["one=un", "two=deux"])
        try s.write("c/en/x.txt", "yes\n")
        try s.write("c/fr/x.txt", "oui\n")
        _ = try shell("tar czf c.tgz c", in: s.url)
        let hf = try run("fx-pair", ["--parallel", "en,fr", "--format", "translation", s.path("c.tgz")])
        #expect(hf.lines == [#"{"translation":{"en":"yes","fr":"oui"},"path":"c/en/x.txt","line":1}"#])
        try s.write("bad.fr", "un\n")
        try s.write("bad.en", "one\ntwo\n")
        let bad = try run("fx-pair", ["--parallel", "en,fr", s.path("bad.en"), s.path("bad.fr")])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("bad.en has 2 lines but") && bad.stderr.contains("bad.fr has 1"))
    }

    @Test("CSV and TSV by header name or column number")
    func tables() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("r.csv", "id,review,stars\n1,\"Good, really \"\"good\"\"\",5\n2,\"two\nlines\",1\n")
        let r = try run("fx-pair", [s.path("r.csv"), "--input-column", "review", "--target-column", "3"])
        #expect(r.lines == [#"{"input":"Good, really \"good\"","target":"5","id":"1"}"#, #"{"input":"two\nlines","target":"1","id":"2"}"#])
        let tsv = try run("fx-pair", ["--table", "tsv", "--no-header"], stdin: "a\tx\nb\ty\n")
        #expect(tsv.lines == [#"{"input":"a","target":"x"}"#, #"{"input":"b","target":"y"}"#])
        let ragged = try run("fx-pair", [], stdin: "text,label\na,b,c\n", in: nil)
        #expect(ragged.status == 1)
    }

    @Test("JSON Lines: fields renamed, others passed through in order, multi-label kept")
    func jsonLines() throws {
        let input = #"{"id":"p1","text":"a \u00e9","label":"x","n":[1,{"k":null}]}"# + "\n\n" + #"{"text":"b","label":["x","y"]}"# + "\r\n"
        let r = try run("fx-pair", ["--input-field", "text", "--target-field", "label"], stdin: input)
        #expect(r.status == 0)
        #expect(r.lines == [#"{"id":"p1","input":"a \u00e9","target":"x","n":[1,{"k":null}]}"#, #"{"input":"b","target":["x","y"]}"#])
    }

    @Test("--holdout is stable, follows the text not the order, and keeps duplicates together")
    func holdout() throws {
        let lines = (0..<2000).map { #"{"input":"doc \#($0 % 1500)","target":"t"}"# }
        let r = try run("fx-pair", ["--holdout", "0.2", "--seed", "7"], stdin: lines.joined(separator: "\n"))
        let splits = Dictionary(r.records.map { ($0["input"] as! String, $0["split"] as! String) }, uniquingKeysWith: { a, b in
            #expect(a == b)
            return a
        })
        let test = splits.values.filter { $0 == "test" }.count
        #expect(abs(Double(test) / 1500 - 0.2) < 0.04)
        let reversed = try run("fx-pair", ["--holdout", "0.2", "--seed", "7"], stdin: lines.reversed().joined(separator: "\n"))
        #expect(Set(reversed.lines) == Set(r.lines))
        let other = try run("fx-pair", ["--holdout", "0.2", "--seed", "8"], stdin: lines.joined(separator: "\n"))
        #expect(other.stdout != r.stdout)
    }

    @Test("--dedupe drops repeated pairs; --stats counts targets, empty and duplicate inputs")
    func dedupeAndStats() throws {
        let input = [#"{"input":"a","target":"x"}"#, #"{"input":"a","target":"x"}"#, #"{"input":"a","target":"y"}"#, #"{"input":" ","target":"y"}"#].joined(separator: "\n")
        let r = try run("fx-pair", ["--dedupe", "--stats"], stdin: input)
        #expect(r.lines.count == 3)
        #expect(r.stderr.contains("3 pairs, 2 distinct targets, 1 empty inputs, 1 duplicate inputs, 1 duplicate pairs dropped"))
    }

    @Test("output formats for other trainers")
    func formats() throws {
        let input = #"{"input":"q","target":"a"}"#
        #expect(try run("fx-pair", ["--format", "openai", "--system", "S"], stdin: input).stdout
            == #"{"messages":[{"role":"system","content":"S"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}"# + "\n")
        #expect(try run("fx-pair", ["--format", "prompt-completion"], stdin: input).stdout == #"{"prompt":"q","completion":"a"}"# + "\n")
        #expect(try run("fx-pair", ["--format", "alpaca", "--instruction", "I"], stdin: input).stdout == #"{"instruction":"I","input":"q","output":"a"}"# + "\n")
    }

    @Test("malformed JSON stops at its line with the file name and line number")
    func malformed() throws {
        let s = try Scratch()
        defer { s.remove() }
        let file = try s.write("bad.jsonl", "{\"input\":\"a\",\"target\":\"b\"}\n\n{\"input\": \"c\", \"target\"\n{\"input\":\"d\",\"target\":\"e\"}\n")
        let r = try run("fx-pair", [file])
        #expect(r.status == 1)
        #expect(r.stdout == #"{"input":"a","target":"b"}"# + "\n")
        #expect(r.stderr == "fx-pair: \(file):3: invalid JSON: unexpected end of line, expected ',' or '}' at column 27\n"
            || r.stderr.hasPrefix("fx-pair: \(file):3: invalid JSON:"))
        let skip = try run("fx-pair", [file, "--on-error", "skip"])
        #expect(skip.status == 1)
        #expect(skip.lines.count == 2)
        #expect(skip.stderr.contains(":3: invalid JSON") && skip.stderr.contains("skipped 1 bad record"))
    }

    @Test("invalid UTF-8 is a data error naming the line")
    func invalidUTF8() throws {
        var data = Data(#"{"input":"ok","target":"x"}"#.utf8) + Data([0x0A])
        data += Data(#"{"input":"bad "#.utf8) + Data([0xC3, 0x28]) + Data(#"","target":"x"}"#.utf8)
        let r = try run("fx-pair", [], stdin: data)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("fx-pair: <stdin>:2: invalid UTF-8 at column 15"))
        #expect(r.lines.count == 1)
    }

    @Test("a truncated archive is an I/O error with libarchive's reason")
    func truncated() throws {
        let s = try Scratch()
        defer { s.remove() }
        let big = (0..<20000).map { "line \($0) of a long document that compresses" }.joined(separator: "\n")
        try s.write("d/lab/big.txt", big)
        try s.write("d/lab/small.txt", "small")
        _ = try shell("tar czf d.tgz d && head -c 20000 d.tgz > cut.tgz", in: s.url)
        let r = try run("fx-pair", [s.path("cut.tgz")])
        #expect(r.status == 74 || r.status == 1)
        #expect(r.stderr.contains("cut.tgz") && r.stderr.lowercased().contains("truncated"))
    }

    @Test("an empty stream gives nothing and succeeds")
    func empty() throws {
        let r = try run("fx-pair", [])
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty)
    }

    @Test("a missing file is an I/O error; a bad option is a usage error")
    func missingAndUsage() throws {
        let r = try run("fx-pair", ["/nonexistent/x.jsonl"])
        #expect(r.status == 74)
        #expect(r.stderr == "fx-pair: /nonexistent/x.jsonl: No such file or directory\n")
        #expect(try run("fx-pair", ["--holdout", "2"]).status == 64)
        #expect(try run("fx-pair", ["--bogus"]).status == 64)
    }

    @Test("a closed pipe downstream ends quietly with 0")
    func brokenPipe() throws {
        let r = try shell("""
            seq 1 300000 | sed 's/.*/{"input":"line &","target":"t"}/' > big.jsonl
            fx-pair big.jsonl 2>err | head -1; echo "status=${PIPESTATUS[0]}"; cat err
            """, in: try Scratch().url)
        #expect(r.lines == [#"{"input":"line 1","target":"t"}"#, "status=0"])
    }

    @Test("a pretty-printed JSON document is a document in a folder or an archive, and an error at the top level unless --jsonl")
    func jsonDocuments() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("docs/b/t.txt", "plain words\n")
        try s.write("docs/a/p.json", "{\n  \"name\": \"x\",\n  \"v\": 1\n}\n")
        let r = try shell("""
            fx-pair docs; echo "status $?"
            tar czf docs.tgz docs && fx-pair docs.tgz > archive.jsonl; echo "status $?"; cut -c1-40 archive.jsonl | sort
            fx-pair docs/a/p.json; echo "status $?"
            fx-pair < docs/a/p.json; echo "status $?"
            fx-pair --jsonl docs/a/p.json; echo "status $?"
            """, in: s.url)
        #expect(r.lines.prefix(3) == [#"{"input":"{\n  \"name\": \"x\",\n  \"v\": 1\n}","target":"a","path":"docs/a/p.json"}"#,
                                      #"{"input":"plain words","target":"b","path":"docs/b/t.txt"}"#, "status 0"], "\(r.stdout)\(r.stderr)")
        #expect(r.lines.dropFirst(3).prefix(3) == ["status 0", #"{"input":"plain words","target":"b","pat"#, #"{"input":"{\n  \"name\": \"x\",\n  \"v\""#], "\(r.stdout)")
        #expect(Array(r.lines.dropFirst(6)) == ["status 1", "status 1", "status 1"], "\(r.stdout)")
        #expect(r.stderr.contains("fx-pair: docs/a/p.json:1: a JSON document, not JSON Lines: one object per line expected"), "\(r.stderr)")
        #expect(r.stderr.contains("fx-pair: <stdin>:1: a JSON document, not JSON Lines"), "\(r.stderr)")
        #expect(r.stderr.contains("fx-pair: docs/a/p.json:1: invalid JSON"), "\(r.stderr)")
    }

    @Test("a compressed JSON Lines stream and a .jsonl member of an archive yield records")
    func compressedJSONLines() throws {
        let s = try Scratch()
        defer { s.remove() }
        try s.write("in/part.jsonl", #"{"input":"x","target":"y"}"# + "\n")
        let r = try shell("gzip -c in/part.jsonl | fx-pair; tar cJf in.tar.xz in && fx-pair in.tar.xz", in: s.url)
        #expect(r.lines == [#"{"input":"x","target":"y"}"#, #"{"input":"x","target":"y"}"#])
    }
}
